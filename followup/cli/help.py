"""Help as the clerk reads it: in the clerk's language, and without a programmer's types.

Typer labels every parameter with its Python type (``<bool>``, ``<str>``, ``<list[Path]>``) and keeps its
own words (panel titles, "Usage:", the help option) in English. Every command of ``ClerkApp`` is a
``ClerkCommand``, so a command added later gets the same help without doing anything: a flag shows no
type, a value shows its metavar (``--as-of DATE``; ``VALUE`` when none is given), an argument its metavar
or its name in capitals.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

import typer
from typer import rich_utils
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from followup.i18n import _


def _translate_typer() -> None:
    """Typer's fixed words are read from these module constants each time help is printed."""
    rich_utils.ARGUMENTS_PANEL_TITLE = _("Arguments")
    rich_utils.OPTIONS_PANEL_TITLE = _("Options")
    rich_utils.COMMANDS_PANEL_TITLE = _("Commands")
    rich_utils.REQUIRED_LONG_STRING = _("[required]")
    rich_utils.DEFAULT_STRING = _("[default: {}]")
    rich_utils.ENVVAR_STRING = _("[env var: {}]")
    rich_utils.ERRORS_PANEL_TITLE = _("Error")
    rich_utils.ABORTED_TEXT = _("Interrupted.")


class _Argument(TyperArgument):
    """An argument shown by its metavar alone: the clerk does not need its Python type."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def _plain(param: Any) -> None:
    """Show ``param`` without its Python type (idempotent: help may be built several times)."""
    if isinstance(param, TyperOption) and param.metavar is None:
        param.metavar = "" if param.is_flag or param.count else _("VALUE")
    elif type(param) is TyperArgument:
        param.__class__ = _Argument  # same fields; only how its type is shown differs
        if param.metavar is None and param.name:
            param.metavar = param.name.upper()


class _Plain:
    """What a command and the group share: plain parameters, the help option and "Usage:" translated."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            _plain(param)
        return params

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = _("Show this message and exit.")
        return option

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix=_("Usage: "))  # type: ignore[attr-defined]


class ClerkCommand(_Plain, TyperCommand):
    pass


class ClerkGroup(_Plain, TyperGroup):
    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            message = _("No such command: {name}.").format(name=args[0])
            if close := get_close_matches(args[0], list(self.commands)):
                message += " " + _("Did you mean {names}?").format(names=", ".join(close))
            ctx.fail(message)
        return super().resolve_command(ctx, args)


class ClerkApp(typer.Typer):
    """A Typer app whose commands are all ``ClerkCommand``s and whose help words are translated."""

    def __init__(self, **kwargs: Any):
        _translate_typer()
        kwargs.setdefault("cls", ClerkGroup)
        kwargs.setdefault("options_metavar", _("[OPTIONS]"))
        kwargs.setdefault("subcommand_metavar", _("COMMAND [ARGS]..."))
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", ClerkCommand)
        return super().command(*args, **kwargs)


def usage_error(exc: Exception) -> str:
    """A mistyped command line as one line in the clerk's language, and where its help is."""
    from typer._click import exceptions as mistyped  # typer carries its own click: its errors live there

    param = getattr(exc, "param", None)
    if isinstance(exc, mistyped.MissingParameter) and param is not None:
        missing = _("Missing option {name}.") if isinstance(param, TyperOption) else _("Missing argument {name}.")
        message = missing.format(name=param.get_error_hint())
    elif isinstance(exc, mistyped.NoSuchOption):
        message = _("No such option: {option}.").format(option=exc.option_name)
        if exc.possibilities:
            message += " " + _("Did you mean {names}?").format(names=", ".join(sorted(exc.possibilities)))
    elif isinstance(exc, mistyped.BadParameter) and param is not None:
        reason = _("write a whole number, e.g. 12") if param.bare_type() == "int" else exc.message.rstrip(".")
        message = _("Invalid value for {name}: {reason}.").format(name=param.get_error_hint(), reason=reason)
    else:
        message = exc.format_message() if isinstance(exc, typer.exceptions.TyperException) else str(exc)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += " " + _("Help: {command} --help").format(command=ctx.command_path)
    return message
