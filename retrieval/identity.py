"""Which document a file is: its path relative to the folder it was ingested from.

A file named on its own (or shared in a chat) is known by its file name, so a file in a
folder keeps its id when ingested on its own and `guide.md` ingested again is a new
version of `guide.md`. `a/guide.md` and `b/guide.md` under one folder are two documents.
Two different files that would get the same name in one batch are both refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest and the name its document has in the index."""

    path: Path
    identity: str


def clean_identity(name: str) -> str:
    """A name as the index keeps it: forward slashes, no `.`/`..` or empty parts."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in {"", ".", ".."}]
    return str(PurePosixPath(*parts)) if parts else name.strip()


def expand_sources(paths: Iterable[Path | SourceFile]) -> list[SourceFile]:
    """Files and folders (recursively, hidden ones left out) with each file's identity."""
    files: list[SourceFile] = []
    for item in paths:
        if isinstance(item, SourceFile):
            files.append(item)
        elif item.is_dir():
            files.extend(
                SourceFile(p, p.relative_to(item).as_posix())
                for p in sorted(item.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(item).parts)
            )
        else:
            files.append(SourceFile(item, item.name))
    return files


@dataclass(frozen=True)
class Refusal:
    """A file of a batch that is not ingested because of another file with its name."""

    source: SourceFile
    status: str  # skipped (a different file has its name) | unchanged (a copy)
    code: str
    reason: str


def same_name_refusals(batch: Sequence[SourceFile]) -> dict[Path, Refusal]:
    """Files refused because another file of the batch has the same identity: both
    when their contents differ, the later copies when they are byte-for-byte equal."""
    by_identity: dict[str, list[SourceFile]] = {}
    for source in batch:
        by_identity.setdefault(source.identity, []).append(source)
    refused: dict[Path, Refusal] = {}
    for identity, group in by_identity.items():
        distinct = {s.path.resolve() for s in group}
        if len(distinct) < 2:
            continue
        digests = {s.path: _digest(s.path) for s in group}
        if len(set(digests.values())) == 1:
            first = group[0]
            for copy in group[1:]:
                if copy.path.resolve() != first.path.resolve():
                    reason = f"same content as {first.path}, ingested once as {identity!r}"
                    refused[copy.path] = Refusal(copy, "unchanged", "", reason)
            continue
        names = ", ".join(str(s.path) for s in group)
        for source in group:
            reason = (
                f"{names} would all be the document {identity!r}; "
                "rename one or ingest them from their common folder"
            )
            refused[source.path] = Refusal(source, "skipped", "name_conflict", reason)
    return refused


def _digest(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return f"unreadable:{path}"  # reported when it is read for ingestion
