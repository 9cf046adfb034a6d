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
