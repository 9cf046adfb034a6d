"""Signing in with a one-time link, and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from bot.surfaces.web.session import COOKIE, Viewer, poster, signin_of

router = APIRouter()


@router.get("/signin")
async def signin(request: Request, token: str = "") -> Response:
    """Redeem the link (once), set the session cookie, go to the chat."""
    service = signin_of(request)
    session_id, _ = await service.redeem(token)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(service.session_lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=service.base_url.startswith("https://"),
        path="/",
    )
    response.headers["Referrer-Policy"] = "no-referrer"  # the used token stays here
    return response


@router.post("/signout")
async def signout(request: Request, who: Annotated[Viewer, Depends(poster)]) -> Response:
    await signin_of(request).sign_out(request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/signed-out", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/signed-out")
async def signed_out(request: Request) -> Response:
    from bot.surfaces.web.pages import page

    return page(request, "error.html", message="You are signed out.", title="Signed out")
