"""Where a passage or topic comes from, and a share as a bar, as every surface shows them."""

from __future__ import annotations

from bot.domain.labels import bar, where


def test_where_names_the_section_only_when_it_adds_something():
    assert where("guide.md", "Install") == "guide.md › Install"
    assert where("guide.md", "") == "guide.md"
    assert where("guide.md", "guide.md") == "guide.md"  # a page without headings
    assert where("", "Install") == "Install"


def test_where_escapes_each_part_with_the_surfaces_escape_but_not_the_separator():
    shout = str.upper
    assert where("a<b>.md", "x & y", shout) == "A<B>.MD › X & Y"
    assert where("a.md", "a.md", shout) == "A.MD"


def test_bar_fills_its_share_of_the_cells_and_stays_inside_them():
    assert bar(0.6, 5) == "▰▰▰▱▱"
    assert bar(0) == "▱" * 10 and bar(1) == "▰" * 10
    assert bar(1.7, 5) == "▰" * 5 and bar(-0.2, 5) == "▱" * 5
