"""The SQL store on SQLite and on real PostgreSQL: migrations, job leases, feedback,
thread turns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.adapters.store import (
    FeedbackRepository,
    JobRepository,
    database_url,
    downgrade,
    make_engine,
    open_store,
    upgrade,
)
from bot.adapters.store.db import current_revision, sessions
from bot.adapters.store.models import Base, utcnow
from bot.adapters.store.threads import ThreadRepository
from bot.domain.feedback import AnswerRecord, Feedback
from bot.domain.jobs import JobStatus, ReplyTo
from tests.conftest import ROOT, wait_until

pytestmark = pytest.mark.integration

TABLES = {
    "jobs",
    "documents",
    "answers",
    "feedback_events",
    "learners",
    "platform_accounts",
    "learner_audiences",
    "quiz_items",
    "quiz_attempts",
    "quiz_sessions",
    "channel_audiences",
    "review_schedules",
    "thread_turns",
    "adapters",
    "stream_marks",
    "graph_concepts",
    "graph_relations",
}


HEAD = sorted(
    p.stem.split("_")[0] for p in (ROOT / "bot/adapters/store/migrations/versions").glob("0*.py")
)[-1]


def test_migrations_upgrade_an_empty_database_and_downgrade_cleanly(store_url):
    engine = make_engine(store_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == HEAD
    assert TABLES <= set(inspect(engine).get_table_names())
    # the models and the migration describe the same schema
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    upgrade(engine)  # idempotent: every process runs it on start
    downgrade(engine)
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)  # and back up again from nothing
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_an_event_whose_answer_kills_its_process_is_given_up_after_two_tries(store_url):
    """A poison event (every process that answers it dies) is taken up again twice, then
    marked done unanswered; it never crash-loops the next process."""
    from bot.adapters.store.inbox import InboxRepository
    from bot.domain.conversation import ANSWERED_AGAIN_AT_MOST

    engine = make_engine(store_url)
    upgrade(engine)
    inbox = InboxRepository(sessions(engine))
    assert inbox.add("Ev1", "{}", "first", lease_seconds=0.05)
    assert inbox.add("Ev2", "{}", "first", lease_seconds=60)  # its holder lives
    assert inbox.answers_again("Ev1") and not inbox.answers_again("nothing")
    owners = [f"next-{n}" for n in range(ANSWERED_AGAIN_AT_MOST)]
    for owner in owners:  # each takes it up, then dies holding it
        got = wait_until(lambda o=owner: inbox.claim(o, 0.05, []) or None, 5, "the dead's event")
        assert got == [("Ev1", "{}")]
        assert inbox.give_up() == []  # held (or tried too few times) is not given up
    assert wait_until(lambda: inbox.give_up() or None, 5, "the event given up") == ["Ev1"]
    assert inbox.claim("last", 60, []) == [] and inbox.give_up() == []
    assert not inbox.answers_again("Ev1")  # its note asks the person to ask again
    assert inbox.pending() == 1  # Ev2, whose holder lives, is still waiting for its answer
    assert inbox.answers_again("Ev2")
    inbox.done("Ev2")
    assert not inbox.answers_again("Ev2")
    engine.dispose()


def test_a_streaming_message_is_claimed_once_and_only_after_its_holder_stopped_renewing(store_url):
    from bot.adapters.store.streams import StreamRepository

    engine = make_engine(store_url)
    upgrade(engine)
    repo = StreamRepository(sessions(engine))
    ref = {"team": "T1", "kind": "stream"}
    alive = repo.begin("slack", "C1", "100.2", ref, "alive", lease_seconds=60)
    dead = repo.begin("slack", "C1", "100.1", ref, "dead", lease_seconds=0.05)
    teams = repo.begin("teams", "a:1", "reply-1", {"kind": "stream"}, "dead", lease_seconds=0.05)
    repo.progress(dead, "Leave is 25")
    repo.renew("alive", 60)
    wait_until(lambda: repo.claim("slack", "other", 60) or None, 5, "the dead holder's message")
    assert [(r.id, r.text, r.attempts) for r in repo.streaming("slack") if r.id == dead] == [
        (dead, "Leave is 25", 1)
    ]
    assert repo.claim("slack", "third", 60) == []  # held by "other" now; "alive" renews
    (claimed,) = repo.claim("teams", "other", 60)  # each platform's own processes
    assert (claimed.id, claimed.reference) == (teams, {"kind": "stream"})
    repo.end(dead)
    repo.end(alive)
    assert repo.streaming("slack") == []
    engine.dispose()


def test_sweepers_started_together_take_each_dead_holders_row_exactly_once(store_url):
    """The sweep the inbox and the stream marks share (`leases.take_expired`): eight
    processes' sweeps released at one moment over 40 rows a dead process held take every
    row, none twice (each takeover restates the condition it found the row by)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from bot.adapters.store.inbox import InboxRepository
    from bot.adapters.store.streams import StreamRepository

    engine = make_engine(store_url)
    upgrade(engine)
    streams, inbox = StreamRepository(sessions(engine)), InboxRepository(sessions(engine))
    marks = {streams.begin("slack", "C1", f"{n}.0", {}, "dead", lease_seconds=0) for n in range(40)}
    events = {f"Ev{n}" for n in range(40) if inbox.add(f"Ev{n}", "{}", "dead", lease_seconds=0)}
    start = Barrier(8)

    def sweep(n: int) -> tuple[list[str], list[str]]:
        start.wait()
        taken_marks = [r.id for r in streams.claim("slack", f"live-{n}", 60)]
        return taken_marks, [event for event, _ in inbox.claim(f"live-{n}", 60, [])]

    with ThreadPoolExecutor(8) as pool:
        swept = list(pool.map(sweep, range(8)))
    assert sorted(m for got, _ in swept for m in got) == sorted(marks)
    assert sorted(e for _, got in swept for e in got) == sorted(events)
    assert {r.attempts for r in streams.streaming("slack")} == {1}
    engine.dispose()


