"""Errors raised by ingestion and search, each with a stable code."""

from __future__ import annotations


class RetrievalError(Exception):
    code = "retrieval_error"

    def __init__(self, message: str, *, source: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.source = source


class UnsupportedFileType(RetrievalError):
    code = "unsupported_file_type"


class FileTooLarge(RetrievalError):
    code = "file_too_large"


class CorruptFile(RetrievalError):
    code = "corrupt_file"


class OverLimit(RetrievalError):
    """A file would take more memory, CPU time or output than parsing is allowed."""

    code = "over_limit"


class NameConflict(RetrievalError):
    """Two different files in one batch would be the same document."""

    code = "name_conflict"


class EmptyDocument(RetrievalError):
    code = "empty_document"


class InvalidAudience(RetrievalError):
    code = "invalid_audience"


class ModelMissing(RetrievalError):
    code = "model_missing"


class IndexUnavailable(RetrievalError):
    code = "index_unavailable"
