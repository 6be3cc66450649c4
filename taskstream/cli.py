"""The `taskstream` command: every process of the system, and the platform render."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app import tracing
from app.contract import HTTP_PORT
from taskstream.cli_dlq import dlq
from taskstream.cli_lag import lag_exporter
from taskstream.cli_render import plain_options
from taskstream.cli_render import render as render_platform

if TYPE_CHECKING:
    from app.settings import Settings

# Heavy imports (uvicorn, SQLAlchemy, alembic, the Pulumi SDKs, and pydantic for the
# settings) happen inside the commands that need them, so `taskstream render` and `--help`
# start fast (tests/infra/render/test_render_imports.py).

cli = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
cli.add_typer(dlq, name="dlq")
cli.command("lag-exporter")(lag_exporter)

HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(help="TCP port to listen on.")]


def get_settings() -> Settings:
    from app.settings import get_settings as settings_of_this_process

    return settings_of_this_process()


def _configure_logging(settings: Settings | None = None) -> None:
    from app.logs import configure_logging

    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from app.db import make_engine, run_migrations

    _configure_logging()
    settings = get_settings()
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    ahead = run_migrations(
        engine, webhook_secret_key=settings.webhook_secret_key.get_secret_value()
    )
    engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if ahead:
        # An image rollback: the newer release's schema stays; this code runs on it.
        typer.echo(
            f"schema is at {', '.join(ahead)}, newer than this image knows; left as is ({where})"
        )
        return
    typer.echo(f"schema is up to date ({where})")


@cli.command("db-grant")
def db_grant(
    role: Annotated[str, typer.Option(help="The application role the migrations run as.")],
) -> None:
    """Grant the application role what migrations need, connected as the database's admin."""
    from app.db import make_engine
    from app.db_grants import grant_migration_privileges

    _configure_logging()
    settings = get_settings()
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    try:
        statements = grant_migration_privileges(engine, role)
    finally:
        engine.dispose()
    for statement in statements:
        typer.echo(statement)


@cli.command()
def api(host: HostOption = "0.0.0.0", port: PortOption = HTTP_PORT) -> None:  # noqa: S104
    """Serve the REST API (expects a migrated database)."""
    _configure_logging()
    _serve("api", host, port)


def _serve(app_name: str, host: str, port: int) -> None:
    import uvicorn

    from app.db import make_engine
    from app.main import create_app

    settings = get_settings()
    # Before the engine: the SQLAlchemy instrumentation hooks engines as they are made.
    tracing.configure(settings, app_name)
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    if app_name == "relay":
        from app.events.relay_app import create_relay_app

        app = create_relay_app(settings, engine)
    elif app_name == "notifier":
        from workers.notifier.app import create_app as create_notifier

        app = create_notifier(settings, engine)
    elif app_name == "recurrer":
        from workers.recurrer.app import create_app as create_recurrer

        app = create_recurrer(settings, engine)
    else:
        app = create_app(settings, engine)
    typer.echo(f"taskstream {app_name} on http://{host}:{port} (event bus: {settings.event_bus})")
    # uvicorn's own loggers (and its per-request access log) go through our handler.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


@cli.command()
def relay(host: HostOption = "0.0.0.0", port: PortOption = HTTP_PORT) -> None:  # noqa: S104
    """Publish the outbox through the Dapr sidecar (TASKSTREAM_EVENT_BUS=dapr)."""
    _configure_logging()
    if get_settings().event_bus != "dapr":
        raise typer.BadParameter("the relay publishes through Dapr: set TASKSTREAM_EVENT_BUS=dapr")
    _serve("relay", host, port)


class WorkerName(StrEnum):
    notifier = "notifier"
    recurrer = "recurrer"


@cli.command()
def worker(
    name: Annotated[WorkerName, typer.Argument(help="Which worker to run.")],
    host: HostOption = "0.0.0.0",  # noqa: S104
    port: PortOption = HTTP_PORT,
) -> None:
    """Run a worker: its Dapr subscription routes and its background loops."""
    _configure_logging()
    _serve(name.value, host, port)


@cli.command()
def run(host: HostOption = "127.0.0.1", port: PortOption = HTTP_PORT) -> None:
    """Run the whole system locally on embedded defaults (SQLite, in-process event bus, dev)."""
    from taskstream.embedded import embedded_settings, serve_embedded

    settings = embedded_settings()
    _configure_logging(settings)
    tracing.configure(settings, "embedded")
    serve_embedded(settings, host=host, port=port)


@cli.command()
def render(
    stack: Annotated[str, typer.Option(help="The stack to render: dev, prod or local.")],
    out: Annotated[Path, typer.Option(help="Directory to write the render into.")],
    project_dir: Annotated[
        Path, typer.Option(help="Where Pulumi.yaml and Pulumi.<stack>.yaml live.")
    ] = Path("."),
) -> None:
    """Render the platform offline (mock engine, no credentials) and apply the policy pack."""
    code = render_platform(stack, out, project_dir, typer.echo)
    if code:
        raise typer.Exit(code)


def main() -> None:
    # Typer coerces every option through pydantic, ~0.1 s to import: a fresh render is held
    # to 1.5 s (issue 18), so plainly given render options are read without it.
    options = plain_options(sys.argv[1:])
    if options is not None:
        sys.exit(render_platform(*options, typer.echo))
    cli()
