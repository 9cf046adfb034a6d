"""Retrieval settings (LEARNLOOP_*)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class RetrievalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEARNLOOP_", extra="ignore")

    chroma_url: str = ""
    embedding_model: str = ""
    max_upload_mb: float = 25.0
    chunk_size: int = 900
    chunk_overlap: int = 150
    relevance_strong: float = 0.62
    relevance_min: float = 0.40
    relevance_max_missing: float = 0.0
