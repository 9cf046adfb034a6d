"""Admins' pages: jobs (state, progress, errors, retry), feedback review, the action log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.domain.jobs import FINAL
from bot.surfaces.web.pages import page, templates
from bot.surfaces.web.session import Viewer, admin, admin_poster

router = APIRouter()


@router.get("/jobs", response_class=HTMLResponse)
async def jobs(request: Request, who: Annotated[Viewer, Depends(admin)]) -> HTMLResponse:
    found = await request.app.state.parts.console.job_list(who.actor)
    return page(request, "jobs.html", jobs=found)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job(request: Request, job_id: str, who: Annotated[Viewer, Depends(admin)]) -> Response:
    found = await request.app.state.parts.console.job(who.actor, job_id)
    context = {"job": found, "final": found.status in FINAL, "csrf": who.session.csrf}
    if request.headers.get("hx-request"):  # the progress panel polls itself
        return templates.TemplateResponse(request, "job_panel.html", context)
    return page(request, "job.html", **context)


@router.post("/jobs/{job_id}/retry")
async def retry(
    request: Request, job_id: str, who: Annotated[Viewer, Depends(admin_poster)]
) -> Response:
    await request.app.state.parts.console.retry(who.actor, job_id)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/review", response_class=HTMLResponse)
async def review(request: Request, who: Annotated[Viewer, Depends(admin)]) -> HTMLResponse:
    items = await request.app.state.parts.console.to_review(who.actor)
    return page(request, "review.html", items=items)


@router.post("/review/{answer_id}")
async def correct(
    request: Request,
    answer_id: str,
    who: Annotated[Viewer, Depends(admin_poster)],
    correction: Annotated[str, Form()] = "",
) -> Response:
    if not correction.strip():
        return page(request, "error.html", 400, message="Write the correct answer, then send it.")
    await request.app.state.parts.console.correct(who.actor, answer_id, correction)
    return RedirectResponse("/review", status_code=303)


@router.get("/actions", response_class=HTMLResponse)
async def actions(request: Request, who: Annotated[Viewer, Depends(admin)]) -> HTMLResponse:
    found = await request.app.state.parts.web_signin.recent_actions(who.actor)
    return page(request, "actions.html", actions=found)