def test_one_lease_at_a_time_and_takeover_after_expiry(store_url):
    engine, sessions = open_store(store_url)
    jobs = JobRepository(sessions)
    job = jobs.create("ingest", {"files": []}, total=3, reply_to=ReplyTo("slack", "C1", "171.2"))
    assert job.status is JobStatus.UNSENT
    assert jobs.get(job.id).reply_to == ReplyTo("slack", "C1", "171.2")
    jobs.mark_queued(job.id)

    first = jobs.claim(job.id, "w1", lease_seconds=30)
    assert first is not None and first.status is JobStatus.RUNNING and first.attempts == 1
    assert first.lease_expires is not None and first.lease_expires > utcnow()
    assert jobs.claim(job.id, "w2", lease_seconds=30) is None  # held by a live worker
    jobs.mark_queued(job.id)  # a late "sent" mark must not undo the claim
    assert jobs.get(job.id).status is JobStatus.RUNNING

    assert jobs.progress(job.id, "w1", 1, {"chunks": 2}, lease_seconds=-1)  # lease now expired
    now = utcnow()
    assert [j.id for j in jobs.sweep_candidates(now, stale_before=now)] == [job.id]
    second = jobs.claim(job.id, "w2", lease_seconds=30)
    assert second is not None and second.lease_owner == "w2" and second.attempts == 2
    assert second.progress_done == 1 and second.result == {"chunks": 2}

    # the first worker woke up: its writes are refused, it must stop
    assert not jobs.renew(job.id, "w1", 30)
    assert not jobs.finish(job.id, "w1", JobStatus.DONE, {})
    assert jobs.finish(job.id, "w2", JobStatus.DONE, {"chunks": 5})
    done = jobs.get(job.id)
    assert done.status is JobStatus.DONE and done.lease_owner == "" and done.result["chunks"] == 5
    assert jobs.claim(job.id, "w3", 30) is None  # a redelivered message finds it done
    engine.dispose()


def test_release_only_takes_back_jobs_that_really_lost_their_worker(store_url):
    engine, sessions = open_store(store_url)
    jobs = JobRepository(sessions)
    job = jobs.create("ingest", {})
    jobs.mark_queued(job.id)
    now = utcnow()
    assert not jobs.release(job.id, now, stale_before=now - timedelta(hours=1))  # fresh
    jobs.claim(job.id, "w1", lease_seconds=30)
    assert not jobs.release(job.id, utcnow(), stale_before=utcnow())  # live lease
    later = utcnow() + timedelta(seconds=31)
    assert jobs.release(job.id, later, stale_before=later - timedelta(hours=1))
    released = jobs.get(job.id)
    assert released.status is JobStatus.UNSENT and released.lease_owner == ""
    engine.dispose()


