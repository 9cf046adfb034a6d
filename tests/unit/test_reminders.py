"""Review reminders: daily, in the learner's daytime, respecting opt-out; one learner across
Slack and Teams when e-mails match or an admin links the accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.store.access import AccessRepository
from bot.adapters.store.models import QuizAttemptRow, QuizItemRow
from bot.adapters.store.quiz import QuizRepository
from bot.domain.reminders import reminder_text, should_remind
from bot.services.reminders import remind_due

NOON_UTC = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        (NOON_UTC, "", True),  # UTC noon
        (NOON_UTC, "Asia/Tokyo", False),  # 21:00 in Tokyo: quiet hours
        (NOON_UTC, "America/Los_Angeles", False),  # 04:00 in Los Angeles
        (NOON_UTC + timedelta(hours=5), "America/Los_Angeles", True),  # 09:00 there
        (NOON_UTC, "Not/AZone", True),  # unknown zone: treated as UTC, not silence
    ],
)
def test_reminders_only_in_the_learners_daytime(now, zone, expected):
    assert should_remind(now, due=2, enabled=True, timezone=zone, reminded_at=None) is expected


def test_no_reminder_when_nothing_is_due_opted_out_or_reminded_today():
    assert not should_remind(NOON_UTC, due=0, enabled=True, timezone="", reminded_at=None)
    assert not should_remind(NOON_UTC, due=3, enabled=False, timezone="", reminded_at=None)
    earlier = NOON_UTC - timedelta(hours=3)
    assert not should_remind(NOON_UTC, due=3, enabled=True, timezone="", reminded_at=earlier)
    yesterday = NOON_UTC - timedelta(hours=23)
    assert should_remind(NOON_UTC, due=3, enabled=True, timezone="", reminded_at=yesterday)
    assert reminder_text(3).startswith("3 reviews are due") and "1 review is" in reminder_text(1)


class FakeMessenger:
    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = zones
        self.sent: list[tuple[str, str]] = []

    def timezone(self, user_id: str) -> str:
        return self.zones.get(user_id, "")

    def send(self, user_id: str, text: str) -> bool:
        self.sent.append((user_id, text))
        return True


def due_item(sessions, quiz: QuizRepository, learner: str, item_id: str, due: datetime) -> None:
    with sessions.begin() as db:
        if db.get(QuizItemRow, item_id) is None:
            db.add(QuizItemRow(id=item_id, question="q", choices=["a", "b", "c", "d"], answer="a"))
    quiz.save_card(learner, item_id, due, {"card_id": 1})


def test_the_job_sends_once_a_day_in_daytime_and_learns_the_time_zone(store):
    access, quiz = AccessRepository(store), QuizRepository(store)
    ny = access.learner_id("slack", "UNY")
    tokyo = access.learner_id("slack", "UTK")
    quiet = access.learner_id("slack", "UOFF")
    for learner in (ny, tokyo, quiet):
        due_item(store, quiz, learner, "i1", NOON_UTC - timedelta(days=1))
        due_item(store, quiz, learner, "i2", NOON_UTC - timedelta(hours=1))
    access.set_reminders(quiet, on=False)
    slack = FakeMessenger({"UNY": "America/New_York", "UTK": "Asia/Tokyo"})
    clock = NOON_UTC + timedelta(hours=2)  # 09:00 in New York, 23:00 in Tokyo

    sent = remind_due(quiz, access, {"slack": slack}, clock=lambda: clock)
    assert [(r.account, r.due) for r in sent] == [("slack:UNY", 2)]
    assert slack.sent == [("UNY", reminder_text(2))]
    assert access.reminder_state(tokyo)[1] == "Asia/Tokyo"  # learned once, kept
    assert (
        remind_due(quiz, access, {"slack": slack}, clock=lambda: clock + timedelta(hours=1)) == []
    )

    later = NOON_UTC + timedelta(hours=13)  # 10:00 next day in Tokyo; 20:00 in New York (quiet)
    sent = remind_due(quiz, access, {"slack": slack}, clock=lambda: later)
    assert [r.account for r in sent] == ["slack:UTK"]


def test_matching_emails_and_admin_links_make_one_learner(store):
    access, quiz = AccessRepository(store), QuizRepository(store)
    slack = access.learner_id("slack", "U1", email="Ana@Example.com")
    assert access.learner_id("teams", "aad-1", email="ana@example.com") == slack
    assert sorted(access.accounts(slack)) == [("slack", "U1"), ("teams", "aad-1")]

    bob_slack = access.learner_id("slack", "U2")
    bob_teams = access.learner_id("teams", "aad-2")
    access.grant("teams", "aad-2", "hr")
    due_item(store, quiz, bob_teams, "i1", NOON_UTC)
    with store.begin() as db:
        db.add(QuizAttemptRow(learner_id=bob_teams, quiz_item_id="i1", response="a", correct=True))
    kept = access.link(("slack", "U2"), ("teams", "aad-2"))
    assert kept == bob_slack and access.learner_id("teams", "aad-2") == bob_slack
    assert access.user_groups("slack", "U2") == {"hr"}
    assert [a.item_id for a in quiz.attempts(bob_slack)] == ["i1"]
    assert quiz.due(bob_slack, NOON_UTC) == ["i1"]
