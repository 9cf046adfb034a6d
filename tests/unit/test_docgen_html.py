"""Pages built by Sphinx and MkDocs (from PyPI, in the test) parse into their real
sections: no navigation, sidebar, footer, previous/next or "edit" text, no permalinks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.parse import parse

CHROME_WORDS = (
    "Navigation",
    "Related",
    "Next",
    "Previous",
    "Edit on",
    "Show Source",
    "Search",
    "Powered by",
    "Built with",
    "Table of Contents",
    "¶",
)

INDEX = {
    "Laptops": "Ask IT for a laptop on your first day.",
    "Laptops › Passwords": "Use the password manager for every account.",
}


def _sections(path: Path) -> tuple[str, dict[str, str]]:
    doc = parse(path.name, path.read_bytes())
    return doc.title, {s.name: s.text for s in doc.sections}


def _assert_clean(sections: dict[str, str]) -> None:
    for name, text in sections.items():
        for word in CHROME_WORDS:
            assert word not in name, (word, name)
            assert word not in text, (word, name, text)


@pytest.mark.parametrize("theme", ["alabaster", "classic"])
def test_sphinx_pages_keep_their_sections(tmp_path, theme):
    (tmp_path / "conf.py").write_text('project = "Onboarding"\n')
    (tmp_path / "index.rst").write_text(
        "Onboarding guide\n================\n\nWelcome text under the title.\n\n"
        ".. toctree::\n\n   security\n\n"
        "Laptops\n-------\n\nAsk IT for a laptop on your first day.\n\n"
        "Passwords\n~~~~~~~~~\n\nUse the password manager for every account.\n"
    )
    (tmp_path / "security.rst").write_text(
        "Security\n========\n\nBadges must be worn visibly.\n\n"
        "Visitors\n--------\n\nVisitors sign in at reception.\n"
    )
    out = tmp_path / "html"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-q",
            "-b",
            "html",
            "-D",
            f"html_theme={theme}",
            str(tmp_path),
            str(out),
        ],
        check=True,
    )
    title, sections = _sections(out / "index.html")
    assert title == "Onboarding guide"
    assert sections == {"": "Welcome text under the title.", **INDEX}
    title, sections = _sections(out / "security.html")
    assert title == "Security"
    assert sections == {
        "": "Badges must be worn visibly.",
        "Visitors": "Visitors sign in at reception.",
    }
    _assert_clean(sections)


@pytest.mark.parametrize("theme", ["mkdocs", "readthedocs"])
def test_mkdocs_pages_keep_their_sections(tmp_path, theme):
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Onboarding\nrepo_url: https://example.com/acme/onboarding\n"
        "edit_uri: edit/main/docs/\nnav:\n  - Home: index.md\n  - Security: security.md\n"
        "markdown_extensions:\n  - toc:\n      permalink: true\n"
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(
        "# Onboarding guide\n\nWelcome text under the title.\n\n## Laptops\n\n"
        "Ask IT for a laptop on your first day.\n\n### Passwords\n\n"
        "Use the password manager for every account.\n"
    )
    (docs / "security.md").write_text(
        "# Security\n\nBadges must be worn visibly.\n\n## Visitors\n\n"
        "Visitors sign in at reception.\n"
    )
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "-q",
            "-t",
            theme,
            "-f",
            str(tmp_path / "mkdocs.yml"),
            "-d",
            str(site),
        ],
        check=True,
    )
    title, sections = _sections(site / "index.html")
    assert title == "Onboarding guide"
    assert sections == {"": "Welcome text under the title.", **INDEX}
    _assert_clean(sections)
    title, sections = _sections(site / "security" / "index.html")
    assert title == "Security"
    assert sections == {
        "": "Badges must be worn visibly.",
        "Visitors": "Visitors sign in at reception.",
    }
