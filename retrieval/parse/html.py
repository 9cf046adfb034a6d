"""HTML pages: headings give the section path, block elements give line breaks."""

from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, NavigableString, Tag, XMLParsedAsHTMLWarning
from bs4.element import Comment, Doctype, ProcessingInstruction

from retrieval.parse.text import decode
from retrieval.types import ParsedDocument, Section

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_DROP = {"script", "style", "noscript", "template", "svg", "nav", "head", "iframe", "form"}
_BLOCKS = {
    "p",
    "div",
    "li",
    "pre",
    "tr",
    "br",
    "table",
    "ul",
    "ol",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "hr",
    "figure",
}
_SKIP_STRINGS = (Comment, Doctype, ProcessingInstruction)
# where generators put a page's own content: Sphinx, MkDocs (both themes), Material, HTML5
_MAIN = ('[role="main"]', "main", "article", '[itemprop="articleBody"]')
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog"}
_CHROME_NAMES = re.compile(
    r"(^|[\s_-])(headerlink|sphinxsidebar\w*|related|breadcrumbs?|navbar|sidebar|"
    r"rst-footer-buttons|prev-next|pagination|toctree-wrapper|md-(header|footer|sidebar|source)|"
    r"edit-?(this-?)?page)($|[\s_-])"
)
_EDIT_LINK = re.compile(r"(edit|improve) (this page|on \w+)|view (page )?source|show source", re.I)
_PERMALINK = re.compile(r"\s*[¶#§🔗]$")


def _clean(text: str) -> str:
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _Renderer:
    def __init__(self, title_h1: Tag | None) -> None:
        self.title_h1 = title_h1
        self.sections: list[Section] = []
        self.path: list[tuple[int, str]] = []
        self.buf: list[str] = []

    def flush(self) -> None:
        body = _clean("".join(self.buf))
        if body:
            self.sections.append(Section(tuple(h for _, h in self.path), body))
        self.buf.clear()

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, _SKIP_STRINGS):
                continue
            if isinstance(child, NavigableString):
                self.buf.append(str(child).replace("\n", " "))
            elif isinstance(child, Tag) and child.name not in _DROP:
                self.element(child)

    def element(self, tag: Tag) -> None:
        level = _HEADINGS.get(tag.name)
        if level is not None:
            self.flush()
            name = _heading_text(tag)
            if tag is not self.title_h1 and name:
                while self.path and self.path[-1][0] >= level:
                    self.path.pop()
                self.path.append((level, name))
        elif tag.name == "pre":
            self.buf.append("\n" + tag.get_text() + "\n")
        elif tag.name == "dl":
            self.definition_list(tag)
        elif tag.name in {"td", "th"}:
            self.walk(tag)
            self.buf.append(" ")
        elif tag.name in _BLOCKS:
            self.buf.append("\n")
            self.walk(tag)
            self.buf.append("\n")
        else:
            self.walk(tag)

    def definition_list(self, dl: Tag) -> None:
        """Each term with its description as one paragraph, so chunks keep them together."""
        previous = ""
        for item in dl.find_all(["dt", "dd"], recursive=False):
            outer, self.buf = self.buf, []
            self.walk(item)
            text = re.sub(r"\n+", "\n", _clean("".join(self.buf)))
            self.buf = outer
            if item.name == "dt":
                self.buf.append(("\n" if previous == "dt" else "\n\n") + text)
            else:
                self.buf.append("\n" + text)
            previous = item.name
        self.buf.append("\n\n")


def parse(data: bytes, fallback_title: str) -> ParsedDocument:
    with warnings.catch_warnings():
        # XHTML pages (AsciiDoc's output, say) parse fine as HTML
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(decode(data), "lxml")
    head_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    main = _main_content(soup)
    root = main or soup.body or soup
    _drop_chrome(root)
    h1s = root.find_all("h1")
    # A lone <h1> is the page's title; several are sections.
    title_h1 = h1s[0] if len(h1s) == 1 else None
    h1_title = _heading_text(title_h1) if title_h1 else ""
    if main is not None and h1_title:
        title = h1_title  # generators title pages "Page - Site": the page's own h1 is cleaner
    else:
        title = head_title or h1_title or fallback_title
    renderer = _Renderer(title_h1)
    renderer.walk(root)
    renderer.flush()
    return ParsedDocument(title=title, sections=tuple(renderer.sections))


def _main_content(soup: BeautifulSoup) -> Tag | None:
    """The page's own content when it marks it (documentation generators all do)."""
    for selector in _MAIN:
        found = soup.select_one(selector)
        if found is not None and found.get_text(strip=True):
            return found
    return None


def _drop_chrome(root: Tag) -> None:
    """Remove navigation, sidebars, page headers and footers, previous/next and
    "edit this page" blocks, and heading permalinks: none is content or a heading."""
    doomed: list[Tag] = []
    for tag in root.find_all(True):
        if not isinstance(tag, Tag) or tag.attrs is None:
            continue  # inside an element already removed
        if _is_chrome(tag):
            doomed.append(tag)
    for tag in doomed:
        tag.decompose()


def _is_chrome(tag: Tag) -> bool:
    if tag.name in {"nav", "aside", "footer"}:
        return True
    if tag.name == "header" and tag.find(list(_HEADINGS)) is None:
        return True  # an article's <header> holding its title stays
    if str(tag.get("role", "")).lower() in _CHROME_ROLES:
        return True
    names = " ".join([*tag.get_attribute_list("class"), str(tag.get("id", ""))]).lower()
    if names and _CHROME_NAMES.search(names):
        return True
    return tag.name == "a" and bool(_EDIT_LINK.match(tag.get_text(" ", strip=True)))


def _heading_text(tag: Tag) -> str:
    return _PERMALINK.sub("", tag.get_text(" ", strip=True)).strip()
