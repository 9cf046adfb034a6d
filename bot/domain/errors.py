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


class StoreUnavailable(LearnLoopError):
    """The SQL database cannot be reached or migrated."""

    code = "store_unavailable"


class BrokerUnavailable(LearnLoopError):
    """The job queue's broker cannot be reached; the job is kept to be sent again."""

    code = "broker_unavailable"

    def __init__(self, message: str, job_id: str = "") -> None:
        super().__init__(message)
        self.job_id = job_id


class JobNotFound(LearnLoopError):
    code = "job_not_found"


class NotAllowed(LearnLoopError):
    """The person may not do this (e.g. upload material without being an admin)."""

    code = "not_allowed"


class UnsupportedUpload(LearnLoopError):
    """A shared file LearnLoop cannot ingest (type or size); nothing was queued."""

    code = "unsupported_upload"


class UnknownAnswer(LearnLoopError):
    """Feedback names an answer LearnLoop has no record of."""

    code = "unknown_answer"


class StaleQuestion(LearnLoopError):
    """A quiz button from a question that is no longer the current one."""

    code = "stale_question"


class NoMaterial(LearnLoopError):
    """Nothing to quiz on: no material the learner may see (on that topic)."""

    code = "no_material"


class RateLimited(LearnLoopError):
    """Asked too often (sign-in links): try again later."""

    code = "rate_limited"


class SignInRefused(LearnLoopError):
    """A sign-in link that is unknown, used or expired."""

    code = "sign_in_refused"