def test_feedback_is_stored_once_with_everything_training_needs(store_url):
    engine, sessions = open_store(store_url)
    repo = FeedbackRepository(sessions)
    answer = AnswerRecord("How do I tag?", "Use git tag [1].", ({"n": 1, "source": "r.md"},))
    repo.record_answer(answer)
    assert repo.answer(answer.id) == answer
    event = Feedback(
        answer.id,
        "correction",
        correction="Use git tag -a",
        question=answer.question,
        answer=answer.answer,
        passages=answer.passages,
        model="smollm2",
        adapter_version="base",
        learner="U123",
        platform="slack",
    )
    assert repo.add(event)
    assert not repo.add(event)  # redelivered: stored once
    assert repo.events(answer.id) == [event]
    engine.dispose()


def test_thread_turns_are_shared_bounded_and_forgotten_when_idle(store_url):
    engine, factory = open_store(store_url)
    other = make_engine(store_url)  # another replica: its own engine on the same database
    mine, theirs = ThreadRepository(factory), ThreadRepository(sessions(other))
    key = "slack:C1:100.1"
    assert not theirs.knows(key) and theirs.turns(key, 10) == []
    for i in range(4):
        mine.add(key, f"q{i}", f"a{i}", keep=4)
    mine.add("teams:19:x@thread.tacv2:1700", "q", "a", keep=4)
    assert theirs.knows(key)
    assert [(t.role, t.text) for t in theirs.turns(key, 10)] == [
        ("user", "q2"),
        ("assistant", "a2"),
        ("user", "q3"),
        ("assistant", "a3"),
    ]  # older turns were deleted, not just left unread
    assert [t.text for t in theirs.turns(key, 2)] == ["q3", "a3"]

    assert theirs.forget(utcnow() - timedelta(days=1)) == 0  # all recent
    assert theirs.forget(utcnow() + timedelta(seconds=1)) == 6  # all idle: forgotten
    assert not mine.knows(key) and not mine.knows("teams:19:x@thread.tacv2:1700")
    other.dispose()
    engine.dispose()


def test_items_banked_before_provenance_are_left_unchecked_by_the_migration(store_url):
    """An existing installation's bank: its items come out of migration 0007 unchecked, so
    the learning service re-checks each before it is shown again."""
    from sqlalchemy import text

    from bot.adapters.store.quiz import QuizRepository

    engine = make_engine(store_url)
    upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO quiz_items (id, source, section, question, choices, answer,"
                " explanation, audience, created_at, passage, doc_version, origin) VALUES"
                " ('old1', 'deploy.md', 'Preview', 'q?', '[\"a\", \"b\", \"c\", \"d\"]', 'a',"
                " 'e', 'everyone', :now, 'passage a', 'v1', 'cloze')"
            ),
            {"now": utcnow()},
        )
    upgrade(engine)
    repo = QuizRepository(sessions(engine))
    assert repo.unchecked(["old1"]) == {"old1"}
    assert repo.item("old1").sources == ()
    repo.set_sources("old1", [])  # re-checked, could not be placed
    assert repo.unchecked(["old1"]) == set()
    engine.dispose()


def test_a_learners_first_two_messages_at_once_make_one_learner(tmp_path):
    """Two requests see no account and both insert one: the second's insert waits on the
    unique key, fails when the first commits, and must read the first's learner instead of
    failing the message."""
    import threading
    import time

    from sqlalchemy import text

    from bot.adapters.store.access import AccessRepository
    from bot.adapters.store.models import LearnerRow, PlatformAccountRow
    from tests.services import postgres_database

    with postgres_database() as pg:
        engine, sessions = open_store(database_url(pg, tmp_path))
        first = sessions()
        first.add(LearnerRow(id="L-first", display_name="", email=""))
        first.flush()
        first.add(PlatformAccountRow(learner_id="L-first", platform="slack", external_id="U9"))
        first.flush()  # inserted, not committed: the first request is mid-transaction
        result: dict[str, object] = {}

        def second() -> None:
            try:
                result["id"] = AccessRepository(sessions).learner_id("slack", "U9")
            except Exception as exc:  # the test reports it below
                result["error"] = exc

        thread = threading.Thread(target=second)
        thread.start()
        deadline = time.monotonic() + 30
        with engine.connect() as watch:  # wait until the second insert waits on the key
            while time.monotonic() < deadline:
                waiting = watch.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()"  # not another test's database
                    )
                ).scalar()
                # a transaction sees one snapshot of pg_stat_activity: end it, or every
                # later look repeats the first one (and misses the insert that waits)
                watch.rollback()
                if waiting:
                    break
                time.sleep(0.05)
        first.commit()
        first.close()
        thread.join(timeout=30)
        engine.dispose()
    assert "error" not in result, result
    assert result["id"] == "L-first"
