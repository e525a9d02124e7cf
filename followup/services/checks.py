"""`followup check`: every problem of the configuration, the templates and the connections, at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from followup.documents import letter as documents
from followup.domain.config import Config, ConfigError, load_config
from followup.i18n import _
from followup.mail import templates as mail_templates
from followup.mail.urls import redact
from followup.settings import DEFAULTS, Settings


def check_templates(config: Config) -> list[str]:
    problems: list[str] = []
    letter = config.root / "templates" / "directive.docx"
    if not letter.exists():
        problems.append(
            _("{file}: missing; copy the built-in one from {default}").format(
                file=letter, default=DEFAULTS / "templates" / "directive.docx"
            )
        )
    else:
        for directive in config.directives.values():
            context = documents.letter_context(directive, config.recipients, 1, dt.date(directive.year, 1, 1))
            try:
                missing = documents.missing_variables(letter, context)
            except Exception as exc:  # a broken template must be reported, not crash the check
                problems.append(
                    _("{file}: cannot be read as a docxtpl template ({error}); was a tag split by Word?").format(
                        file=letter, error=exc
                    )
                )
                break
            for name in sorted(missing):
                problems.append(
                    _("{file}: uses {tag}, which directive {directive} does not provide; known: {known}").format(
                        file=letter, tag=f"{{{{ {name} }}}}", directive=directive.code, known=", ".join(sorted(context))
                    )
                )
    problems += mail_templates.check(config.root / "templates" / "email")
    return problems


def check_connections(settings: Settings) -> tuple[list[str], list[str]]:
    """Connect once to each configured server: the clerk waits for an answer, so no retries."""
    from followup.mail.inbox import InboxError, open_inbox
    from followup.mail.sender import SendFailure, SmtpSender, SmtpSettings
    from followup.storage.db import open_database

    problems, notes = [], []
    try:
        open_database(settings.db_url)
        notes.append(_("database ready ({database})").format(database=settings.db_shown))
    except Exception as exc:
        reason = redact(redact(f"{type(exc).__name__}: {exc}", settings.db_url), _db_password(settings))
        problems.append(_("FOLLOWUP_DATABASE_URL: cannot open the database: {reason}").format(reason=reason))
    if settings.smtp_url:
        try:
            sender = SmtpSender(SmtpSettings.from_url(settings.smtp_url.get_secret_value()), connect_retries=0)
            with sender:
                sender._smtp = sender._connect()
                sender._smtp.noop()
            notes.append(_("SMTP server answers ({at})").format(at=sender.where))
        except (ValueError, SendFailure, OSError) as exc:
            problems.append(f"FOLLOWUP_SMTP_URL: {exc}" if isinstance(exc, OSError) else str(exc))
    else:
        notes.append(_("no FOLLOWUP_SMTP_URL: mail goes to the Maildir {folder}").format(folder=settings.outbox))
    if settings.imap_url:
        try:
            with open_inbox(settings.imap_url, settings.inbox, connect_retries=0) as inbox:
                next(iter(inbox.fetch_unprocessed(limit=0)), None)
            notes.append(_("IMAP server answers"))
        except (ValueError, InboxError) as exc:
            problems.append(str(exc))
    else:
        notes.append(
            _("no FOLLOWUP_IMAP_URL: replies are read from the Maildir {folder}").format(folder=settings.inbox)
        )
    return problems, notes


def _db_password(settings: Settings) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(settings.db_url.get_secret_value()).password
    except ArgumentError:
        return None


def check_everything(settings: Settings) -> tuple[list[str], list[str]]:
    """(problems, notes): configuration first; templates and connections only if it loads."""
    try:
        config = load_config(Path(settings.config))
    except ConfigError as exc:
        return [str(p) for p in exc.problems], []
    notes = [
        _("configuration in {folder}: {units} units, {directives} directive(s)").format(
            folder=config.root, units=len(config.recipients.units), directives=len(config.directives)
        )
    ]
    problems = check_templates(config)
    connection_problems, connection_notes = check_connections(settings)
    return problems + connection_problems, notes + connection_notes
