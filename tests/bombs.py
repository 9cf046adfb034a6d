"""Hostile files built in the tests: a zip bomb, entity expansion, a markup bomb."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from tests.docs import make_docx

_BLOCK = 16 * 1024 * 1024


def _deflated(prefix: bytes, fill: bytes, size: int) -> tuple[bytes, int]:
    """Raw deflate of `prefix` then `fill` bytes up to `size`, and its CRC, cheaply: one
    16 MiB block of fill compressed once with a full flush (no back-references across
    it), then repeated."""
    repeats = (size - len(prefix)) // _BLOCK
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    filler = fill * _BLOCK
    block = compressor.compress(filler) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush()
    crc = zlib.crc32(prefix)
    for _ in range(repeats):
        crc = zlib.crc32(filler, crc)
    return head + block * repeats + tail, crc


def _with_member(archive: bytes, name: str, deflated: bytes, crc: int, size: int) -> bytes:
    """`archive` with one more deflated member whose bytes are given ready-made."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    entries = [(i, source.read(i.filename)) for i in source.infolist() if i.filename != name]
    out = io.BytesIO()
    central = io.BytesIO()
    count = 0

    def add(fname: bytes, data: bytes, crc: int, usize: int) -> None:
        nonlocal count
        offset = out.tell()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), usize, len(fname), 0
            )
        )
        out.write(fname + data)
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(data),
                usize,
                len(fname),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
        )
        central.write(fname)
        count += 1

    for info, data in entries:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = packer.compress(data) + packer.flush()
        add(info.filename.encode(), packed, zlib.crc32(data), len(data))
    add(name.encode(), deflated, crc, size)
    start = out.tell()
    out.write(central.getvalue())
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, central.tell(), start, 0))
    return out.getvalue()


def zip_bomb_docx(inflated: int = 1024 * 1024 * 1024) -> bytes:
    """A 1 MB .docx whose main part inflates to about `inflated` bytes: the document's
    XML, then spaces (allowed after the root element)."""
    good = make_docx("Bomb", [("p", "Nothing to see.")])
    xml = zipfile.ZipFile(io.BytesIO(good)).read("word/document.xml")
    deflated, crc = _deflated(xml, b" ", inflated)
    size = len(xml) + (inflated - len(xml)) // _BLOCK * _BLOCK
    return _with_member(good, "word/document.xml", deflated, crc, size)


def billion_laughs_docx() -> bytes:
    """A .docx whose main part declares nested entities (a billion laughs)."""
    good = make_docx("Laughs", [("p", "Nothing to see.")])
    lol = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
            for i in range(1, 10)
        )
        + "]>"
    )
    source = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/document.xml":
                body = data.decode().split("?>", 1)[1]
                data = (lol + body.replace("Nothing to see.", "&lol9;")).encode()
            target.writestr(info.filename, data)
    return out.getvalue()


def markup_bomb_html(size: int = 24 * 1024 * 1024) -> bytes:
    """Under the upload limit, but millions of empty elements."""
    return b"<html><body>" + b"<b></b>" * (size // 7) + b"</body></html>"
