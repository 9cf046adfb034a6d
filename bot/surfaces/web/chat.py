"""Chat in the browser: ask (the answer streams as server-sent events), quotes and
citations linking to their passages, thread memory per conversation, 👍/👎 and corrections."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sse_starlette import EventSourceResponse

from bot.domain import labels
from bot.domain.answering import Answer, Source, message_text
from bot.domain.conversation import friendly
from bot.domain.errors import LearnLoopError, UnknownAnswer
from bot.domain.grounded import QUOTES_LEAD, Quoted
from bot.domain.web import new_secret
from bot.services.chat import Answered
from bot.surfaces.web.pages import cited, page, templates
from bot.surfaces.web.session import Viewer, poster, viewer

log = logging.getLogger(__name__)
router = APIRouter()


def source_link(s: Source) -> str:
    return f"/source/{s.chunk_id}" if s.chunk_id else ""


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> HTMLResponse:
    return page(request, "chat.html", conversation=new_secret()[:16])


@router.post("/ask", response_class=HTMLResponse)
async def ask(
    request: Request,
    who: Annotated[Viewer, Depends(poster)],
    question: Annotated[str, Form()] = "",
    conversation: Annotated[str, Form()] = "",
) -> HTMLResponse:
    question = question.strip()
    if not question:
        return HTMLResponse('<p class="error" role="alert">Type a question first.</p>', 400)
    # held in the store, not this process: any replica may serve the stream
    questions = request.app.state.parts.web_questions
    ask_id = await questions.hold(who.actor, conversation[:64] or "web", question)
    return templates.TemplateResponse(
        request, "turn.html", {"question": question, "stream": f"/ask/{ask_id}/stream"}
    )


@router.get("/ask/{ask_id}/stream")
async def stream(
    request: Request, ask_id: str, who: Annotated[Viewer, Depends(viewer)]
) -> EventSourceResponse:
    found = await request.app.state.parts.web_questions.take(who.actor, ask_id)
    if found is None:
        raise UnknownAnswer("no such question waiting")
    conversation, question = found
    chat = request.app.state.parts.chat
    place = who.session.place(conversation)

    async def events() -> AsyncIterator[dict[str, Any]]:
        try:
            async for event in chat.ask(who.actor, place, question):
                if isinstance(event, Quoted):
                    yield {"event": "quotes", "data": quotes_html(request, event)}
                elif isinstance(event, Answered):
                    yield {"event": "done", "data": final_html(request, who, event)}
                else:
                    yield {"event": "text", "data": json.dumps(event)}
        except LearnLoopError as exc:
            log.warning("web answer failed code=%s", exc.code)
            yield {"event": "failed", "data": friendly(exc.code, exc.message)}

    return EventSourceResponse(events(), ping=10)


def quotes_html(request: Request, event: Quoted) -> str:
    return _render(request, "quotes.html", lead=QUOTES_LEAD, quotes=_quotes(event))


def _quotes(event: Quoted) -> list[dict[str, Any]]:
    """Each quote with its passage's number, link and place, as the templates show them."""
    return [
        {"text": q.text, "n": s.n, "href": source_link(s), "where": where(s)}
        for q, s in zip(event.quotes, event.sources, strict=True)
    ]


def where(s: Source) -> str:
    return labels.where(s.title or s.source, s.section)


def final_html(request: Request, who: Viewer, done: Answered) -> str:
    answer: Answer = done.answer
    listed = answer.citations or answer.consulted
    links = {s.n: source_link(s) for s in (*answer.given, *listed, *answer.quoted_sources)}
    quotes = _quotes(Quoted(answer.quotes, answer.quoted_sources))
    return _render(
        request,
        "answer.html",
        text=cited(message_text(answer), links),  # the quotes lead it, never repeated
        quotes=quotes,
        lead=QUOTES_LEAD,
        sources=[{"n": s.n, "href": source_link(s), "where": where(s)} for s in listed],
        kind="cited" if answer.citations else "consulted",
        topics=answer.topics,
        answer_id=done.answer_id,
        csrf=who.session.csrf,
    )


def _render(request: Request, name: str, **context: Any) -> str:
    return templates.get_template(name).render(request=request, **context)


@router.post("/feedback", response_class=HTMLResponse)
async def feedback(
    request: Request,
    who: Annotated[Viewer, Depends(poster)],
    answer_id: Annotated[str, Form()],
    rating: Annotated[str, Form()],
    correction: Annotated[str, Form()] = "",
) -> HTMLResponse:
    correction = correction.strip()
    if rating not in ("up", "down", "correction"):
        return HTMLResponse('<p class="error" role="alert">Pick 👍 or 👎.</p>', 400)
    if rating == "correction" and not correction:
        return HTMLResponse(
            '<p class="error" role="alert">Write the correction in the box, then send it.</p>',
            400,
        )
    await request.app.state.parts.chat.feedback(who.actor, answer_id, rating, correction)
    thanks = {
        "up": "Thanks for the 👍.",
        "down": "Thanks: marked 👎. A correction below helps even more.",
        "correction": "Thanks: your correction was recorded for review and training.",
    }[rating]
    return HTMLResponse(f'<p class="notice" role="status">{thanks}</p>')


@router.get("/source/{chunk_id}", response_class=HTMLResponse)
async def source(
    request: Request, chunk_id: str, who: Annotated[Viewer, Depends(viewer)]
) -> HTMLResponse:
    console = request.app.state.parts.console
    found = await console.source(who.actor, who.session.place(""), chunk_id)
    return page(request, "source.html", chunk=found)
