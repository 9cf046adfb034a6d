"""The `learnloop` CLI as a user runs it, against a real Chroma server in another process."""

from __future__ import annotations

import json
import os

import pytest

from bot.bootstrap import build_retrieval_from
from tests.conftest import DATA, run_cli

pytestmark = pytest.mark.integration

GUIDE = """# Release guide

## Tagging
Tag every release with `git tag -a` and push it with --follow-tags.

## Changelog
Summarise user-visible changes in CHANGELOG.md before tagging.
"""


@pytest.fixture
def cli_env(tmp_path, chroma_server):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    env.update(LEARNLOOP_DATA_DIR=str(tmp_path / "data"), LEARNLOOP_CHROMA_URL=chroma_server)
    return env


def test_ingest_search_stats_delete_across_processes(cli_env, tmp_path, embedder, chroma_server):
    folder = tmp_path / "material"
    folder.mkdir()
    (folder / "release.md").write_text(GUIDE)
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4 truncated")
    (folder / "diagram.svg").write_bytes(b"<svg></svg>")

    # This process searches the same server: it must see what the CLI process writes.
    here = build_retrieval_from(embedder, url=chroma_server)
    for left in here.store.documents():  # the server is the session's: start from empty
        here.store.remove(left.source)
    before = here.searcher.search("--follow-tags", k=3)
    assert all(p.source != "release.md" for p in before.passages)

    ingest = json.loads(run_cli(cli_env, "ingest", str(folder), "--json").stdout)
    assert ingest["documents"] == 1 and ingest["chunks"] >= 2
    skipped = {f["source"]: f for f in ingest["files"] if f["status"] == "skipped"}
    assert skipped["corrupt.pdf"]["code"] == "corrupt_file"
    assert skipped["diagram.svg"]["code"] == "unsupported_file_type"
    assert "corrupt.pdf" in skipped["corrupt.pdf"]["reason"]

    after = here.searcher.search("--follow-tags", k=3)  # keyword index refreshed
    assert after.passages[0].source == "release.md"
    assert "--follow-tags" in after.passages[0].text

    found = json.loads(
        run_cli(cli_env, "search", "how do I tag a release", "-k", "2", "--json").stdout
    )
    assert found["relevant"] is True
    assert set(found["passages"][0]) == {"source", "section", "text", "score"}
    assert found["passages"][0]["section"] == "Tagging"

    stats = json.loads(run_cli(cli_env, "stats", "--json").stdout)
    assert stats["documents"] == 1
    assert stats["per_document"][0]["source"] == "release.md"
    assert stats["chunks"] == stats["per_document"][0]["chunks"] == ingest["chunks"]

    run_cli(cli_env, "delete", "release.md")
    assert here.searcher.search("--follow-tags", k=3).passages == ()
    missing = run_cli(cli_env, "delete", "release.md", check=False)
    assert missing.returncode == 1 and "no document named 'release.md'" in missing.stderr


def test_eval_reports_hit_rate_and_refusals(cli_env, tmp_path):
    run_cli(
        cli_env,
        "ingest",
        str(DATA / "corpus" / "git-clean.html"),
        str(DATA / "corpus" / "git-stash.html"),
    )
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        "\n".join(
            json.dumps(line)
            for line in [
                {
                    "question": "How do I see what git clean would delete without deleting it?",
                    "must_contain": ["-n"],
                    "source": "git-clean.html",
                    "evidence": "Don't actually remove anything, just show what would be done.",
                },
                {
                    "question": "What is our parental leave policy?",
                    "must_contain": [],
                    "evidence": "",
                    "source": "",
                },
            ]
        )
    )
    report = json.loads(
        run_cli(cli_env, "eval", str(qa), "-k", "3", "--no-generate", "--json").stdout
    )
    assert report["k"] == 3
    assert report["hit_at_k"] == 1.0
    assert report["refusal_correct"] == 1.0
    assert report["answer_contains"] is None
    assert [i["refused"] for i in report["items"]] == [False, True]
    assert len(report["items"][0]["passages"]) == 3


def test_clear_errors_instead_of_tracebacks(cli_env, tmp_path):
    nothing = run_cli(cli_env, "ingest", str(tmp_path / "nope.md"), check=False)
    assert nothing.returncode == 1 and "no such file or folder" in nothing.stderr
    bad_audience = run_cli(
        cli_env, "ingest", str(tmp_path), "--audience", "Sales Team", check=False
    )
    assert bad_audience.returncode == 1 and "audience 'sales team'" in bad_audience.stderr
    bad_qa = tmp_path / "bad.jsonl"
    bad_qa.write_text("{not json}\n")
    broken = run_cli(cli_env, "eval", str(bad_qa), check=False)
    assert broken.returncode == 1 and "line 1: not valid JSON" in broken.stderr
    down = dict(cli_env, LEARNLOOP_CHROMA_URL="http://127.0.0.1:9")
    unreachable = run_cli(down, "stats", check=False)
    assert unreachable.returncode == 1
    assert "cannot reach the Chroma index at http://127.0.0.1:9" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr


def test_same_named_files_in_folders_are_two_documents_and_delete_asks_which(cli_env, tmp_path):
    folder = tmp_path / "handbook"
    (folder / "ops").mkdir(parents=True)
    (folder / "dev").mkdir()
    (folder / "ops" / "runbook.md").write_text(GUIDE.replace("Release", "Ops"))
    (folder / "dev" / "runbook.md").write_text(GUIDE.replace("Release", "Dev"))

    summary = json.loads(run_cli(cli_env, "ingest", str(folder), "--json").stdout)
    assert {f["source"]: f["status"] for f in summary["files"]} == {
        "dev/runbook.md": "added",
        "ops/runbook.md": "added",
    }
    ambiguous = run_cli(cli_env, "delete", "runbook.md", check=False)
    assert ambiguous.returncode == 1
    assert "dev/runbook.md, ops/runbook.md" in ambiguous.stderr
    assert "Traceback" not in ambiguous.stderr
    assert "Deleted ops/runbook.md" in run_cli(cli_env, "delete", "ops/runbook.md").stdout
    assert "Deleted dev/runbook.md" in run_cli(cli_env, "delete", "runbook.md").stdout
