"""The web console in a real browser: `learnloop web` and a `learnloop worker` as their own
processes over PostgreSQL, Redis, a Chroma server and the embedded model, driven by
Playwright through Debian's chromium (never a downloaded browser). One server, one worker
and one browser per module; each test gets fresh browser contexts (cookie jars).

Every page a test checks is screenshotted into LEARNLOOP_SCREENSHOTS (default
build/screenshots/) and run through axe-core (vendored: tests/browser/vendor/axe.min.js);
a serious or critical violation fails the test."""

from __future__ import annotations

import asyncio
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.search import Retrieval
from bot.bootstrap import App, build_app, build_retrieval_from
from bot.domain.conversation import Actor
from bot.settings import Settings
from tests.conftest import ROOT, free_port, stop, wait_until
from tests.services import chroma_server, start_cli_process, start_worker

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ADMIN = Actor("slack", "UADMIN", "T1")
LEARNER = Actor("slack", "ULEARN", "T1")

EXPENSES = """# Expenses

## Taxi receipts
Taxi receipts must reach the Zephyr finance desk within 45 days of the ride.
Receipts sent later are not reimbursed.

## Meals
Team meals are reimbursed up to 30 euros a person.
"""
SALARIES = """# Salary bands

Salary bands for engineers are confidential. Band E3 pays between 90,000 and 120,000.
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.integration)


@dataclass
class Console:
    url: str
    parts: App  # this test process's view of the same store (links, checks)
    index: Retrieval  # the same index, searched from this process
    hr_chunk: str  # a passage only the hr audience may see

    def link(self, actor: Actor) -> str:
        # Playwright's sync API runs an event loop in this thread: the service's on another
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(lambda: asyncio.run(self.parts.web_signin.link(actor))).result()


@pytest.fixture(scope="module")
def console(
    tmp_path_factory, embedder, redis_url, postgres_url, inference_server
) -> Iterator[Console]:
    root = tmp_path_factory.mktemp("web")
    port = free_port()
    with chroma_server(root / "chroma") as chroma:
        rt = build_retrieval_from(embedder, url=chroma)
        material = root / "material"
        (material / "hr").mkdir(parents=True)
        (material / "expenses.md").write_text(EXPENSES)
        (material / "hr" / "salary-bands.md").write_text(SALARIES)
        assert all(r.ok for r in rt.ingestor.ingest_paths([material / "expenses.md"]))
        hr = rt.ingestor.ingest_paths([material / "hr" / "salary-bands.md"], ("hr",))
        assert all(r.ok for r in hr)
        hr_doc = rt.store.document("salary-bands.md")
        assert hr_doc is not None
        hr_chunk = next(iter(rt.store.chunks_of([hr_doc.doc_id])))[0]

        env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "SLACK_"))}
        env.update(
            LEARNLOOP_DATA_DIR=str(root / "data"),
            LEARNLOOP_DATABASE_URL=postgres_url,
            LEARNLOOP_BROKER_URL=redis_url,
            LEARNLOOP_CHROMA_URL=chroma,
            LEARNLOOP_INFERENCE_URL=inference_server,
            # two shared cores: a 200-token answer from the CPU model may take minutes
            LEARNLOOP_INFERENCE_TIMEOUT="300",
            LEARNLOOP_FIRST_TOKEN_SECONDS="120",  # noqa: S106 - seconds, not a secret
            LEARNLOOP_ANSWER_TOKENS="40",  # a streamed answer, not a long one: CI time
            LEARNLOOP_ADMINS=ADMIN.key,
            LEARNLOOP_WEB_URL=f"http://127.0.0.1:{port}",
            LEARNLOOP_OPS_PORT="0",
            LEARNLOOP_LOG_LEVEL="INFO",
        )
        logs = [root / "web.log", root / "worker.log"]
        web = start_cli_process(env, logs[0], "web", "--port", str(port))
        worker = None
        parts = build_app(
            Settings(
                data_dir=root / "data",
                database_url=postgres_url,
                broker_url=redis_url,
                admins=ADMIN.key,
                web_url=f"http://127.0.0.1:{port}",
            )
        )
        try:
            worker = start_worker(env, logs[1], "ingest,feedback,notify")
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: _answers(url, web, logs[0]), timeout=120, what="learnloop web")
            yield Console(url, parts, rt, hr_chunk)
        except BaseException:
            for log in logs:
                print(log.read_text(errors="replace")[-4000:])  # the processes' side
            raise
        finally:
            parts.close()
            for proc in (worker, web):
                if proc is not None:
                    stop(proc)


def _answers(url: str, proc: Any, log: Path) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"learnloop web exited:\n{log.read_text()[-3000:]}")
    try:
        urllib.request.urlopen(f"{url}/", timeout=2)
    except urllib.error.HTTPError as exc:
        return exc.code == 401  # up: no page without a session
    return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing: apt-get install -y chromium (./dev does)")
    with sync_api.sync_playwright() as playwright:
        found = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield found
        finally:
            found.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = Path(os.environ.get("LEARNLOOP_SCREENSHOTS", "") or ROOT / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def look(screenshots) -> Callable[[Any, str], None]:
    """`look(page, name)`: a full-page screenshot, then axe-core's serious and critical
    violations (labels, keyboard use, contrast), which fail the test."""
    script = AXE.read_text(encoding="utf-8")

    def check(page: Any, name: str) -> None:
        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
        page.add_script_tag(content=script)
        found = page.evaluate(
            """async () => {
                const r = await axe.run(document, {resultTypes: ["violations"]});
                return r.violations
                    .filter(v => v.impact === "serious" || v.impact === "critical")
                    .map(v => `${v.id} (${v.impact}): ${v.help}: ` +
                              v.nodes.map(n => n.target.join(" ")).join(", "));
            }"""
        )
        assert found == [], f"{name}: accessibility violations:\n" + "\n".join(found)

    return check


@pytest.fixture
def signed_in(browser, console) -> Iterator[Callable[[Actor], Any]]:
    """`signed_in(actor)`: a new page in a browser context of its own, signed in as the
    actor through a one-time link. The pages' CSP is bypassed only to inject axe-core."""
    contexts: list[Any] = []

    def open_as(actor: Actor) -> Any:
        context = browser.new_context(bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(console.link(actor))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{console.url}/")
        return page

    yield open_as
    for context in contexts:
        context.close()
