"""The web console over FastAPI's test client: sign-in, CSRF, roles, the streamed answer,
source pages checked against audiences, feedback into the review list, uploads. The store
is real (SQLite); the model, the retriever and the index catalog are fakes of our ports."""

from __future__ import annotations

import asyncio
import re

import pytest
from fastapi.testclient import TestClient

from bot.domain.answering import Source
from bot.domain.conversation import Actor
from bot.domain.jobs import JobStatus
from bot.domain.material import ChunkView, DocumentInfo
from bot.domain.ports import Findings
from bot.services.console import Console
from bot.surfaces.web import build_web_app
from tests.fakes import FakeChatModel, FakeRetriever
from tests.unit.test_jobs_service import FakeSender

LEARNER = Actor("slack", "U1", "T1")
ADMIN = Actor("slack", "UADMIN", "T1")
HANDBOOK = Source(1, "handbook.md", "Handbook", "Leave", "Leave is 25 days.", chunk_id="d1:v1:0")
CHUNKS = {
    "d1": [
        ChunkView("d1:v1:0", "handbook.md", "Handbook", "Leave", "Leave is 25 days.", ("everyone",))
    ],
    "d2": [ChunkView("d2:v1:0", "pay.md", "Pay", "Bands", "Band 4 earns 90k.", ("hr",))],
}


class FakeCatalog:
    def __init__(self) -> None:
        self.removed: list[str] = []

    def documents(self):
        return [
            DocumentInfo("d1", "handbook.md", "Handbook", "v1", ("everyone",), 1, "2026-12-01"),
            DocumentInfo("d2", "pay.md", "Pay", "v1", ("hr",), 1, "2026-12-01"),
        ]

    def chunks(self, doc_id):
        return CHUNKS.get(doc_id, [])

    def remove(self, source):
        self.removed.append(source)
        return next(d for d in self.documents() if d.source == source)

    def original(self, source):
        return None


@pytest.fixture
def parts(make_app):
    return make_app(
        admins=ADMIN.key,
        max_upload_mb=1000 / 2**20,
        retriever=FakeRetriever(Findings(True, (HANDBOOK,), ())),
        model=FakeChatModel("Leave is 25 days [1]."),
        sender=lambda app: FakeSender(app.job_records),
        console=lambda app: Console(
            FakeCatalog(), app.review_records, app.chat, app.jobs, app.web_signin
        ),
    )


def signed_in(parts, actor: Actor) -> tuple[TestClient, str]:
    """A browser signed in as `actor`, and its form token."""
    client = TestClient(build_web_app(parts))
    url = asyncio.run(parts.web_signin.link(actor))
    token = url.split("token=", 1)[1]
    home = client.post("/signin", data={"token": token})
    assert home.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert csrf
    return client, csrf.group(1)


