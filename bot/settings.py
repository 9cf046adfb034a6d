"""Application settings (LEARNLOOP_*), read once by a bootstrap."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("learnloop", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEARNLOOP_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    env: Literal["development", "production"] = "development"
    log_level: str = "WARNING"
    # "json": one JSON object per log line (with the event id a bot received), for a log
    # collector; "text" for a terminal
    log_format: Literal["text", "json"] = "text"
    # /healthz, /readyz and /metrics of a long-running process, apart from its public
    # endpoints; 0 turns the operations server off
    ops_port: int = Field(default=9000, ge=0, le=65535)
    # jobs and the SQL store (README: "Worker and store")
    database_url: str = ""  # empty: SQLite in the data dir
    # the longest any wait on the database may take (connecting, a statement, a lock, a
    # server that stopped answering): then the asker hears it is unreachable
    database_timeout_seconds: float = Field(default=10.0, gt=0)
    # every process brings the schema up to date when it starts; a deployment that runs the
    # one-shot `learnloop migrate` job first turns this off, so processes only check it
    migrate_on_start: bool = True
    broker_url: str = ""  # empty: a server-free filesystem queue in the data dir
    upload_dir: Path | None = None  # empty: <data dir>/uploads (shared with the workers)
    lease_seconds: float = Field(default=60.0, gt=0)
    # a chat process renews its hold on the messages it is streaming answers into this
    # often (a third); one it held that long without renewing (it died) is marked interrupted
    stream_lease_seconds: float = Field(default=60.0, gt=0)
    sweep_seconds: float = Field(default=30.0, gt=0)
    job_max_attempts: int = Field(default=5, ge=1)
    job_expires_seconds: float = Field(default=86400.0, gt=0)
    remind_seconds: float = Field(default=3600.0, gt=0)  # how often beat looks for due reviews
    # a thread the bot has not answered in for this long is forgotten (beat, hourly)
    thread_days: float = Field(default=30.0, gt=0)
    # who writes quiz items: "model" (the language model, checked, cloze when it fails),
    # "cloze" (the deterministic generator only), "auto" (the model when it is an external
    # server such as vLLM: a 135M CPU model's items rarely pass the checks)
    quiz_writer: Literal["auto", "model", "cloze"] = "auto"
    # threads a chat process searches on (embedding the question); more contend for the GIL
    # with the event loop that acknowledges Slack and Teams
    search_threads: int = Field(default=1, ge=1, le=32)
    # who may upload material and edit audiences: "slack:U123,teams:<AAD object id>"
    admins: str = ""
    # the web console: the public address its sign-in links use, and how long a session lasts
    web_url: str = "http://127.0.0.1:8080"
    web_session_hours: float = Field(default=12.0, gt=0)

    def admin_keys(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.admins.split(",") if a.strip())
