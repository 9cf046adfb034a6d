"""The composition root: `build_app` is the one place that builds LearnLoop's parts."""

from __future__ import annotations

import logging
import os
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.domain.ports import ChatModel, Material, QuizWriter, Retriever
from bot.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from bot.adapters.notify import Notifier
    from bot.adapters.queue import CelerySender
    from bot.adapters.search import Retrieval
    from bot.adapters.store import FeedbackRepository, JobRepository
    from bot.adapters.store.access import AccessRepository
    from bot.adapters.store.quiz import QuizRepository
    from bot.adapters.store.review import ReviewRepository
    from bot.adapters.store.threads import ThreadRepository
    from bot.adapters.store.training import TrainingRecords
    from bot.adapters.store.web import WebRepository
    from bot.runtime.inference import EmbeddedServer
    from bot.runtime.ops import Check, OpsServer
    from bot.services.answers import AnswerService
    from bot.services.chat import ChatService
    from bot.services.console import Console
    from bot.services.grounding import Grounder
    from bot.services.jobs import JobService
    from bot.services.learning import LearningService
    from bot.services.reminders import DirectMessenger
    from bot.services.reports import ReportService
    from bot.services.training import TrainingService
    from bot.services.web import WebQuestions, WebSignIn
    from inference.client import ChatClient
    from inference.settings import InferenceSettings
    from retrieval.embedding import Embedder
    from retrieval.graph.ports import GraphStore
    from retrieval.settings import RetrievalSettings
    from training.registry import AdapterRegistry
    from training.settings import TrainingSettings

log = logging.getLogger(__name__)


