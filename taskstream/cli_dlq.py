"""`taskstream dlq`: list, show, replay and discard dead letters, from the operator's shell."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlmodel import Session

    from app.events.dead_letters import Selection

dlq = typer.Typer(
    no_args_is_help=True,
    help="Dead letters: events a consumer refused for good. Operator-only; not in the API.",
)

IdsArgument = Annotated[
    list[int] | None, typer.Argument(help="Dead letter ids (see `taskstream dlq list`).")
]
TopicOption = Annotated[str | None, typer.Option(help="Only this topic.")]
ConsumerOption = Annotated[str | None, typer.Option(help="Only this consumer's dead letters.")]
OlderOption = Annotated[
    str | None, typer.Option("--older-than", help="Only dead letters older than this: 7d, 12h.")
]
NewerOption = Annotated[
    str | None, typer.Option("--newer-than", help="Only dead letters newer than this: 30m, 1d.")
]


def _selection(
    ids: list[int] | None,
    topic: str | None,
    consumer: str | None,
    older_than: str | None,
    newer_than: str | None,
) -> Selection:
    from app.events.dead_letters import Selection, parse_age

    try:
        older = parse_age(older_than) if older_than is not None else None
        newer = parse_age(newer_than) if newer_than is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return Selection(
        ids=tuple(ids or ()), topic=topic, consumer=consumer, older_than=older, newer_than=newer
    )


@contextmanager
def _refusal_as_bad_parameter() -> Iterator[None]:
    """The operations refuse an empty selection; say so as a usage error (exit code 2)."""
    from app.events.dead_letters import EmptySelection

    try:
        yield
    except EmptySelection as exc:
        raise typer.BadParameter(str(exc)) from exc


@contextmanager
def _session() -> Iterator[Session]:
    from sqlmodel import Session

    from app.db import make_engine
    from app.settings import get_settings

    engine = make_engine(get_settings().database_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


@dlq.command("list")
def dlq_list(
    ids: IdsArgument = None,
    topic: TopicOption = None,
    consumer: ConsumerOption = None,
    older_than: OlderOption = None,
    newer_than: NewerOption = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
) -> None:
    """List dead letters, oldest first: id, time, consumer, topic, event id, reason."""
    from app.events.dead_letters import select_dead_letters, summary

    selection = _selection(ids, topic, consumer, older_than, newer_than)
    with _session() as session:
        letters = select_dead_letters(session, selection, limit=limit)
        for line in summary(letters):
            typer.echo(line)
    typer.echo(f"{len(letters)} dead letter(s)", err=True)


@dlq.command("show")
def dlq_show(dead_letter_id: Annotated[int, typer.Argument(help="The dead letter's id.")]) -> None:
    """Show one dead letter in full: reason and the body as it was delivered."""
    from app.events.dead_letters import Selection, select_dead_letters

    with _session() as session:
        found = select_dead_letters(session, Selection(ids=(dead_letter_id,)))
        if not found:
            typer.echo(f"no dead letter {dead_letter_id}", err=True)
            raise typer.Exit(1)
        letter = found[0]
        for name in ("id", "created_at", "consumer", "topic", "event_id"):
            typer.echo(f"{name}: {getattr(letter, name)}")
        typer.echo(f"reason: {letter.reason}\nbody:\n{letter.body}")


@dlq.command("replay")
def dlq_replay(
    ids: IdsArgument = None,
    topic: TopicOption = None,
    consumer: ConsumerOption = None,
    older_than: OlderOption = None,
    newer_than: NewerOption = None,
    force: Annotated[
        bool, typer.Option(help="Replay events older than the inbox retention too.")
    ] = False,
) -> None:
    """Put the selected events back into the outbox; the relay publishes them again."""
    from datetime import timedelta

    from app.events.dead_letters import replay
    from app.settings import get_settings

    selection = _selection(ids, topic, consumer, older_than, newer_than)
    retention = timedelta(days=get_settings().inbox_retention_days)
    with _session() as session, _refusal_as_bad_parameter():
        report = replay(session, selection, inbox_retention=retention, force=force)
    typer.echo(
        f"replayed {len(report.requeued) + len(report.rebuilt)} event(s) "
        f"({len(report.requeued)} from the outbox, {len(report.rebuilt)} rebuilt); "
        f"{report.cleared} dead letter(s) cleared"
    )
    for letter_id, why in sorted(report.skipped.items()):
        typer.echo(f"kept {letter_id}: {why}", err=True)
    if report.skipped:
        raise typer.Exit(1)


@dlq.command("discard")
def dlq_discard(
    ids: IdsArgument = None,
    topic: TopicOption = None,
    consumer: ConsumerOption = None,
    older_than: OlderOption = None,
    newer_than: NewerOption = None,
) -> None:
    """Delete the selected dead letters for good."""
    from app.events.dead_letters import discard

    selection = _selection(ids, topic, consumer, older_than, newer_than)
    with _session() as session, _refusal_as_bad_parameter():
        typer.echo(f"discarded {discard(session, selection)} dead letter(s)")
