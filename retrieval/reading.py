"""What was read from an uploaded file and what was left out, for the upload summary."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

# Every section whose text came from OCR says so in its label, so citations do too.
OCR_MARK = "(text read from an image)"
PREVIEW_SECTIONS = 3
PREVIEW_CHARS = 120
MAX_LISTED = 100  # skipped parts kept in a job's stored result


@dataclass(frozen=True)
class SkippedPart:
    """A page, slide or figure whose text is not in the index, and why."""

    part: str  # "page 3", "figure 2 on slide 4"
    reason: str  # "empty page", "image too small (12x9 px)"


@dataclass(frozen=True)
class Reading:
    """A parser's account of one file: its pages or slides, OCR'd parts, skipped parts."""

    unit: str = ""  # "page", "slide", "image"; empty where a format has no such parts
    parts: int = 0  # how many pages, slides or images the file has
    ocr_parts: int = 0  # pages and figures whose text came from OCR
    sections: int = 0
    skipped: tuple[SkippedPart, ...] = ()
    preview: tuple[tuple[str, str], ...] = ()  # (section label, its opening words)

    def summary(self) -> str:
        """One line: what was read, e.g. "12 pages, 14 sections, 3 read by OCR"."""
        bits = []
        if self.unit:
            bits.append(_count(self.parts, self.unit))
        bits.append(_count(self.sections, "section"))
        if self.ocr_parts:
            bits.append(f"{self.ocr_parts} read by OCR")
        return ", ".join(bits)

    def skipped_lines(self, limit: int = 5) -> list[str]:
        """The skipped parts grouped by reason, a few named in each group."""
        by_reason: dict[str, list[str]] = defaultdict(list)
        for item in self.skipped:
            by_reason[item.reason].append(item.part)
        lines = []
        for reason, parts in by_reason.items():
            more = f" and {len(parts) - limit} more" if len(parts) > limit else ""
            named = ", ".join(parts[:limit]) + more
            lines.append(f"{named}: {reason}")
        return lines

    def preview_lines(self) -> list[str]:
        return [f"{label or '(untitled)'}: {text}" for label, text in self.preview]

    def report_lines(self, preview: bool = True) -> list[str]:
        """The upload summary of this file: what was read, what was skipped, a preview."""
        lines = [f"read {self.summary()}"]
        lines += [f"skipped {line}" for line in self.skipped_lines()]
        if preview:
            lines += [f"› {line}" for line in self.preview_lines()]
        return lines

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reading:
        """The reading back from `as_dict` (a job's stored result)."""
        return cls(
            unit=data.get("unit") or "",
            parts=int(data.get("parts", 0)),
            ocr_parts=int(data.get("ocr_parts", 0)),
            sections=int(data.get("sections", 0)),
            skipped=tuple(SkippedPart(s["part"], s["reason"]) for s in data.get("skipped", [])),
            preview=tuple((p["section"], p["text"]) for p in data.get("preview", [])),
        )

    def as_dict(self) -> dict[str, Any]:
        """The reading as JSON-ready data (job results, `ingest --json`)."""
        return {
            "summary": self.summary(),
            "unit": self.unit or None,
            "parts": self.parts,
            "sections": self.sections,
            "ocr_parts": self.ocr_parts,
            # a PDF of thousands of icons: the first ones stand for the rest
            "skipped": [{"part": s.part, "reason": s.reason} for s in self.skipped[:MAX_LISTED]],
            "skipped_total": len(self.skipped),
            "preview": [{"section": label, "text": text} for label, text in self.preview],
        }


def preview_of(sections: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The first sections' labels and opening words, whitespace folded."""
    out = []
    for label, text in sections[:PREVIEW_SECTIONS]:
        words = " ".join(text.split())
        if len(words) > PREVIEW_CHARS:
            words = words[: PREVIEW_CHARS - 1].rsplit(" ", 1)[0] + "…"
        out.append((label, words))
    return tuple(out)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
