"""The whole system in one process: API on SQLite with migrations applied."""

from __future__ import annotations

import typer
import uvicorn

from app.db import make_engine, run_migrations
from app.main import create_app
from app.settings import get_settings


def serve_embedded(*, host: str, port: int) -> None:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    run_migrations(engine)
    app = create_app(settings, engine)
    url = f"http://{host}:{port}"
    typer.echo(f"taskstream is running: API {url}/api/v1, docs {url}/docs")
    typer.echo(f"database: {engine.url.render_as_string(hide_password=True)}")
    uvicorn.run(app, host=host, port=port, log_level="info")
