"""Inference settings (LEARNLOOP_*)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class InferenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEARNLOOP_", extra="ignore")

    # empty: the packaged SmolLM2-135M-Instruct, converted once into the data dir
    generation_model: str = ""
    # the OpenAI-compatible API to use (vLLM in production); empty: the embedded server
    inference_url: str = ""
    inference_model: str = ""  # the served model name; empty: the embedded server's
    inference_api_key: SecretStr = SecretStr("")
    inference_timeout: float = 120.0  # a whole answer
    # a streamed answer's first words (and any silence after them): the asker hears that
    # the model is not answering within this, not after the whole timeout
    first_token_seconds: float = 20.0
    answer_tokens: int = Field(default=200, ge=16)  # the longest answer the model may write
    inference_port: int = 8088  # where `learnloop serve-inference` listens by default
