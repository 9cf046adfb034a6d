"""Errors of the inference client, translated once from the openai library's."""

from __future__ import annotations


class InferenceError(Exception):
    code = "model_unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InferenceUnavailable(InferenceError):
    """The server cannot be reached, timed out, or answered with an error."""
