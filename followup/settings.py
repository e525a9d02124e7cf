"""Settings from the environment (the CLI loads a .env file into it): where data lives, how mail moves.

Secrets (SMTP/IMAP/database passwords) live here, never in the YAML files the clerk edits. The URLs that
carry them are ``SecretStr``: this object is a parameter of Prefect tasks, which record its ``repr``, so
no repr, str, log line or exception may show a password. Only the code that connects unwraps one.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from followup.domain.config import Config, load_config

#: The built-in configuration (the seed directive, the district's units, the templates), shipped in the
#: package: `followup demo` plays it, `followup init` copies it for the clerk to edit.
DEFAULTS = Path(__file__).resolve().parent / "defaults"


def default_config_dir() -> Path:
    """The folder with recipients.yaml: the current one if it has it, else the built-in defaults."""
    here = Path.cwd()
    return here if (here / "recipients.yaml").exists() else DEFAULTS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOLLOWUP_", extra="ignore")

    home: Path = Field(default=Path("var"), description="data folder: database, mail folders, documents")
    config: Path = Field(default_factory=default_config_dir, description="folder of recipients.yaml etc.")
    database_url: SecretStr | None = None
    smtp_url: SecretStr | None = None
    imap_url: SecretStr | None = None

    @property
    def db_url(self) -> SecretStr:
        """FOLLOWUP_DATABASE_URL, or SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return SecretStr(f"sqlite:///{(self.home / 'followup.db').resolve()}")

    @property
    def db_shown(self) -> str:
        """The database URL with its password hidden, for messages."""
        from sqlalchemy.engine import make_url

        return make_url(self.db_url.get_secret_value()).render_as_string(hide_password=True)

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
