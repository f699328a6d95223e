"""Typed settings, read from the environment (PILOTE_*) when get_settings() is called."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything Pilote can be configured with; see docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="PILOTE_", extra="ignore")

    home: Path = Field(default=Path("pilote-data"), description="Where the SQLite store and files live.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means SQLite at $PILOTE_HOME/pilote.db."
    )
    # At most 10,000: a batch is looked up with one IN list, and SQLite allows 32,766 parameters.
    batch_size: int = Field(default=5000, ge=1, le=10_000, description="Messages written per transaction.")
    host: str = Field(default="127.0.0.1", description="Address `pilote serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535)

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force: PILOTE_DATABASE_URL, or the embedded SQLite file."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.home / 'pilote.db').resolve()}"


def get_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides winning."""
    return Settings(**overrides)  # type: ignore[arg-type]
