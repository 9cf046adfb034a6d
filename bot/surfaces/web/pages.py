"""Templates and the one place errors become pages (a sentence, never a traceback)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from bot.domain.conversation import friendly
from bot.domain.errors import LearnLoopError

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")

STATUS = {
    "signed_out": 401,
    "sign_in_refused": 403,
    "not_allowed": 403,
    "bad_form_token": 403,
    "rate_limited": 429,
    "unsupported_upload": 400,
    "not_kept": 409,
    "job_not_retryable": 409,
    "unknown_document": 404,
    "unknown_answer": 404,
    "job_not_found": 404,
}
WORDS = {
    "signed_out": "Please sign in: say *web* to LearnLoop in a Slack or Teams DM, or run "
    "`learnloop web link USER`, and open the link it gives.",
    "bad_form_token": "That form has expired or did not come from this page; reload it and "
    "try again.",
    "unknown_document": "That document or passage is not in the material (any more).",
    "not_allowed_source": "That passage is not part of the material you may see.",
}


def words(exc: LearnLoopError) -> str:
    if exc.code in WORDS:
        return WORDS[exc.code]
    if exc.code in ("not_kept", "job_not_retryable"):
        return exc.message[:1].upper() + exc.message[1:] + "."
    return friendly(exc.code, exc.message)


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None)
    return templates.TemplateResponse(
        request, name, {"viewer": viewer, **context}, status_code=status
    )


async def error_page(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, LearnLoopError)  # noqa: S101 - registered for it only
    status = STATUS.get(exc.code, 503)
    log.info("web %s %s -> %d (%s)", request.method, request.url.path, status, exc.code)
    text = (
        WORDS["not_allowed_source"]
        if (exc.code == "not_allowed" and request.url.path.startswith("/source/"))
        else words(exc)
    )
    if request.headers.get("hx-request"):
        return HTMLResponse(f'<p class="error" role="alert">{escape(text)}</p>', status)
    return page(request, "error.html", status, message=text)


_CITATION = re.compile(r"\[(\d{1,3})\]")


def cited(text: str, links: dict[int, str]) -> Markup:
    """Answer text, escaped, as paragraphs and quotes (its "> " lines), each [n] a link to
    its passage."""

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        href = links.get(n)
        return f'<a href="{escape(href)}">[{n}]</a>' if href else match.group(0)

    blocks = []
    for line in text.splitlines():
        if not line.strip():
            continue
        quote = line.startswith("> ")
        body = _CITATION.sub(link, str(escape(line.removeprefix("> "))))
        blocks.append(f"<blockquote><p>{body}</p></blockquote>" if quote else f"<p>{body}</p>")
    return Markup("\n".join(blocks))  # noqa: S704 - every piece escaped above
