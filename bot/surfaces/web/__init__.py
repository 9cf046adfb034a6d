"""The web console: FastAPI pages over the same services as the chat surfaces."""

from bot.surfaces.web.app import build_web_app, serve

__all__ = ["build_web_app", "serve"]
