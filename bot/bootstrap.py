"""Wires the retrieval stack from settings; the one place that builds it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.adapters.model import ClientChatModel, LazyModel
from bot.adapters.search import SearchRetriever
from bot.runtime.inference import EmbeddedServer, healthy
from bot.services.answers import AnswerService
from bot.services.chat import ChatService
from bot.services.grounding import Grounder
from bot.services.jobs import JobService
from bot.services.learning import LearningService
from bot.services.reports import ReportService
from bot.settings import Settings
from inference.client import ChatClient
from inference.models import SERVED_NAME, served_name
from inference.settings import InferenceSettings
from retrieval.embedding import (
    Embedder,
    LearnLoopEmbeddingFunction,
    one_torch_thread,
    resolve_embedding_path,
)
from retrieval.ingest import Ingestor, parser_from_settings
from retrieval.relevance import RelevancePolicy
from retrieval.search import HybridSearcher
from retrieval.settings import RetrievalSettings
from retrieval.store import ChunkStore, connect


@dataclass(frozen=True)
class Retrieval:
    store: ChunkStore
    embedder: Embedder
    ingestor: Ingestor
    searcher: HybridSearcher


def configure_logging(level: str) -> None:
    # bm25s sets its own logger to DEBUG when imported: import it before setting levels
    import bm25s  # noqa: F401
    from transformers.utils import logging as hf_logging

    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    quiet = max(logging.WARNING, logging.getLogger().level)
    for noisy in ("httpx", "chromadb", "sentence_transformers", "transformers", "bm25s"):
        logging.getLogger(noisy).setLevel(quiet)
    hf_logging.disable_progress_bar()  # "Loading weights" bars would garble the chat


def limit_blas_threads() -> None:
    """Run numpy's BLAS on one thread. Its work here is tiny (one matrix-vector product
    per search), but OpenBLAS threads keep spinning after each call and steal the cores
    torch needs for the next query embedding: on two cores, search p50 drops from ~55 ms
    to ~25 ms with this (benchmarks/retrieval_bench.py)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def build_retrieval(settings: Settings, rs: RetrievalSettings) -> Retrieval:
    limit_blas_threads()
    embedder = Embedder(resolve_embedding_path(rs.embedding_model))
    return build_retrieval_from(
        embedder, path=chroma_path(settings.data_dir), url=rs.chroma_url, rs=rs
    )


def build_retrieval_from(
    embedder: Embedder,
    *,
    path: Path | None = None,
    url: str = "",
    rs: RetrievalSettings | None = None,
) -> Retrieval:
    """The retrieval stack over an already-built embedder (shared by tests and processes)."""
    rs = rs or RetrievalSettings.model_construct()
    ef = LearnLoopEmbeddingFunction(str(embedder.model_path), embedder)
    store = ChunkStore(connect(path=path, url=url), ef)
    policy = RelevancePolicy(
        strong_similarity=rs.relevance_strong,
        min_similarity=rs.relevance_min,
        max_rare_missing=rs.relevance_max_rare_missing,
    )
    ingestor = Ingestor(
        store,
        embedder,
        max_bytes=int(rs.max_upload_mb * 1024 * 1024),
        chunk_size=rs.chunk_size,
        chunk_overlap=rs.chunk_overlap,
        parser=parser_from_settings(rs),
    )
    searcher = HybridSearcher(
        store,
        embedder,
        policy,
        common_words=embedder.common_words(),
        check_interval=rs.index_check_ms / 1000,
    )
    return Retrieval(store, embedder, ingestor, searcher)


def chroma_path(data_dir: Path) -> Path:
    return data_dir / "chroma"


def model_endpoint(isettings: InferenceSettings) -> tuple[str, str, EmbeddedServer | None]:
    """(base URL, model name, the embedded server to start on first need or None)."""
    if isettings.inference_url:
        return isettings.inference_url, isettings.inference_model or SERVED_NAME, None
    url = f"http://127.0.0.1:{isettings.inference_port}/v1"
    server = None if healthy(url) else EmbeddedServer(isettings.inference_port)
    return url, served_name(isettings.generation_model), server


def build_answering(
    retrieval: Retrieval,
    isettings: InferenceSettings,
    search_threads: int = 1,
    grounding: bool = True,
) -> tuple[AnswerService, EmbeddedServer | None]:
    """The answering service; with no LEARNLOOP_INFERENCE_URL, over the embedded server
    (reused when one already runs, else started on first need and returned for stopping)."""
    key = isettings.inference_api_key.get_secret_value()
    url, name, server = model_endpoint(isettings)

    def connect() -> ClientChatModel:
        base = server.start() if server is not None else url
        return ClientChatModel(ChatClient(base, name, key, isettings.inference_timeout))

    model = LazyModel(connect, name)
    retriever = SearchRetriever(retrieval.searcher, search_threads)
    retriever.warm_up()
    grounder = Grounder(retrieval.embedder, initializer=one_torch_thread) if grounding else None
    return AnswerService(retriever, model, grounder=grounder), server


@dataclass
class ChatStack:
    """What a chat surface process needs: the chat service and what must be closed."""

    chat: ChatService
    jobs: JobService
    server: EmbeddedServer | None
    learning: LearningService
    reports: ReportService

    async def aclose(self) -> None:
        await self.chat.answers.aclose()
        self.jobs.close()
        if self.server is not None:
            self.server.stop()


def build_chat(
    settings: Settings, rs: RetrievalSettings, isettings: InferenceSettings
) -> ChatStack:
    """The chat service over retrieval, the model, the SQL store and the job queue."""
    from bot.adapters.material import CatalogMaterial
    from bot.adapters.quiz_writer import ModelQuizWriter
    from bot.adapters.store import database_url, open_store
    from bot.adapters.store.access import AccessRepository
    from bot.adapters.store.quiz import QuizRepository
    from bot.adapters.store.threads import ThreadRepository
    from bot.services.jobs import build_jobs

    retrieval = build_retrieval(settings, rs)
    answers, server = build_answering(retrieval, isettings, settings.search_threads)
    jobs = build_jobs(settings)
    _, sessions = open_store(
        database_url(settings.database_url, settings.data_dir),
        migrate=settings.migrate_on_start,
    )
    access = AccessRepository(sessions)
    chat = ChatService(
        answers,
        jobs,
        access,
        ThreadRepository(sessions),
        admins=settings.admin_keys(),
        max_upload_bytes=int(rs.max_upload_mb * 1024 * 1024),
    )
    writer = None
    if settings.quiz_writer == "model" or (
        settings.quiz_writer == "auto" and isettings.inference_url
    ):
        key = isettings.inference_api_key.get_secret_value()
        url, name, _ = model_endpoint(isettings)
        writer = ModelQuizWriter(ChatClient(url, name, key, isettings.inference_timeout))
    learning = LearningService(
        QuizRepository(sessions),
        access,
        CatalogMaterial(retrieval),
        writer,
    )
    reports = ReportService(sessions, admins=settings.admin_keys())
    return ChatStack(chat, jobs, server, learning, reports)
