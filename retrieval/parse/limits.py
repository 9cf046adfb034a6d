"""How much a single file may cost to parse."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    """Limits on one file's parse; the pre-checks refuse most offenders before parsing."""

    memory_bytes: int = 1024 * MiB  # address space of a parsing child (RLIMIT_AS)
    cpu_seconds: int = 60  # CPU time of a parsing child per file (RLIMIT_CPU)
    wall_seconds: float = 120.0  # a child blocked for longer is killed
    max_text_chars: int = 40_000_000  # extracted text, all sections together
    max_sections: int = 50_000
    max_unpacked_bytes: int = 200 * MiB  # OOXML: declared size of all zip members
    max_member_ratio: float = 200.0  # OOXML: uncompressed / compressed, per large member
    max_members: int = 10_000  # OOXML: zip entries
    max_html_elements: int = 400_000  # start tags in an HTML page
