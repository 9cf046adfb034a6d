"""Plain text and Markdown."""

from __future__ import annotations

import re

import charset_normalizer

from retrieval.errors import CorruptFile
from retrieval.types import ParsedDocument, Section

_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SETEXT = re.compile(r"^\s*(=+|-+)\s*$")
_SAMPLE = 256 * 1024  # enough to judge a file by; detection over 25 MB would be slow
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # Cc, less the whitespace ones
_MAX_CONTROL_SHARE = 0.01


def decode(data: bytes) -> str:
    """The bytes as text, or `CorruptFile` when they are not text in any encoding."""
    if b"\x00" in data[:8192]:
        raise CorruptFile("the file looks binary, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode(_legacy_encoding(data), errors="replace")
    sample = text[:_SAMPLE]
    if len(_CONTROL.findall(sample)) > len(sample) * _MAX_CONTROL_SHARE:
        raise CorruptFile("the file looks binary, not text (control characters)")
    return text


def _legacy_encoding(data: bytes) -> str:
    """cp1252 (the usual legacy file) when it reads as text, else the detector's pick."""
    sample = data[:_SAMPLE]
    if charset_normalizer.from_bytes(sample, cp_isolation=["cp1252"]).best() is not None:
        return "cp1252"
    best = charset_normalizer.from_bytes(sample).best()
    if best is None:  # every encoding reads it as gibberish
        raise CorruptFile("the file looks binary, not text in any known encoding")
    return best.encoding


def parse_text(data: bytes, fallback_title: str) -> ParsedDocument:
    body = decode(data)
    return ParsedDocument(title=fallback_title, sections=(Section((), body.strip()),))


def _atx_lines(lines: list[str]) -> list[str]:
    """Rewrite setext headings (a line underlined with === or ---) as ATX headings."""
    out: list[str] = []
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if not in_fence and line.strip() and not _ATX.match(line) and _SETEXT.match(nxt):
            out.append(("# " if nxt.strip().startswith("=") else "## ") + line.strip())
            i += 2
            continue
        out.append(line)
        i += 1
    return out


def parse_markdown(data: bytes, fallback_title: str) -> ParsedDocument:
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    buf: list[str] = []
    title = ""
    in_fence = False

    def flush() -> None:
        body = "\n".join(buf).strip()
        if body:
            sections.append(Section(tuple(h for _, h in path), body))
        buf.clear()

    for line in _atx_lines(decode(data).splitlines()):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _ATX.match(line)
        if heading is None:
            buf.append(line)
            continue
        flush()
        level, name = len(heading.group(1)), heading.group(2)
        if level == 1 and not title:
            title = name  # the document's own title, not a section
            path.clear()
            continue
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, name))
    flush()
    return ParsedDocument(title=title or fallback_title, sections=tuple(sections))
