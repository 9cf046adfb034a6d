"""`learnloop progress USER` and `learnloop report`: learning progress and admin analytics."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.domain.labels import bar, where

if TYPE_CHECKING:
    from bot.domain.quiz import TopicProgress

from bot.surfaces.cli.common import _fail, _print_json, console, lit, out, the_app


def progress(
    person: Annotated[str, typer.Argument(help="PLATFORM:USER_ID, e.g. slack:U0123")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A learner's progress: answers, due reviews, mastery per topic, and what to learn next."""
    from bot.domain.conversation import Actor

    platform, _, user = person.partition(":")
    if platform not in ("slack", "teams") or not user:
        _fail(f"{person!r}: write PLATFORM:USER_ID, e.g. slack:U0123")
    # topics are checked against the current catalog, as in chat
    shown = asyncio.run(the_app().learning.progress(Actor(platform, user)))

    def topic(t: TopicProgress) -> dict[str, object]:
        return {
            "source": t.source,
            "section": t.section,
            "seen": t.seen,
            "correct": t.correct,
            "mastery": round(t.mastery, 3),
        }

    if as_json:
        _print_json(
            {
                "answered": shown.answered,
                "right": shown.right,
                "due": shown.due,
                "topics": [topic(t) for t in shown.topics],
                "plan": [topic(t) for t in shown.plan],
            }
        )
        return
    out.print(f"{shown.right} of {shown.answered} answered right; {shown.due} reviews due")
    for t in shown.topics:
        out.print(f"{bar(t.mastery)}  {where(t.source, t.section, lit)}  ({t.correct}/{t.seen})")
    if shown.plan:
        out.print("Next: " + "; ".join(where(t.source, t.section, lit) for t in shown.plan))


def report(
    days: Annotated[int, typer.Option(help="Look back this many days.")] = 30,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    chart: Annotated[
        Path | None,
        typer.Option(help="Also write the chart (PNG) here; nothing is written without data."),
    ] = None,
) -> None:
    """Admin analytics: accuracy per topic, weakest topics, unanswered questions, activity."""
    reports = the_app().reports
    found = reports.operator_report(days)
    if chart is not None:
        png = reports.chart(found, days)
        if png is None:
            console.print("no chart: no quiz answers or unanswered questions in the period yet")
        else:
            try:
                chart.write_bytes(png)
            except OSError as exc:
                _fail(f"cannot write {chart}: {exc.strerror or exc}")
            console.print(f"chart written to {chart} ({len(png) // 1024} KB)")
    if as_json:
        _print_json(found.as_json())
        return
    out.print(
        f"last {days} days: {found.attempts} quiz answers by {found.active_learners} learners; "
        f"{found.answers} questions asked by {found.askers} people"
    )
    for t in found.weakest:
        out.print(f"weak: {where(t.source, t.section, lit)}  {t.accuracy:.0%} of {t.attempts}")
    for question, count in found.gaps:
        out.print(f"not covered ({count} times): {lit(question)}")
