"""Signing in with a one-time link, and out."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.surfaces.web.session import COOKIE, BadFormToken, Viewer, poster, signin_of

router = APIRouter()


@router.get("/signin")
async def confirm(request: Request, token: str = "") -> Response:
    """The link's page: a button that signs in. Opening a link signs nobody in, so a chat
    app's link preview or a mail scanner that fetches it cannot spend it."""
    from bot.surfaces.web.pages import page

    # the console's same-origin referrer policy keeps the token on this site; "no-referrer"
    # would make the browser post with `Origin: null`, which the sign-in must refuse
    return page(request, "signin.html", token=token)


@router.post("/signin")
async def signin(request: Request, token: Annotated[str, Form()] = "") -> Response:
    """Redeem the link (once), set the session cookie, go to the chat. A browser posting
    from another site is refused, so no one can sign a person in as someone else."""
    service = signin_of(request)
    if not same_site(request.headers.get("origin", ""), service.base_url, request):
        raise BadFormToken("sign-in posted from another site")
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
    return response


def same_site(origin: str, base_url: str, request: Request) -> bool:
    """A post with no Origin (not a browser's cross-site form) or from this console: its
    public address, or the address the request reached."""
    if not origin:
        return True
    public = urlsplit(base_url)
    reached = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin in (f"{public.scheme}://{public.netloc}", reached)


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
