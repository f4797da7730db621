"""The command line's help and usage errors, in the user's language.

typer writes ``--help`` and its usage errors ("Missing argument", "No such option" …) in English only: the
click inside it has no catalog. riskmap renders both itself from the same command objects: the help texts of
its commands and options are catalog messages (marked with ``N_`` where they are declared), and so are the words
around them (用法, 选项, 参数, 默认). Nothing here runs a command; cli.py calls it.
"""

from __future__ import annotations

import enum
import io
import re
import shutil
import types
import typing
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer._click import exceptions as click_errors  # typer ≥ 0.29 carries its own click

from riskmap.i18n import N_, tr

__all__ = ["help_text", "usage_error_text", "usage_line", "help_hint"]

#: The placeholder of each argument, by its parameter name (the usage line and the argument list).
ARGUMENT_NAMES = {
    "project": N_("PROJECT"),
    "directory": N_("DIRECTORY"),
    "old": N_("OLD"),
    "new": N_("NEW"),
}
#: The kind of value an option takes, by its Python type.
VALUE_NAMES = {
    Path: N_("PATH"),
    int: N_("INTEGER"),
    float: N_("NUMBER"),
    str: N_("TEXT"),
}
#: The kind of value of options whose Python type says too little (a date or an address is a ``str``).
OPTION_VALUES = {
    "as_of": N_("DATE"),
    "scheduler": N_("ADDRESS"),
    "postgis": N_("DATABASE"),
    "lang": "[zh|en]",
}
#: Help of options riskmap does not declare itself.
BUILT_IN_HELP = {"help": N_("Show this message and exit.")}


def help_text(command: Any, ctx: Any) -> str:
    """The help of ``command`` (riskmap's group or one of its commands) as the terminal shows it."""
    parts = [usage_line(ctx, command)]
    if command.help:
        parts.append(tr(command.help))
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if p.param_type_name == "argument"]
    options = [p for p in params if p.param_type_name == "option"]
    if arguments:
        parts.append(_section(tr("Arguments:"), [(_argument_name(p), _param_help(p)) for p in arguments]))
    if options:
        parts.append(_section(tr("Options:"), [(_option_label(p), _param_help(p)) for p in options]))
    commands = getattr(command, "commands", None)
    if commands:
        rows = [(name, tr(commands[name].help or "")) for name in command.list_commands(ctx)]
        parts.append(_section(tr("Commands:"), rows))
    return "\n\n".join(parts) + "\n"


def usage_line(ctx: Any, command: Any = None) -> str:
    """What the command line looks like (用法：riskmap run [选项] 项目文件)."""
    command = command or ctx.command
    params = command.get_params(ctx)
    pieces = [ctx.command_path]
    if any(p.param_type_name == "option" for p in params):
        pieces.append(tr("[OPTIONS]"))
    pieces += [_argument_name(p) for p in params if p.param_type_name == "argument"]
    if getattr(command, "commands", None):
        pieces.append(tr("COMMAND [ARGS]..."))
    return tr("Usage: {usage}", usage=" ".join(pieces))


def help_hint(ctx: Any) -> str:
    """Where to read more (运行 riskmap run --help 查看用法。)."""
    return tr("Run {command} --help to see how it is used.", command=ctx.command_path)


def usage_error_text(err: click_errors.UsageError) -> str:
    """A usage error in the user's language: what is wrong with the command line and how to write it."""
    if isinstance(err, click_errors.MissingParameter) and err.param is not None:
        if err.param.param_type_name == "argument":
            return tr("missing {argument}", argument=_argument_name(err.param))
        return tr("missing the option {option}", option=_option_names(err.param))
    if isinstance(err, click_errors.NoSuchOption):
        if err.possibilities:
            return tr(
                "no option {option}; did you mean {options}?",
                option=err.option_name,
                options=", ".join(sorted(err.possibilities)),
            )
        return tr("no option {option}", option=err.option_name)
    if isinstance(err, click_errors.BadOptionUsage):
        if "does not take a value" in err.message:
            return tr("the option {option} takes no value", option=err.option_name)
        return tr("the option {option} needs a value", option=err.option_name)
    if isinstance(err, click_errors.BadParameter):
        return _bad_value(err)
    return _usage_message(err)


