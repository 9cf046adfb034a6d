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
    relevance_strong: float = 0.42
    relevance_min: float = 0.36
    relevance_max_rare_missing: int = 0
