"""The `taskstream` command: every process of the system, and the platform render."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvicorn

from app.contract import HTTP_PORT
from app.db import make_engine, run_migrations
from app.settings import get_settings

cli = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(help="TCP port to listen on.")]


def _configure_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    _configure_logging()
    settings = get_settings()
    engine = make_engine(settings.database_url)
    run_migrations(engine)
    engine.dispose()
    typer.echo(f"schema is up to date ({engine.url.render_as_string(hide_password=True)})")


@cli.command()
def api(host: HostOption = "0.0.0.0", port: PortOption = HTTP_PORT) -> None:  # noqa: S104
    """Serve the REST API (expects a migrated database)."""
    _configure_logging()
    from app.main import create_app

    typer.echo(f"taskstream API on http://{host}:{port} (docs at /docs)")
    uvicorn.run(create_app(), host=host, port=port, log_level="info", proxy_headers=True)


@cli.command()
def run(host: HostOption = "127.0.0.1", port: PortOption = HTTP_PORT) -> None:
    """Run the whole system locally on embedded defaults (SQLite, in-process event bus)."""
    _configure_logging()
    from app.embedded import serve_embedded

    serve_embedded(host=host, port=port)


def main() -> None:
    cli()
