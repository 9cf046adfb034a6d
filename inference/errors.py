"""Errors of inference: the client's, translated once from the openai library's, and a
missing model on disk."""

from __future__ import annotations


class InferenceError(Exception):
    code = "inference_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelUnavailable(InferenceError):
    """The server cannot be reached, timed out, is overloaded, or failed (after retries)."""

    code = "model_unavailable"


class BadRequest(InferenceError):
    """The server refused the request as malformed (HTTP 400/422): retrying will not help."""

    code = "bad_request"


class ModelNotFound(InferenceError):
    """No such model: a request names a model or LoRA adapter the server does not serve
    (HTTP 404), or the generation model to load is not on disk."""

    code = "model_not_found"


class StructuredOutputError(InferenceError):
    """Structured output came back unfinished or not matching the requested type."""

    code = "structured_output_invalid"
