"""The admin report as a PNG chart: accuracy per topic, weakest first, and the questions
the material could not answer.

Drawn with matplotlib's object API on the Agg canvas (no `pyplot`, no global backend), so
it is safe in a worker thread of the chat processes."""

from __future__ import annotations

import io
from functools import cache

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import MaxNLocator, PercentFormatter
from PIL import Image

from bot.domain.analytics import Report, TopicAccuracy, activity, counted
from bot.domain.labels import where

MAX_TOPICS = 12
MAX_GAPS = 8
LABEL_CHARS = 48
WIDTH_IN, DPI = 10.0, 100  # 1000 px wide; Teams shows inline images up to 1024 px
WEAK, FAIR, GOOD, TRACK = "#d1495b", "#edae49", "#2d6a4f", "#ececec"
COLOURS = 64  # a palette PNG: a third of the bytes, no visible difference for flat charts
MISSING = "\N{REPLACEMENT CHARACTER}"


@cache
def _glyphs() -> frozenset[int]:
    """The characters the default font draws (DejaVu Sans, shipped with matplotlib)."""
    return frozenset(FT2Font(font_manager.findfont(font_manager.FontProperties())).get_charmap())


def _label(text: str, limit: int = LABEL_CHARS) -> str:
    """One line, at most `limit` characters, only glyphs the font has (a missing glyph
    would draw as a box and raise matplotlib's warning for every message)."""
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    glyphs = _glyphs()
    return "".join(c if ord(c) in glyphs else MISSING for c in line)


def _colour(accuracy: float) -> str:
    return WEAK if accuracy < 0.5 else FAIR if accuracy < 0.8 else GOOD


def _empty(ax: Axes, text: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, color="#555555")


def _accuracy(ax: Axes, topics: list[TopicAccuracy]) -> None:
    shown = sorted(topics, key=lambda t: (t.accuracy, -t.attempts, t.source, t.section))
    shown = shown[:MAX_TOPICS]
    title = "Accuracy per topic, weakest first"
    if len(topics) > len(shown):
        title += f" ({len(shown)} weakest of {len(topics)} topics)"
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    if not shown:
        _empty(ax, "No quiz answers in this period yet.")
        return
    rows = range(len(shown))
    ax.barh(rows, [1.0] * len(shown), color=TRACK)  # the full 100%: a 0% row still shows
    ax.barh(rows, [t.accuracy for t in shown], color=[_colour(t.accuracy) for t in shown])
    ax.set_yticks(list(rows), [_label(where(t.source, t.section)) for t in shown])
    for tick in ax.get_yticklabels():
        tick.set_parse_math(False)  # a "$" in a document name is not TeX
    for row, t in zip(rows, shown, strict=True):
        ax.text(
            t.accuracy + 0.01,
            row,
            f"{t.accuracy:.0%} of {counted(t.attempts, 'answer')}",
            va="center",
            fontsize=9,
            parse_math=False,
        )
    ax.invert_yaxis()  # weakest on top
    ax.set_xlim(0, 1.25)  # room for the labels right of a full bar
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.spines[["top", "right"]].set_visible(False)


def _gaps(ax: Axes, gaps: list[tuple[str, int]]) -> None:
    ax.set_title(
        "Questions the material could not answer", loc="left", fontsize=12, fontweight="bold"
    )
    shown = gaps[:MAX_GAPS]
    if not shown:
        _empty(ax, "Every question in this period was answered from the material.")
        return
    rows = range(len(shown))
    counts = [n for _, n in shown]
    ax.barh(rows, counts, color="#4f6d7a")
    ax.set_yticks(list(rows), [_label(f"“{q}”") for q, _ in shown])
    for tick in ax.get_yticklabels():
        tick.set_parse_math(False)
    for row, n in zip(rows, counts, strict=True):
        ax.text(n, row, f" {n}\N{MULTIPLICATION SIGN}", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, max(counts) * 1.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)


def report_chart(report: Report, days: int) -> bytes | None:
    """The report as a PNG, or None when there is nothing to draw yet (no quiz answers
    and no unanswered questions in the period)."""
    if not report.topics and not report.gaps:
        return None
    topic_rows = min(len(report.topics), MAX_TOPICS) or 1
    gap_rows = min(len(report.gaps), MAX_GAPS) or 1
    height = 1.8 + 0.36 * (topic_rows + gap_rows)
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    top, bottom = figure.subplots(2, 1, height_ratios=[topic_rows + 1, gap_rows + 1])
    figure.suptitle(f"LearnLoop report, {activity(report, days)}", fontsize=11, color="#333333")
    _accuracy(top, report.topics)
    _gaps(bottom, report.gaps)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    out = io.BytesIO()
    image.convert("RGB").quantize(COLOURS).save(out, format="PNG", optimize=True)
    return out.getvalue()
