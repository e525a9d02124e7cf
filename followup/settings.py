"""Settings from the environment (the CLI loads a .env file into it): where data lives, how mail moves.

Secrets (SMTP/IMAP passwords) live here, never in the YAML files the clerk edits.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from followup.domain.config import Config, load_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_config_dir() -> Path:
    """The folder with recipients.yaml: the current one if it has it, else the built-in defaults."""
    here = Path.cwd()
    return here if (here / "recipients.yaml").exists() else PROJECT_ROOT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOLLOWUP_", extra="ignore")

    home: Path = Field(default=Path("var"), description="data folder: database, mail folders, documents")
    config: Path = Field(default_factory=default_config_dir, description="folder of recipients.yaml etc.")
    database_url: str | None = None
    smtp_url: str | None = None
    imap_url: str | None = None

    @cached_property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'followup.db').resolve()}"

    @property
    def outbox(self) -> Path:
        """Maildir where mail goes when no SMTP server is configured."""
        return self.home / "mail" / "outbox"

    @property
    def inbox(self) -> Path:
        """Maildir read when no IMAP server is configured."""
        return self.home / "mail" / "inbox"

    @property
    def documents(self) -> Path:
        return self.home / "documents"

    @property
    def templates(self) -> Path:
        return self.config / "templates"

    def load(self) -> Config:
        """The clerk's configuration, validated (cached in the data folder while the files do not change)."""
        return load_config(self.config, cache=self.home / "cache")
