"""Request and error shapes of vLLM's OpenAI-compatible API (the subset LearnLoop uses)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: only text parts carry meaning here
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    # vLLM accepts unknown fields (logging that it ignores them) rather than failing
    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = None
    repetition_penalty: float = Field(default=1.0, gt=0.0, le=2.0)  # vLLM's extra parameter
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: dict[str, Any] | None = None
    structured_outputs: dict[str, Any] | None = None

    def ignored_fields(self) -> set[str]:
        return set(self.model_extra or ())


class LoadLoRARequest(BaseModel):
    lora_name: str = ""
    lora_path: str = ""
    load_inplace: bool = False


class UnloadLoRARequest(BaseModel):
    lora_name: str = ""
    lora_int_id: int | None = None


def error(
    status: int, message: str, kind: str = "BadRequestError", param: str | None = None
) -> JSONResponse:
    """vLLM's ErrorResponse: {"error": {"message", "type", "param", "code"}}."""
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": param, "code": status}},
        status_code=status,
    )