def configure_logging(level: str, log_format: str = "text") -> None:
    # bm25s sets its own logger to DEBUG when imported: import it before setting levels
    import sys

    import bm25s  # noqa: F401

    from bot.runtime.logs import handler

    logging.basicConfig(level=level.upper(), handlers=[handler(log_format)])
    quiet = max(logging.WARNING, logging.getLogger().level)
    for noisy in ("httpx", "chromadb", "sentence_transformers", "transformers", "bm25s"):
        logging.getLogger(noisy).setLevel(quiet)
    # "Loading weights" bars would garble the chat. Through the environment when transformers
    # is not imported yet: importing it only to switch its bars off costs seconds in every
    # command, most of which never load a model
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    else:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def limit_blas_threads() -> None:
    """Run numpy's BLAS on one thread. Its work here is tiny (one matrix-vector product
    per search), but OpenBLAS threads keep spinning after each call and steal the cores
    torch needs for the next query embedding: on two cores, search p50 drops from ~55 ms
    to ~25 ms with this (benchmarks/retrieval_bench.py)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def build_retrieval_from(
    embedder: Embedder,
    *,
    path: Path | None = None,
    url: str = "",
    rs: RetrievalSettings | None = None,
    graph_store: GraphStore | None = None,
) -> Retrieval:
    """The retrieval stack over an already-built embedder (shared by tests and processes).
    Documents' graphs go to `graph_store` (an app's: the SQL store), else into Chroma."""
    from bot.adapters.search import Retrieval
    from retrieval.embedding import LearnLoopEmbeddingFunction
    from retrieval.graph.build import extractor_from_settings
    from retrieval.ingest import Ingestor, parser_from_settings
    from retrieval.relevance import RelevancePolicy
    from retrieval.search import HybridSearcher
    from retrieval.settings import RetrievalSettings
    from retrieval.store import ChunkStore, connect

    rs = rs or RetrievalSettings.model_construct()
    ef = LearnLoopEmbeddingFunction(str(embedder.model_path), embedder)
    client = connect(path=path, url=url, timeout=rs.chroma_timeout_seconds)
    store = ChunkStore(client, ef, graph_store)
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
        graph=extractor_from_settings(rs),
    )
    searcher = HybridSearcher(
        store,
        embedder,
        policy,
        common_words=embedder.common_words,  # read on the first search
        check_interval=rs.index_check_ms / 1000,
        graph_search=rs.graph != "off",
    )
    return Retrieval(store, embedder, ingestor, searcher)


def chroma_path(data_dir: Path) -> Path:
    return data_dir / "chroma"


class App:
    """Everything a LearnLoop process uses, each part built at most once and only when it is
    first used: `learnloop access grant` opens the store and loads no model, `learnloop
    search` loads the embedder and no language model, a refusal starts no inference server.

    Built by `build_app`; every entry point (the CLI, `up`, the Slack and Teams processes,
    the worker) and the tests get their services here. A test replaces any part by name:
    `build_app(settings, model=FakeChatModel(...), retriever=...)`."""

    def __init__(
        self,
        settings: Settings,
        retrieval_settings: RetrievalSettings,
        inference_settings: InferenceSettings,
    ) -> None:
        self.settings = settings
        self.retrieval_settings = retrieval_settings
        self.inference_settings = inference_settings
        self.loads: Counter[str] = Counter()  # heavy resources built, by name (the tests read it)

    # -- the index and its model
    @cached_property
    def embedder(self) -> Embedder:
        from retrieval.embedding import Embedder, resolve_embedding_path

        limit_blas_threads()
        self.loads["embedder"] += 1
        log.info("loading the embedding model (pid %d)", os.getpid())
        return Embedder(resolve_embedding_path(self.retrieval_settings.embedding_model))

    @cached_property
    def retrieval(self) -> Retrieval:
        from bot.adapters.store.graph import SqlGraphStore

        rs = self.retrieval_settings
        return build_retrieval_from(
            self.embedder,
            path=chroma_path(self.settings.data_dir),
            url=rs.chroma_url,
            rs=rs,
            graph_store=SqlGraphStore(self.sessions),  # the graph in the shared database
        )

    @cached_property
    def retriever(self) -> Retriever:
        from bot.adapters.search import SearchRetriever

        found = SearchRetriever(self.retrieval.searcher, self.settings.search_threads)
        found.warm_up()
        return found

    # -- the language model
    @cached_property
    def model_endpoint(self) -> tuple[str, str]:
        """(base URL, served model name) of the inference server this process talks to."""
        from inference.models import SERVED_NAME, served_name

        isettings = self.inference_settings
        if isettings.inference_url:
            return isettings.inference_url, isettings.inference_model or SERVED_NAME
        url = f"http://127.0.0.1:{isettings.inference_port}/v1"
        return url, served_name(isettings.generation_model)

    @cached_property
    def model_server(self) -> EmbeddedServer | None:
        """The embedded server this process starts on first need (None: an external one, or
        an embedded one some other process already runs)."""
        from bot.runtime.inference import EmbeddedServer, healthy

        isettings = self.inference_settings
        if isettings.inference_url or healthy(self.model_endpoint[0]):
            return None
        return EmbeddedServer(isettings.inference_port, on_start=self._count_server)

    def _count_server(self) -> None:
        self.loads["inference_server"] += 1

    def model_base_url(self) -> str:
        """The inference server's URL, starting the embedded one if it is this process's."""
        server = self.model_server
        return server.start() if server is not None else self.model_endpoint[0]

    def chat_client(self) -> ChatClient:
        from inference.client import ChatClient

        isettings = self.inference_settings
        return ChatClient(
            self.model_base_url(),
            self.model_endpoint[1],
            isettings.inference_api_key.get_secret_value(),
            isettings.inference_timeout,
            first_token_timeout=isettings.first_token_seconds,
        )

    @cached_property
    def model(self) -> ChatModel:
        """The answering model; reaches (or starts) its server only when a question needs it."""
        from bot.adapters.adapter_model import ActiveAdapter, AdapterChatModel
        from bot.adapters.model import LazyModel

        # the learning loop's active adapter is asked for by name (answers record which)
        active = ActiveAdapter(lambda: self.adapter_registry.active())
        return LazyModel(
            lambda: AdapterChatModel(self.chat_client(), active), self.model_endpoint[1]
        )

    @property
    def adapter_dir(self) -> Path:
        """Where the learning loop's adapters' files live (every inference server reads them)."""
        from training.settings import registry_root

        return registry_root(self.training_settings, self.settings.data_dir)

    @cached_property
    def served_base(self) -> str:
        """The model id the inference servers serve: adapters are trained on it."""
        from inference.models import served_base

        i = self.inference_settings
        return served_base(i.generation_model, i.inference_url, i.inference_model)

    @cached_property
    def adapter_registry(self) -> AdapterRegistry:
        """The learning loop's adapters: in the database every process shares."""
        from bot.adapters.store.registry import SqlRegistry

        return SqlRegistry(self.sessions, self.adapter_dir, self.served_base)

    @cached_property
    def quiz_writer(self) -> QuizWriter | None:
        from bot.adapters.quiz_writer import ModelQuizWriter

        s = self.settings
        if s.quiz_writer == "cloze" or (
            s.quiz_writer == "auto" and not self.inference_settings.inference_url
        ):
            return None
        return ModelQuizWriter(self.chat_client())

    # -- the store and the queue
    @cached_property
    def store(self) -> tuple[Engine, sessionmaker[Session]]:
        return open_settings_store(self.settings)

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.store[1]

    @cached_property
    def access(self) -> AccessRepository:
        from bot.adapters.store.access import AccessRepository

        return AccessRepository(self.sessions)

    @cached_property
    def threads(self) -> ThreadRepository:
        from bot.adapters.store.threads import ThreadRepository

        return ThreadRepository(self.sessions)

    @cached_property
    def quiz_items(self) -> QuizRepository:
        from bot.adapters.store.quiz import QuizRepository

        return QuizRepository(self.sessions)

    @cached_property
    def job_records(self) -> JobRepository:
        from bot.adapters.store.jobs import JobRepository

        return JobRepository(self.sessions)

    @cached_property
    def feedback(self) -> FeedbackRepository:
        from bot.adapters.store.feedback import FeedbackRepository

        return FeedbackRepository(self.sessions)

    @cached_property
    def web_records(self) -> WebRepository:
        from bot.adapters.store.web import WebRepository

        return WebRepository(self.sessions)

    @cached_property
    def review_records(self) -> ReviewRepository:
        from bot.adapters.store.review import ReviewRepository

        return ReviewRepository(self.sessions)

    @cached_property
    def sender(self) -> CelerySender:
        from bot.adapters.queue import CelerySender, broker_config

        return CelerySender(broker_config(self.settings.broker_url, self.settings.data_dir))

    @cached_property
    def material(self) -> Material:
        from bot.adapters.material import CatalogMaterial

        return CatalogMaterial(lambda: self.retrieval)

    # -- the services
    @cached_property
    def answers(self) -> AnswerService:
        from bot.services.answers import AnswerService

        return AnswerService(
            self.retriever,
            self.model,
            max_answer_tokens=self.inference_settings.answer_tokens,
            grounder=self.grounder,
        )

    @cached_property
    def grounder(self) -> Grounder:
        """Quotes and sentence checks (bot/domain/grounding.py) on a thread of their own,
        over the index's embedding model, reached on first use: a refusal needs none."""
        from bot.services.grounding import Grounder
        from retrieval.embedding import one_torch_thread

        return Grounder(_Deferred(lambda: self.embedder), initializer=one_torch_thread)

    @cached_property
    def jobs(self) -> JobService:
        from bot.services.jobs import JobPolicy, JobService

        s = self.settings
        return JobService(
            self.job_records,
            self.feedback,
            self.sender,
            upload_dir=s.upload_dir or s.data_dir / "uploads",
            policy=JobPolicy(
                expires_seconds=s.job_expires_seconds, max_attempts=s.job_max_attempts
            ),
        )

    @cached_property
    def chat(self) -> ChatService:
        from bot.services.chat import ChatService

        return ChatService(
            self.answers,
            self.jobs,
            self.access,
            self.threads,
            admins=self.settings.admin_keys(),
            max_upload_bytes=int(self.retrieval_settings.max_upload_mb * 1024 * 1024),
        )

    @cached_property
    def learning(self) -> LearningService:
        from bot.services.learning import LearningService

        return LearningService(self.quiz_items, self.access, self.material, self.quiz_writer)

    @cached_property
    def reports(self) -> ReportService:
        from bot.adapters.charts import report_chart
        from bot.adapters.store.analytics import SqlAnalytics
        from bot.services.model_status import model_status
        from bot.services.reports import ReportService

        return ReportService(
            SqlAnalytics(self.sessions),
            report_chart,
            admins=self.settings.admin_keys(),
            # an admin's "model status"
            model_status=model_status(self.adapter_registry, self.served_base),
        )

    # -- the web console (sign-in links also come from the chat processes' "web")
    @cached_property
    def web_signin(self) -> WebSignIn:
        from datetime import timedelta

        from bot.services.web import WebSignIn

        s, records = self.settings, self.web_records
        return WebSignIn(
            records,
            records,
            records,
            base_url=s.web_url,
            admins=s.admin_keys(),
            session_lifetime=timedelta(hours=s.web_session_hours),
        )

    @cached_property
    def web_questions(self) -> WebQuestions:
        from bot.services.web import WebQuestions

        return WebQuestions(self.web_records)

    @cached_property
    def console(self) -> Console:
        from bot.adapters.catalog import IndexCatalog
        from bot.services.console import Console

        catalog = IndexCatalog(lambda: self.retrieval, self.review_records.original)
        return Console(catalog, self.review_records, self.chat, self.jobs, self.web_signin)

    # -- the learning loop (the training worker and `learnloop train|adapters`)
    @cached_property
    def training_settings(self) -> TrainingSettings:
        from training.settings import TrainingSettings

        return TrainingSettings()

    @cached_property
    def training_records(self) -> TrainingRecords:
        from bot.adapters.store.training import TrainingRecords

        return TrainingRecords(self.sessions)

    @cached_property
    def training(self) -> TrainingService:
        from bot.services.training import TrainingService

        ts = self.training_settings
        return TrainingService(
            self.jobs,
            self.training_records,
            threshold=ts.train_new_examples,
            steps=ts.train_max_steps,
            allowed=ts.allowed_audiences(),
        )

    # -- where the worker sends job progress and review reminders, per platform
    @cached_property
    def notifiers(self) -> dict[str, Notifier]:
        self._platforms()
        return self.notifiers

    @cached_property
    def messengers(self) -> dict[str, DirectMessenger]:
        self._platforms()
        return self.messengers

    def _platforms(self) -> None:
        from bot.adapters.notify import LogNotifier
        from bot.adapters.slack.notifier import SlackMessenger, SlackNotifier  # slack_sdk
        from bot.adapters.slack.settings import SlackSettings
        from bot.adapters.slack.tokens import slack_tokens
        from bot.adapters.teams.notify import teams_messenger, teams_notifier  # botbuilder

        notifiers: dict[str, Notifier] = {"cli": LogNotifier()}
        messengers: dict[str, DirectMessenger] = {}
        slack = SlackSettings()
        # SLACK_BOT_TOKEN, or each workspace's installation (SLACK_CLIENT_ID)
        if (tokens := slack_tokens(slack, lambda: self.store[0])) is not None:
            notifiers["slack"] = SlackNotifier(tokens, slack.api_url)
            messengers["slack"] = SlackMessenger(
                tokens, slack.api_url, lambda user: self.access.account_team("slack", user)
            )
        notifiers["teams"] = teams_notifier(self.settings)
        if (teams := teams_messenger(self.settings)) is not None:  # MICROSOFT_APP_ID set
            messengers["teams"] = teams
        self.__dict__["notifiers"], self.__dict__["messengers"] = notifiers, messengers

    # -- the operations port (/healthz, /readyz, /metrics)
    def ops_server(self, *, model: Check | None = None) -> OpsServer | None:
        """This process's operations server, ready when its database, broker and (given a
        chat process's `model` check, `ModelReadiness.check`) its model answer; None when
        LEARNLOOP_OPS_PORT is 0."""
        from bot.adapters.queue import broker_config
        from bot.runtime.ops import OpsServer, broker_check, database_check

        s = self.settings
        if not s.ops_port:
            return None
        checks = {
            "database": database_check(lambda: self.store[0]),
            "broker": broker_check(broker_config(s.broker_url, s.data_dir)),
        }
        if model is not None:
            checks["model"] = model
        return OpsServer(checks, s.ops_port)

    # -- the end
    async def aclose(self) -> None:
        """Close what was opened, in reverse: the model's connections, the embedded server
        this process started, the broker connection, the store."""
        if "model" in self.__dict__:
            await self.model.aclose()
        self.close()

    def close(self) -> None:
        """The synchronous part of `aclose` (what a worker or a CLI command opened)."""
        server = self.__dict__.pop("model_server", None)
        if server is not None:
            server.stop()
        grounder = self.__dict__.pop("grounder", None)
        if grounder is not None:
            grounder.close()
        sender = self.__dict__.pop("sender", None)
        if sender is not None:
            sender.close()
        store = self.__dict__.pop("store", None)
        if store is not None:
            store[0].dispose()


