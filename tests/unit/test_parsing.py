import pytest

from retrieval.errors import CorruptFile, EmptyDocument, UnsupportedFileType
from retrieval.parse import parse
from tests.docs import make_docx, make_pdf, make_pptx


def sections(doc):
    return {s.name: s.text for s in doc.sections}


def test_markdown_keeps_heading_path_and_title():
    md = b"""# Onboarding guide

Intro text.

## Laptops
Ask IT for a laptop.

### Passwords
Use the password manager.

```
# not a heading inside code
```

Setext section
--------------
Body under setext.
"""
    doc = parse("guide.md", md)
    assert doc.title == "Onboarding guide"
    got = sections(doc)
    assert got[""] == "Intro text."
    assert got["Laptops"] == "Ask IT for a laptop."
    assert got["Laptops › Passwords"].startswith("Use the password manager.")
    assert "# not a heading inside code" in got["Laptops › Passwords"]
    assert got["Setext section"] == "Body under setext."


def test_plain_text_uses_file_name_as_title():
    doc = parse("notes.txt", b"Line one.\n\nLine two.")
    assert doc.title == "notes"
    assert doc.sections[0].text == "Line one.\n\nLine two."


def test_text_in_latin1_is_decoded():
    doc = parse("old.txt", "Café policy".encode("cp1252"))
    assert "Café" in doc.sections[0].text


def test_html_headings_definition_lists_and_dropped_chrome():
    html = b"""<html><head><title>Expense policy</title><style>p{}</style></head>
<body><nav>Home | About</nav><h1>Expense policy</h1>
<p>All staff.</p>
<h2>Travel</h2><p>Book trains.</p>
<h3>Hotels</h3><dl><dt>--max-rate</dt><dd><p>Nightly cap is <b>150</b> EUR.</p></dd></dl>
<script>alert(1)</script></body></html>"""
    doc = parse("policy.html", html)
    assert doc.title == "Expense policy"
    got = sections(doc)
    assert got[""] == "All staff."
    assert got["Travel"] == "Book trains."
    assert got["Travel › Hotels"] == "--max-rate\nNightly cap is 150 EUR."
    assert not any("alert" in t or "Home | About" in t for t in got.values())


def test_docx_headings_and_core_title():
    data = make_docx(
        "Security handbook",
        [("h1", "Access"), ("p", "Badges open doors."), ("h2", "Visitors"), ("p", "Sign in.")],
    )
    doc = parse("handbook.docx", data)
    assert doc.title == "Security handbook"
    assert sections(doc) == {"Access": "Badges open doors.", "Access › Visitors": "Sign in."}


def test_pptx_one_section_per_slide():
    data = make_pptx("Sales deck", [("Pricing", "Tier one costs 10."), ("Support", "Email us.")])
    doc = parse("deck.pptx", data)
    assert doc.title == "Sales deck"
    assert sections(doc) == {
        "Slide 1: Pricing": "Tier one costs 10.",
        "Slide 2: Support": "Email us.",
    }


def test_pdf_outline_gives_sections():
    data = make_pdf("Safety manual", [("Fire exits", "Use the stairs."), ("First aid", "Kits.")])
    doc = parse("safety.pdf", data)
    assert doc.title == "Safety manual"
    got = sections(doc)
    assert "Use the stairs." in got["Fire exits"]
    assert "Kits." in got["First aid"]


@pytest.mark.parametrize(
    ("name", "data", "error", "words"),
    [
        ("drawing.svg", b"<svg></svg>", UnsupportedFileType, "unsupported file type .svg"),
        ("Makefile", b"all:", UnsupportedFileType, "(none)"),
        ("empty.md", b"   \n", EmptyDocument, "empty"),
        ("blank.html", b"<html><body><script>x()</script></body></html>", EmptyDocument, "no text"),
        ("fake.pdf", b"this is not a pdf at all", CorruptFile, "not a PDF"),
        ("broken.pdf", b"%PDF-1.7\n garbage garbage", CorruptFile, "broken.pdf"),
        ("broken.docx", b"PK\x03\x04 not really a zip", CorruptFile, "corrupt"),
        ("broken.pptx", b"\x00\x01\x02", CorruptFile, "broken.pptx"),
        ("binary.txt", b"abc\x00\x00\x01def", CorruptFile, "binary"),
    ],
)
def test_bad_input_names_the_file_and_the_reason(name, data, error, words):
    with pytest.raises(error) as info:
        parse(name, data)
    assert words in info.value.message
    assert info.value.message.startswith(f"{name}: ")
    assert info.value.source == name
