"""Training's errors, each with a stable code the surfaces turn into one sentence."""

from __future__ import annotations


class TrainingError(Exception):
    code = "training_failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyDataset(TrainingError):
    code = "dataset_empty"


class BaseModelMismatch(TrainingError):
    code = "adapter_base_mismatch"


class UnknownAdapter(TrainingError):
    code = "adapter_unknown"


class NothingToRollBack(TrainingError):
    code = "rollback_impossible"