class _Deferred:
    """An embedder built on first use."""

    def __init__(self, get: Callable[[], Embedder]) -> None:
        self._get = get

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._get().embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._get().embed_query(text)


PARTS = frozenset(name for name, value in vars(App).items() if isinstance(value, cached_property))


def open_settings_store(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    """The store these settings name, migrated on open unless LEARNLOOP_MIGRATE_ON_START is
    off (then a schema that is not up to date is refused)."""
    from bot.adapters.store import database_url, open_store

    return open_store(
        database_url(settings.database_url, settings.data_dir),
        migrate=settings.migrate_on_start,
        timeout=settings.database_timeout_seconds,
    )


def build_app(
    settings: Settings | None = None,
    *,
    retrieval_settings: RetrievalSettings | None = None,
    inference_settings: InferenceSettings | None = None,
    **overrides: Any,
) -> App:
    """The one place that builds LearnLoop's parts; `overrides` replace parts by name."""
    from inference.settings import InferenceSettings
    from retrieval.settings import RetrievalSettings

    unknown = set(overrides) - PARTS
    if unknown:
        raise TypeError(f"build_app: no part named {', '.join(sorted(unknown))}")
    app = App(
        settings or Settings(),
        retrieval_settings or RetrievalSettings(),
        inference_settings or InferenceSettings(),
    )
    app.__dict__.update(overrides)  # a cached_property reads the instance's dict first
    return app
