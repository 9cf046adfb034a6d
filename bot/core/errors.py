"""The domain's errors: one small hierarchy, each with a stable code adapters map to text."""

from __future__ import annotations


class LearnLoopError(Exception):
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelUnavailable(LearnLoopError):
    """The language model (embedded server or vLLM) cannot be reached or failed."""

    code = "model_unavailable"


class IndexUnavailable(LearnLoopError):
    code = "index_unavailable"
