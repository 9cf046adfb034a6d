"""Inference settings (LEARNLOOP_*)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class InferenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEARNLOOP_", extra="ignore")

    # empty: the packaged SmolLM2-135M-Instruct, converted once into the data dir
    generation_model: str = ""