def _bad_value(err: click_errors.BadParameter) -> str:
    """A value the command line cannot use: riskmap's own reason, or the kind of value the option takes."""
    if err.param is None:  # raised by riskmap (an --as-of it cannot read): its reason is a catalog message
        return tr("{option}: {reason}", option=err.param_hint or "", reason=err.message)
    option = _option_names(err.param)
    kind = _value_type(err.param)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return tr(
            "{option} takes one of {choices}", option=option, choices=", ".join(str(m.value) for m in kind)
        )
    if kind is int:
        return tr("{option} takes a whole number", option=option)
    if kind is float:
        return tr("{option} takes a number", option=option)
    return tr("{option}: {reason}", option=option, reason=err.message)


#: Usage errors typer raises as plain text, and their messages in the catalog.
_PLAIN_ERRORS = (
    (
        re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)$"),
        N_("unexpected extra words: {args}"),
    ),
    (re.compile(r"No such command '(?P<name>.*)'\.$"), N_("no command {name}; the commands are: {commands}")),
    (re.compile(r"Missing command\.$"), N_("missing the command; the commands are: {commands}")),
)


def _usage_message(err: click_errors.UsageError) -> str:
    for pattern, message in _PLAIN_ERRORS:
        found = pattern.match(err.message)
        if found:
            group: Any = err.ctx.command if err.ctx is not None else None
            commands = ", ".join(group.list_commands(err.ctx)) if hasattr(group, "list_commands") else ""
            return tr(message, commands=commands, **found.groupdict())
    return err.format_message()  # a usage error riskmap has not met: typer's words, not nothing


def _section(title: str, rows: list[tuple[str, str]]) -> str:
    """A titled two-column list, wrapped to the terminal (rich measures Chinese characters as two columns)."""
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 100))
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # a run of Chinese and identifiers without a space is folded, never cut
    for label, text in rows:
        table.add_row(Text(label), Text(text))
    buffer = io.StringIO()
    Console(file=buffer, width=width - 2, color_system=None, highlight=False, emoji=False).print(table)
    body = "\n".join("  " + line.rstrip() for line in buffer.getvalue().rstrip("\n").splitlines())
    return f"{title}\n{body}"


def _argument_name(param: Any) -> str:
    return tr(ARGUMENT_NAMES.get(param.name, param.name.upper()))


def _option_names(param: Any) -> str:
    return "/".join([*param.opts, *param.secondary_opts])


def _option_label(param: Any) -> str:
    """``-o, --out 路径``: the option's spellings and, unless it is a switch, the kind of value it takes."""
    names = ", ".join(sorted([*param.opts, *param.secondary_opts], key=lambda o: (o.startswith("--"), o)))
    if getattr(param, "is_flag", False):
        return names
    if param.name in OPTION_VALUES:
        return f"{names} {tr(OPTION_VALUES[param.name])}"
    kind = _value_type(param)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return f"{names} [{'|'.join(str(m.value) for m in kind)}]"
    value = VALUE_NAMES.get(kind) if isinstance(kind, type) else None
    return f"{names} {tr(value)}" if value else names


def _param_help(param: Any) -> str:
    """The help of an option or argument in the user's language, with its default when it has one."""
    text = tr(param.help or BUILT_IN_HELP.get(param.name, ""))
    default = getattr(param, "default", None)
    if (
        param.param_type_name == "option"
        and not getattr(param, "is_flag", False)
        and default not in (None, "")
    ):
        shown = default.value if isinstance(default, enum.Enum) else default
        text = tr("{help} (default: {default})", help=text, default=shown)
    if param.required:
        text = tr("{help} (required)", help=text)
    return text


def _value_type(param: Any) -> Any:
    """The Python type of an option's value (``int`` for ``int | None``); None if typer does not say."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if typing.get_origin(annotation) is list:  # an option given several times (--zones a.shp --zones b.shp)
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = kinds[0] if len(kinds) == 1 else None
    return annotation
