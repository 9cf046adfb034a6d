"""Admins' material pages: documents, upload, preview, re-ingest, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.domain.errors import UnsupportedUpload
from bot.surfaces.web.pages import page
from bot.surfaces.web.session import Viewer, admin, admin_poster

router = APIRouter()


def audiences_of(text: str) -> tuple[str, ...]:
    from retrieval.errors import RetrievalError
    from retrieval.store import normalise_audiences

    names = [a for a in text.replace(";", ",").split(",") if a.strip()] or ["everyone"]
    try:
        return normalise_audiences(names)
    except RetrievalError as exc:
        raise UnsupportedUpload(exc.message) from exc


@router.get("/material", response_class=HTMLResponse)
async def material(request: Request, who: Annotated[Viewer, Depends(admin)]) -> HTMLResponse:
    console = request.app.state.parts.console
    rows = await console.material(who.actor)
    jobs = [j for j in await console.job_list(who.actor, limit=20) if j.kind == "ingest"]
    return page(request, "material.html", rows=rows, jobs=jobs)


@router.post("/material/upload")
async def upload(
    request: Request,
    who: Annotated[Viewer, Depends(admin_poster)],
    file: Annotated[UploadFile, File()],
    audiences: Annotated[str, Form()] = "everyone",
) -> Response:
    console = request.app.state.parts.console
    name = file.filename or ""
    groups = audiences_of(audiences)
    # the chat upload's checks, before reading the body (type, size, admin)
    console.chat.check_upload(who.actor, name, file.size or 0)
    data = await file.read()
    job = await console.upload(who.actor, who.session.place(""), name, data, groups)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/material/{doc_id}", response_class=HTMLResponse)
async def preview(
    request: Request, doc_id: str, who: Annotated[Viewer, Depends(admin)]
) -> HTMLResponse:
    doc, chunks = await request.app.state.parts.console.preview(who.actor, doc_id)
    return page(request, "document.html", doc=doc, chunks=chunks)


@router.post("/material/{doc_id}/reingest")
async def reingest(
    request: Request, doc_id: str, who: Annotated[Viewer, Depends(admin_poster)]
) -> Response:
    job = await request.app.state.parts.console.reingest(who.actor, doc_id)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/material/{doc_id}/delete", response_class=HTMLResponse)
async def confirm_delete(
    request: Request, doc_id: str, who: Annotated[Viewer, Depends(admin)]
) -> HTMLResponse:
    doc, _ = await request.app.state.parts.console.preview(who.actor, doc_id)
    return page(request, "delete.html", doc=doc)


@router.post("/material/{doc_id}/delete")
async def delete(
    request: Request, doc_id: str, who: Annotated[Viewer, Depends(admin_poster)]
) -> Response:
    await request.app.state.parts.console.delete(who.actor, doc_id)
    return RedirectResponse("/material", status_code=303)
