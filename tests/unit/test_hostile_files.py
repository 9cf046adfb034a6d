"""Hostile and garbage files: refused by the pre-checks and the text sniffing, and
bounded by the sandbox's limits when a check is switched off."""

from __future__ import annotations

import random

import pytest

from retrieval.errors import CorruptFile, OverLimit
from retrieval.parse import parse
from retrieval.parse.limits import MiB, ParseLimits
from retrieval.parse.sandbox import SandboxParser
from tests.bombs import billion_laughs_docx, markup_bomb_html, zip_bomb_docx
from tests.docs import make_docx

GOOD_MD = b"# Parking\n\n## Bikes\n\nBike racks are behind building C.\n"
LIMIT = 512 * MiB  # the tests' child memory limit (production: 1 GiB)
# every pre-check off: only the child's own limits stand between a bomb and the host
UNCHECKED = ParseLimits(
    memory_bytes=LIMIT,
    max_unpacked_bytes=1 << 40,
    max_member_ratio=1e12,
    max_html_elements=1 << 40,
)


def random_bytes(n: int, seed: int) -> bytes:
    """Random bytes without a single NUL (a NUL check alone lets them through)."""
    rng = random.Random(seed)
    return bytes(rng.randrange(1, 256) for _ in range(n))


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {
        "zip-bomb.docx": zip_bomb_docx(1024 * MiB),
        "laughs.docx": billion_laughs_docx(),
        "markup-bomb.html": markup_bomb_html(),
    }


@pytest.mark.parametrize("name", ["notes.md", "notes.txt"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_bytes_named_as_text_are_refused(name, seed):
    with pytest.raises(CorruptFile, match="binary") as info:
        parse(name, random_bytes(20_000, seed))
    assert info.value.message.startswith(f"{name}: ")


def test_control_characters_in_valid_utf8_are_refused():
    data = bytes(random.Random(4).randrange(1, 32) for _ in range(5000))
    with pytest.raises(CorruptFile, match="control characters"):
        parse("log.txt", data)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [("Größe der Straße, naïve café", "cp1252"), ("Привет мир, это текст на русском.", "cp1251")],
)
def test_real_text_in_legacy_encodings_is_read(text, encoding):
    doc = parse("old.txt", text.encode(encoding))
    assert doc.sections[0].text == text


def test_zip_bomb_is_refused_by_its_declared_size(bombs):
    with pytest.raises(OverLimit, match=r"unpacks to \d+ MiB .*zip bomb"):
        parse("zip-bomb.docx", bombs["zip-bomb.docx"])


def test_highly_compressed_part_is_refused_by_its_ratio():
    limits = ParseLimits(max_unpacked_bytes=1 << 40)
    with pytest.raises(OverLimit, match=r"word/document.xml is compressed \d+:1"):
        parse("dense.docx", zip_bomb_docx(64 * MiB), limits)


def test_entity_declarations_in_office_parts_are_refused(bombs):
    with pytest.raises(OverLimit, match=r"document\.xml declares a DTD"):
        parse("laughs.docx", bombs["laughs.docx"])


def test_markup_bomb_is_refused_by_its_element_count(bombs):
    with pytest.raises(OverLimit, match="elements: a markup bomb"):
        parse("markup-bomb.html", bombs["markup-bomb.html"])


def test_pages_declaring_entities_are_refused():
    page = b'<!DOCTYPE html [<!ENTITY a "aaaa">]><html><body><p>&a;</p></body></html>'
    with pytest.raises(OverLimit, match="declares XML entities"):
        parse("page.html", page)


def test_sandbox_skips_each_bomb_and_parses_the_good_file(bombs):
    parser = SandboxParser(ParseLimits(memory_bytes=LIMIT), workers=2)
    try:
        items = [*bombs.items(), ("parking.md", GOOD_MD)]
        results = dict(zip([n for n, _ in items], parser.parse_many(items), strict=True))
    finally:
        parser.close()
    for name in bombs:
        assert isinstance(results[name], OverLimit), name
        assert results[name].message.startswith(f"{name}: ")
    good = results["parking.md"]
    assert not isinstance(good, Exception)
    assert good.sections[0].name == "Bikes"
    assert 0 < parser.peak_rss < LIMIT


def test_memory_limit_stops_a_bomb_the_checks_let_through(bombs):
    parser = SandboxParser(UNCHECKED, workers=1)
    try:
        results = list(
            parser.parse_many([("zip-bomb.docx", bombs["zip-bomb.docx"]), ("ok.md", GOOD_MD)])
        )
    finally:
        parser.close()
    assert isinstance(results[0], OverLimit)
    assert "more memory than allowed" in results[0].message
    assert not isinstance(results[1], Exception)  # the pool lives on
    assert parser.peak_rss < LIMIT


def test_cpu_limit_kills_the_child_and_the_next_file_still_parses():
    limits = ParseLimits(memory_bytes=LIMIT, cpu_seconds=1, max_html_elements=1 << 40)
    parser = SandboxParser(limits, workers=1)
    slow = markup_bomb_html(6 * MiB)  # several seconds of CPU in BeautifulSoup
    try:
        results = list(parser.parse_many([("slow.html", slow), ("ok.md", GOOD_MD)]))
    finally:
        parser.close()
    assert isinstance(results[0], OverLimit)
    assert "CPU time" in results[0].message
    assert not isinstance(results[1], Exception)


def test_sandboxed_parse_matches_the_in_process_parse():
    data = make_docx("Travel", [("h1", "Trains"), ("p", "Book second class.")])
    parser = SandboxParser(workers=1)
    try:
        assert parser.parse("travel.docx", data) == parse("travel.docx", data)
        with pytest.raises(CorruptFile, match="binary"):
            parser.parse("noise.md", random_bytes(5000, 9))
    finally:
        parser.close()
