"""Who is asking: the session cookie, the form token (CSRF) and the admin check."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request

from bot.domain.conversation import Actor
from bot.domain.errors import LearnLoopError, NotAllowed
from bot.domain.web import WebSession
from bot.services.web import WebSignIn

COOKIE = "learnloop_session"


class SignedOut(LearnLoopError):
    """No session, or one that expired: the page asks for a sign-in link."""

    code = "signed_out"


class BadFormToken(LearnLoopError):
    """A form posted without this session's token (CSRF)."""

    code = "bad_form_token"


@dataclass(frozen=True)
class Viewer:
    session: WebSession
    admin: bool

    @property
    def actor(self) -> Actor:
        return self.session.actor


def signin_of(request: Request) -> WebSignIn:
    signin: WebSignIn = request.app.state.parts.web_signin
    return signin


async def viewer(request: Request) -> Viewer:
    """The signed-in viewer (a FastAPI dependency); `SignedOut` without a live session."""
    signin = signin_of(request)
    session = await signin.session(request.cookies.get(COOKIE, ""))
    if session is None:
        raise SignedOut("no live session")
    found = Viewer(session, signin.is_admin(session.actor))
    request.state.viewer = found  # for the error pages' navigation
    return found


async def poster(request: Request) -> Viewer:
    """The viewer of a form post, which must carry the session's token (field or header)."""
    who = await viewer(request)
    sent = request.headers.get("x-csrf-token", "")
    if not sent:
        form = await request.form()  # parsed once: the route's Form fields read it again
        value = form.get("csrf", "")
        sent = value if isinstance(value, str) else ""
    if not sent or not secrets.compare_digest(sent, who.session.csrf):
        raise BadFormToken("form token missing or wrong")
    return who


async def admin(request: Request) -> Viewer:
    who = await viewer(request)
    if not who.admin:
        raise NotAllowed(f"{who.actor.key} is not an admin")
    return who


async def admin_poster(request: Request) -> Viewer:
    who = await poster(request)
    if not who.admin:
        raise NotAllowed(f"{who.actor.key} is not an admin")
    return who
