"""Cheap checks that refuse a hostile file before any parser unpacks it.

They read only the zip directory, each XML member's prolog and a count of start tags, so
a zip bomb or a billion-laughs file costs milliseconds here instead of gigabytes later.
The sandbox (`retrieval.parse.sandbox`) still bounds whatever gets past them.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath
from typing import IO
from xml.parsers import expat

from retrieval.errors import CorruptFile, OverLimit
from retrieval.parse.limits import MiB, ParseLimits

_START_TAG = re.compile(rb"<[A-Za-z]")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_RATIO_FLOOR = 4 * MiB  # smaller members cannot blow up, whatever their ratio


def precheck(suffix: str, data: bytes, limits: ParseLimits) -> None:
    """Raise `OverLimit` (or `CorruptFile`) if the file is a bomb of its kind."""
    if suffix in {".docx", ".pptx"}:
        check_ooxml(data, limits)
    elif suffix in {".html", ".htm"}:
        check_html(data, limits)


def check_ooxml(data: bytes, limits: ParseLimits) -> None:
    """Declared member sizes and ratios, and no DTD in any XML part (OOXML never has one)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise CorruptFile("not a valid Office file (not a zip archive); it may be corrupt") from exc
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise OverLimit(f"the archive has {len(members)} parts (limit {limits.max_members})")
        # zipfile stops reading a member at its declared size, so these numbers hold
        total = sum(m.file_size for m in members)
        if total > limits.max_unpacked_bytes:
            raise OverLimit(
                f"it unpacks to {total / MiB:.0f} MiB "
                f"(limit {limits.max_unpacked_bytes / MiB:.0f} MiB): a zip bomb?"
            )
        for member in members:
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > _RATIO_FLOOR and ratio > limits.max_member_ratio:
                raise OverLimit(
                    f"part {member.filename} is compressed {ratio:.0f}:1 "
                    f"(limit {limits.max_member_ratio:.0f}:1): a zip bomb?"
                )
        for member in members:
            if PurePath(member.filename).suffix.lower() in {".xml", ".rels"}:
                with archive.open(member) as stream:
                    _check_prolog(member.filename, stream)


class _RootReached(Exception):
    """The prolog is over: nothing after it can declare entities."""


def _check_prolog(name: str, stream: IO[bytes]) -> None:
    # defusedxml would parse the whole part; a DTD can only come before the root element,
    # so expat stops at the root's start tag and the rest is never read.
    parser = expat.ParserCreate()

    def refuse(*_: object) -> None:
        raise OverLimit(f"part {name} declares a DTD or entities, which Office files never do")

    def root(*_: object) -> None:
        raise _RootReached

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = root
    try:
        while block := stream.read(64 * 1024):
            parser.Parse(block, False)
        parser.Parse(b"", True)
    except _RootReached:
        return
    except expat.ExpatError as exc:
        raise CorruptFile(f"part {name} is not well-formed XML") from exc


def check_html(data: bytes, limits: ParseLimits) -> None:
    """Start tags counted in C; entity declarations refused (pages never need them)."""
    if data.count(b"<") > limits.max_html_elements:  # the exact count only when it can matter
        for n, _ in enumerate(_START_TAG.finditer(data), start=1):
            if n > limits.max_html_elements:
                raise OverLimit(
                    f"the page has over {limits.max_html_elements:,} elements: a markup bomb?"
                )
    if _ENTITY_DECL.search(data):
        raise OverLimit("the page declares XML entities, which web pages never need")