def test_a_link_signs_in_once_with_a_safe_cookie(parts):
    client = TestClient(build_web_app(parts))
    assert client.get("/").status_code == 401
    token = asyncio.run(parts.web_signin.link(LEARNER)).split("token=", 1)[1]
    # opening the link (a link preview, a mail scanner) shows a button and spends nothing
    for _ in range(2):
        shown = client.get(f"/signin?token={token}")
        assert shown.status_code == 200 and f'value="{token}"' in shown.text
    assert client.get("/").status_code == 401
    first = client.post("/signin", data={"token": token}, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"
    cookie = first.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/").status_code == 200
    again = TestClient(build_web_app(parts)).post("/signin", data={"token": token})
    assert again.status_code == 403 and "used or expired" in again.text
    assert "Traceback" not in again.text


def test_a_sign_in_posted_from_another_site_is_refused_and_spends_nothing(parts):
    client = TestClient(build_web_app(parts))
    token = asyncio.run(parts.web_signin.link(LEARNER)).split("token=", 1)[1]
    forged = client.post("/signin", data={"token": token}, headers={"Origin": "https://evil.test"})
    assert forged.status_code == 403 and "learnloop_session" not in forged.headers.get(
        "set-cookie", ""
    )
    own = client.post(
        "/signin",
        data={"token": token},
        headers={"Origin": parts.settings.web_url},  # the console's own public address
        follow_redirects=False,
    )
    assert own.status_code == 303  # the link was not spent by the forged post


def test_a_form_post_without_the_session_token_is_refused(parts):
    client, csrf = signed_in(parts, LEARNER)
    assert client.post("/ask", data={"question": "How long is leave?"}).status_code == 403
    wrong = client.post("/ask", data={"question": "How long is leave?", "csrf": "x" * 43})
    assert wrong.status_code == 403 and "reload" in wrong.text
    assert client.post("/ask", data={"question": "Leave?", "csrf": csrf}).status_code == 200


def test_learners_are_refused_admin_pages(parts):
    client, csrf = signed_in(parts, LEARNER)
    for path in ("/material", "/jobs", "/review", "/actions", "/material/d1"):
        found = client.get(path)
        assert found.status_code == 403, path
        assert "Only LearnLoop admins" in found.text
    posted = client.post("/material/d1/delete", data={"csrf": csrf})
    assert posted.status_code == 403
    admin, _ = signed_in(parts, ADMIN)
    assert admin.get("/material").status_code == 200


def events(body: str) -> list[tuple[str, str]]:
    found = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name = re.search(r"^event: (.+)$", block, re.M)
        data = "\n".join(re.findall(r"^data: ?(.*)$", block, re.M))
        if name:
            found.append((name.group(1), data))
    return found


def test_the_answer_streams_with_citations_linking_to_their_source(parts):
    client, csrf = signed_in(parts, LEARNER)
    turn = client.post("/ask", data={"question": "How long is leave?", "csrf": csrf})
    stream = re.search(r'data-stream="([^"]+)"', turn.text).group(1)
    streamed = events(client.get(stream).text)
    kinds = [k for k, _ in streamed]
    assert kinds[0] == "text" and kinds[-1] == "done", kinds
    done = streamed[-1][1]
    assert '<a href="/source/d1:v1:0">[1]</a>' in done
    assert 'name="answer_id"' in done and 'name="csrf"' in done
    # a stream is the asker's, once
    assert client.get(stream).status_code == 404


def test_a_source_page_outside_the_viewers_audiences_is_refused(parts):
    client, _ = signed_in(parts, LEARNER)
    shown = client.get("/source/d1:v1:0")
    assert shown.status_code == 200 and "Leave is 25 days." in shown.text
    refused = client.get("/source/d2:v1:0")
    assert refused.status_code == 403 and "90k" not in refused.text
    parts.access.grant("slack", "U1", "hr")
    assert client.get("/source/d2:v1:0").status_code == 200


def test_a_down_vote_and_its_correction_reach_the_review_list(parts):
    parts.sender.down = True  # feedback is then stored here at once, not by a worker
    client, csrf = signed_in(parts, LEARNER)
    turn = client.post("/ask", data={"question": "How long is leave?", "csrf": csrf})
    done = events(client.get(re.search(r'data-stream="([^"]+)"', turn.text).group(1)).text)[-1]
    answer_id = re.search(r'name="answer_id" value="([^"]+)"', done[1]).group(1)
    down = client.post("/feedback", data={"answer_id": answer_id, "rating": "down", "csrf": csrf})
    assert "👎" in down.text
    fix = {"answer_id": answer_id, "rating": "correction", "correction": "It is 30 days."}
    assert client.post("/feedback", data={**fix, "csrf": csrf}).status_code == 200
    admin, admin_csrf = signed_in(parts, ADMIN)
    review = admin.get("/review").text
    assert "How long is leave?" in review and "It is 30 days." in review
    saved = admin.post(f"/review/{answer_id}", data={"correction": "30 days.", "csrf": admin_csrf})
    assert saved.status_code == 200 and "30 days." in saved.text
    assert "correction" in admin.get("/actions").text


def test_uploads_get_the_chat_uploads_checks_and_are_logged(parts):
    admin, csrf = signed_in(parts, ADMIN)
    bad = admin.post(
        "/material/upload",
        data={"csrf": csrf, "audiences": "everyone"},
        files={"file": ("tool.exe", b"MZ...", "application/octet-stream")},
    )
    assert bad.status_code == 400 and "add that file" in bad.text and ".exe" in bad.text
    good = admin.post(
        "/material/upload",
        data={"csrf": csrf, "audiences": "hr, eng"},
        files={"file": ("guide.md", b"# Guide\n\nTag releases.\n", "text/markdown")},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"].startswith("/jobs/")
    job = admin.get(good.headers["location"])
    assert job.status_code == 200 and "queued" in job.text
    log = admin.get("/actions").text
    assert "upload" in log and "guide.md for eng, hr" in log
    deleted = admin.post("/material/d1/delete", data={"csrf": csrf}, follow_redirects=False)
    assert deleted.status_code == 303
    assert "handbook.md (1 chunks)" in admin.get("/actions").text


def test_answer_text_is_escaped_with_quotes_and_citation_links():
    from bot.surfaces.web.pages import cited

    shown = str(cited("From the material:\n> Run <script>x</script> [1]\nSee [2].", {1: "/s/a"}))
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert '<blockquote><p>Run &lt;script&gt;x&lt;/script&gt; <a href="/s/a">[1]</a></p>' in shown
    assert "<p>See [2].</p>" in shown  # a number with no passage stays text


def ingest_job(parts, *sources: str):
    files = [{"path": f"/uploads/x/{s}", "source": s} for s in sources]
    return parts.job_records.create("ingest", {"files": files, "audiences": ["everyone"]})


def file_result(source: str, status: str, reason: str = "") -> dict:
    return {"source": source, "status": status, "chunks": 0, "code": "", "reason": reason}


def test_the_material_page_shows_each_documents_state_from_its_jobs(parts):
    jobs = parts.job_records
    # pay.md: an older re-ingest failed, a newer one failed on reading the file
    jobs.fail(ingest_job(parts, "pay.md").id, "an old failure", "old")
    bad = ingest_job(parts, "pay.md", "guide.md")
    assert jobs.claim(bad.id, "w1", 60)
    files = {
        "/uploads/x/pay.md": file_result("pay.md", "skipped", "pay.md: the file is encrypted"),
        "/uploads/x/guide.md": file_result("guide.md", "added"),
    }
    assert jobs.finish(bad.id, "w1", JobStatus.DONE, {"files": files})
    # handbook.md: a running job has not reached it yet
    running = ingest_job(parts, "handbook.md")
    assert jobs.claim(running.id, "w2", 60)
    queued = ingest_job(parts, "new.md")  # not indexed yet: being added
    gone = ingest_job(parts, "broken.pdf")  # not indexed, and its job failed as a whole
    jobs.fail(gone.id, "gave up after retries: broker down", "transient_exhausted")

    admin, _ = signed_in(parts, ADMIN)
    shown = admin.get("/material")
    assert shown.status_code == 200
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", shown.text, re.S):
        cells = [
            " ".join(re.sub(r"<[^>]+>", " ", c).split())
            for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        if cells:
            rows[cells[0].split()[0]] = (cells, row)
    status = {name: cells[4] for name, (cells, _) in rows.items()}
    assert status["handbook.md"].startswith("being replaced: job " + running.id[:8])
    assert status["pay.md"].startswith("indexed, but the last ingest failed")
    assert status["pay.md"].endswith("pay.md: the file is encrypted")
    assert status["new.md"].startswith("being added: job " + queued.id[:8])
    assert status["broken.pdf"].startswith("not indexed: the ingest failed")
    assert status["broken.pdf"].endswith("gave up after retries: broker down")
    assert "guide.md" not in rows  # indexed by that job, but not in the index (deleted since)
    assert f'href="/jobs/{running.id}"' in rows["handbook.md"][1]
    assert "2 documents" in shown.text


def test_a_failure_older_than_the_indexed_version_is_not_shown():
    from datetime import UTC, datetime

    from bot.domain.jobs import Job
    from bot.domain.material import material_rows

    files = {"files": [{"path": "/u/pay.md", "source": "pay.md"}]}
    failed = Job(
        "j1",
        "ingest",
        JobStatus.FAILED,
        error="boom",
        payload=files,
        created_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        updated_at=datetime(2026, 12, 1, 9, 5),
    )  # naive, as SQLite returns it
    later = DocumentInfo("d2", "pay.md", "Pay", "v2", ("hr",), 1, "2026-12-01T10:00:00+00:00")
    earlier = DocumentInfo("d2", "pay.md", "Pay", "v1", ("hr",), 1, "2026-12-01T08:00:00+00:00")
    assert [r.status for r in material_rows([later], [failed])] == ["indexed"]
    assert [(r.status, r.reason) for r in material_rows([earlier], [failed])] == [
        ("failed", "boom")
    ]


def test_the_probes_answer_without_a_session(parts, make_app):
    client = TestClient(build_web_app(parts))
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.text == "ok\n"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"database": "ok"}}
    # a console whose database does not answer is alive but not ready, and says why
    lost = make_app(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    probe = TestClient(build_web_app(lost))
    assert probe.get("/healthz").status_code == 200
    down = probe.get("/readyz")
    assert down.status_code == 503 and not down.json()["ready"]
    assert down.json()["checks"] == {"database": "the database does not answer"}  # no address


def test_any_replica_streams_a_question_posted_to_another(parts, make_app):
    """The question waits in the store, not in the process that took the POST."""
    first, csrf = signed_in(parts, LEARNER)
    turn = first.post("/ask", data={"question": "How long is leave?", "csrf": csrf})
    stream = re.search(r'data-stream="([^"]+)"', turn.text).group(1)
    other = make_app(
        retriever=FakeRetriever(Findings(True, (HANDBOOK,), ())),
        model=FakeChatModel("Leave is 25 days [1]."),
    )
    second = TestClient(build_web_app(other), cookies=first.cookies)
    # only its asker may open it: another learner's session gets nothing, and spends nothing
    stranger, _ = signed_in(parts, Actor("slack", "U2", "T1"))
    assert stranger.get(stream).status_code == 404
    streamed = events(second.get(stream).text)
    assert streamed[-1][0] == "done" and "Leave is 25 days" in streamed[-1][1]
    assert first.get(stream).status_code == 404  # once


def test_a_question_never_streamed_expires_and_is_dropped(parts):
    from datetime import UTC, datetime, timedelta

    from bot.services.web import WebQuestions

    now = [datetime(2026, 12, 4, 9, tzinfo=UTC)]
    questions = WebQuestions(parts.web_records, clock=lambda: now[0])
    late = asyncio.run(questions.hold(LEARNER, "c1", "Is it late?"))
    now[0] += timedelta(minutes=3)
    assert asyncio.run(questions.take(LEARNER, late)) is None
    kept = asyncio.run(questions.hold(LEARNER, "c1", "In time?"))
    assert asyncio.run(questions.take(ADMIN, kept)) is None  # not the asker's
    assert asyncio.run(questions.take(LEARNER, kept)) == ("c1", "In time?")
    assert asyncio.run(questions.take(LEARNER, kept)) is None
