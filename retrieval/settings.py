"""Retrieval settings (LEARNLOOP_*)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RetrievalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEARNLOOP_", extra="ignore")

    chroma_url: str = ""
    # every request to the Chroma server (LEARNLOOP_CHROMA_URL) is answered within this or
    # fails: a server that accepts and never answers must not hold a question forever
    chroma_timeout_seconds: float = Field(default=10.0, gt=0)
    embedding_model: str = ""
    max_upload_mb: float = 25.0
    chunk_size: int = 900
    chunk_overlap: int = 150
    relevance_strong: float = 0.42
    relevance_min: float = 0.36
    relevance_max_rare_missing: int = 0
    # Another process's ingest or delete reaches this process's searches within this bound.
    index_check_ms: int = Field(default=500, ge=0)
    # Parsing in sandboxed child processes (retrieval/parse/sandbox.py); off: in-process.
    parse_sandbox: bool = True
    parse_workers: int = Field(default=2, ge=1, le=32)
    parse_memory_mb: int = Field(default=1024, ge=128)
    parse_cpu_seconds: int = Field(default=60, ge=1)
    # The knowledge graph (retrieval/graph): "structural" extracts it at ingestion and
    # ranks with it at search; "off" does neither. On by default: it found both pages of
    # every held-out two-page question (0.875 without it) with hit@5 unchanged, for
    # 12-20% more ingestion time (benchmarks/graph_bench.py; figures in the README).
    graph: Literal["structural", "off"] = "structural"
    # An OpenAI-compatible server (vLLM) whose model adds entities and relations per
    # chunk at ingestion, under a JSON schema; empty: the structural extractor alone.
    graph_llm_url: str = ""
    graph_llm_model: str = ""
    # Text in images (retrieval/ocr): the engine, its languages, OCR seconds per file.
    ocr_engine: Literal["tesseract", "rapidocr", "none"] = "tesseract"
    ocr_languages: str = Field(default="eng", pattern=r"^[A-Za-z_]+(\+[A-Za-z_]+)*$")
    ocr_seconds: float = Field(default=300.0, ge=0)
