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
    # A page on any site can rebind its own name to 127.0.0.1 (DNS rebinding): the Host header is what tells.
    allowed_hosts: str = Field(
        default="localhost,127.0.0.1,::1",
        description="Comma-separated host names the web app answers to; any other Host header is refused.",
    )
    # accounts (docs/accounts.md): sessions live in the database, so that several servers share them
    session_idle_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="A session ends after this long without a request."
    )
    session_max_days: float = Field(default=14.0, gt=0, le=365, description="A session ends this long after login.")
    secure_cookies: bool | None = Field(
        default=None,
        description="Mark the session cookie Secure; unset: when the request came over HTTPS (directly, or through a "
        "proxy on this machine that says so in X-Forwarded-Proto).",
    )
    # radar: notifications and the always-on tick (docs/alerts.md)
    smtp_host: str | None = Field(default=None, description="SMTP server for alert e-mails; unset: no e-mail.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = Field(default="pilote@localhost", description="From address of alert e-mails.")
    smtp_user: str | None = Field(default=None, description="SMTP login, if the server wants one.")
    smtp_password: str | None = Field(default=None, description="SMTP password.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS.")
    radar_interval: float = Field(default=5.0, gt=0, le=3600, description="Seconds between radar ticks in serve.")
    # Feeds Pilote fetches itself (pilote.sync): at least a minute apart, out of courtesy to the sites.
    sync_interval: float = Field(default=900.0, ge=60, le=7 * 86400, description="Seconds between syncs of a feed.")
    # Off, a feed address cannot make Pilote reach its own machine or network (a cloud's metadata service...).
    sync_private_addresses: bool = Field(
        default=False, description="Let feed syncs reach loopback, private and link-local addresses."
    )
    # Jobs beyond one process (pilote.jobs, pilote.leases; docs/deploy.md)
    redis_url: str | None = Field(
        default=None, description="Redis URL of the job queue and the leases; unset: SQLite queue under $PILOTE_HOME."
    )
    lease_seconds: float = Field(
        default=30.0, ge=1, le=3600, description="How long a dead worker's job stays locked before it runs again."
    )
    # Connectors' credentials are encrypted with this key (pilote.vault); the key is never in the database itself.
    secret_key: str | None = Field(default=None, repr=False, description="Fernet key for stored credentials.")
    secret_key_file: Path | None = Field(default=None, description="File holding it (default $PILOTE_HOME/secret.key).")
    # The sentence vectors in every analysis (pilote.enrich.get): the heads blend them in (docs/models.md).
    embeddings: bool = Field(
        default=True, description="Sentence vectors in every analysis: better judgements, ~8x slower; off: text only."
    )
    transformers_model: str | None = Field(
        default=None, description="Model folder or Hugging Face id for the sentiment-transformers analyzer."
    )
    transformers_download: bool = Field(default=False, description="Let sentiment-transformers download its model.")

    @property
    def hosts(self) -> frozenset[str]:
        """The host names requests may name (lower case, no port), the address `serve` binds to included."""
        named = {part.strip().lower().strip("[]") for part in self.allowed_hosts.split(",")}
        if self.host not in ("0.0.0.0", "::"):  # noqa: S104 (not binding: a wildcard address names no host)
            named.add(self.host.lower())
        return frozenset(named - {""})

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
