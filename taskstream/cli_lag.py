"""`taskstream lag-exporter`: consumer-group lag as Prometheus metrics (workers/lag_exporter.py)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from app.contract import ENV_LOG_LEVEL, HTTP_PORT


def lag_exporter(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = HTTP_PORT,
) -> None:
    """Export each consumer group's lag per topic and partition, read from the broker."""
    # Imported here, so `taskstream render` and `--help` load none of the service.
    import uvicorn

    from app.logs import configure_logging
    from workers.lag_exporter import create_from_environment

    # Not the service's Settings: those demand a database and secrets this process never has.
    level = os.environ.get(ENV_LOG_LEVEL, "INFO")
    configure_logging(level, "auto")
    try:
        app = create_from_environment()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"taskstream lag-exporter on http://{host}:{port}")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=level.lower(),
        log_config=None,
        access_log=False,
    )
