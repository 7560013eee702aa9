"""Stage options, defined once: the config class of each stage is the single source of its options.

Each option is a field of a stage's config (a pydantic dataclass made with :func:`config`), declared with
:func:`option`: its type, default, bounds (``ge``/``gt``/``le``/``lt``, a ``choices`` tuple or a
validator on the class) and help text. Everything else is derived from that field:

- the ``curate`` command's options — :class:`Surface` maps a command's flat option names onto the
  (possibly nested) config fields and builds the Typer signature (name, type, default, help) from them;
  :class:`LazyTyper` builds a command (and imports its stage's module) only when that command is used;
- the recipe's options (:mod:`curate.recipe` validates a step's YAML options by building the config
  through the same :class:`Surface`);
- the checks: building a config validates every value before any work starts; a bad value is one
  :class:`~curate.errors.UserError` line naming the option (``--fps: must be greater than 0, not 0``),
  which the CLI prints with exit code 2.

Floats are finite (``nan``/``inf`` refused) and integers fit in int64 unless a field says otherwise.
"""

from __future__ import annotations

import dataclasses
import inspect
import shlex
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import typer
from pydantic import ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass
from pydantic.fields import FieldInfo
from typer.core import TyperGroup

from curate.errors import UserError

INT64_MAX = 2**63 - 1
SETTINGS = ConfigDict(allow_inf_nan=False, arbitrary_types_allowed=True, extra="forbid")


def config(cls=None, /, *, frozen: bool = False):
    """``@config`` / ``@config(frozen=True)``: a dataclass whose fields are validated on construction —
    types, bounds, ``choices``, and every integer within int64. A cross-field rule is a
    ``__post_init__`` raising ValueError (its message names the options)."""

    def wrap(cls):
        cls._check_value = field_validator("*", mode="after")(classmethod(_check_value))
        return pydantic_dataclass(cls, config=SETTINGS, frozen=frozen)

    return wrap if cls is None else wrap(cls)


def _check_value(cls, value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ValueError("must fit in a 64-bit integer")
    allowed = choices(fields_of(cls)[info.field_name])
    if allowed and value is not None and value not in allowed:
        raise ValueError(f"one of {', '.join(allowed)}")
    return value


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    factory: Callable[[], Any] | None = None,
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None,
    flag: str | None = None,
    short: str | None = None,
    **bounds: Any,
) -> Any:
    """A config field that is a user-facing option: ``help`` is its help text everywhere, ``bounds`` are
    pydantic's constraints (``ge``, ``gt``, ``le``, ``lt``, ``min_length``, ``pattern``), ``choices`` the
    allowed strings (or a function returning them, for a list that is costly to import), ``flag`` the CLI
    flag when it is not ``--`` + the name with dashes, ``short`` a one-letter alias."""
    extra = {k: v for k, v in {"choices": choices, "flag": flag, "short": short}.items() if v is not None}
    kwargs: dict[str, Any] = {"description": help, "json_schema_extra": extra or None, **bounds}
    if factory is not None:
        kwargs["default_factory"] = factory
    elif default is not dataclasses.MISSING:
        kwargs["default"] = default
    return Field(**kwargs)


def choices(info: FieldInfo) -> tuple[str, ...] | None:
    """The allowed values of a field declared with ``option(choices=…)``, else ``None``."""
    allowed = (info.json_schema_extra or {}).get("choices") if isinstance(info.json_schema_extra, dict) else None
    return tuple(allowed()) if callable(allowed) else allowed


def fields_of(cls) -> dict[str, FieldInfo]:
    """The pydantic field definitions of a :func:`config` class."""
    return cls.__pydantic_fields__


# ----------------------------------------------------------------------------------------- surfaces


@dataclass(frozen=True)
class Flag:
    """One flat option of a command: ``name`` (underscores) ↦ the config field at ``path`` (dotted)."""

    name: str
    path: tuple[str, ...]
    info: FieldInfo
    argument: bool = False

    @property
    def help(self) -> str:
        allowed = choices(self.info)
        return (self.info.description or "") + (f" One of: {', '.join(allowed)}." if allowed else "")

    @property
    def default(self) -> Any:
        return self.info.get_default(call_default_factory=True)

    @property
    def required(self) -> bool:
        return self.info.is_required()

    @property
    def decls(self) -> list[str]:
        extra = self.info.json_schema_extra if isinstance(self.info.json_schema_extra, dict) else {}
        dashed = self.name.replace("_", "-")
        names = [extra.get("flag") or (f"--{dashed}/--no-{dashed}" if self.annotation is bool else f"--{dashed}")]
        return names + ([extra["short"]] if extra.get("short") else [])

    @property
    def cli(self) -> str:
        """How the user names it: ``--fps``, or ``INPUT`` for the positional argument."""
        return self.name.upper() if self.argument else self.decls[0].split("/")[0]

    @property
    def annotation(self) -> Any:
        return self.info.annotation

    def is_path(self) -> bool:
        return Path in _leaves(self.annotation)

    def is_list(self) -> bool:
        return any(get_origin(t) is list for t in _union(self.annotation))


def _union(annotation: Any) -> tuple:
    return get_args(annotation) if get_origin(annotation) in (Union, type(int | None)) else (annotation,)


def _leaves(annotation: Any) -> set:
    out = set()
    for t in _union(annotation):
        out |= _leaves(get_args(t)[0]) if get_origin(t) is list else {t}
    return out


def _typer_type(annotation: Any) -> Any:
    """The type Typer parses: a ``Literal`` of strings becomes ``str`` (the config checks the value)."""
    parts = []
    for t in _union(annotation):
        if get_origin(t) is Literal:
            t = str
        elif get_origin(t) is list and get_origin(get_args(t)[0]) is Literal:
            t = list[str]
        parts.append(t)
    out = parts[0]
    for t in parts[1:]:
        out = out | t
    return out


class Surface:
    """A command's flat options over a stage config: ``paths`` maps a flat name to a dotted field path
    (``"num_frames": "shaping.sampling.num_frames"``); every other field of the config is a flat option
    of its own name. ``argument`` names the positional argument; ``hidden`` fields are not options."""

    def __init__(
        self,
        cls,
        paths: dict[str, str] | None = None,
        *,
        argument: str | None = None,
        hidden: tuple[str, ...] = (),
    ) -> None:
        self.cls = cls
        paths = dict(paths or {})
        nested = {p.split(".")[0] for p in paths.values() if "." in p}
        for name in fields_of(cls):
            if name not in nested and name not in hidden and name not in paths.values():
                paths.setdefault(name, name)
        self.flags = {
            name: Flag(name, tuple(path.split(".")), _field_at(cls, path.split(".")), name == argument)
            for name, path in paths.items()
        }

    def flag_for(self, path: tuple[str, ...]) -> Flag | None:
        for flag in self.flags.values():
            if flag.path == path:
                return flag
        return None

    def build(self, values: dict[str, Any], where: str = "") -> Any:
        """The config from flat ``values`` (names as in :attr:`flags`; ``None`` for a list means its
        default); a bad value raises :class:`UserError` naming the option, prefixed by ``where``."""
        unknown = sorted(set(values) - set(self.flags))
        if unknown:
            raise UserError(f"{where}unknown option(s): {', '.join(u.replace('_', '-') for u in unknown)}")
        tree: dict[str, Any] = {}
        for name, value in values.items():
            flag = self.flags[name]
            if value is None and flag.is_list():
                continue
            node = tree
            for part in flag.path[:-1]:
                node = node.setdefault(part, {})
            node[flag.path[-1]] = value
        return self._construct(self.cls, tree, (), where)

    def _construct(self, cls, tree: dict, prefix: tuple[str, ...], where: str) -> Any:
        kwargs = {}
        for name, value in tree.items():
            if isinstance(value, dict) and dataclasses.is_dataclass(_dataclass_type(cls, name)):
                value = self._construct(_dataclass_type(cls, name), value, (*prefix, name), where)
            kwargs[name] = value
        try:
            return cls(**kwargs)
        except ValidationError as exc:
            raise UserError(where + self.explain(exc, prefix)) from None

    def explain(self, exc: ValidationError, prefix: tuple[str, ...] = ()) -> str:
        """The first error of ``exc`` as one line naming the option and the value given."""
        error = exc.errors(include_url=False)[0]
        loc = tuple(str(p) for p in error.get("loc", ()) if isinstance(p, str))
        flag = self.flag_for((*prefix, *loc[:1])) if loc else None
        message = error.get("msg", "invalid value")
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        message = message[0].lower() + message[1:] if message else message
        if flag is None:
            return message
        given = error.get("input")
        shown = (
            f", not {given!r}" if given is not None and not isinstance(given, dict) and "not " not in message else ""
        )
        return f"{flag.cli}: {message}{shown}"

    def required(self) -> list[str]:
        return [name for name, flag in self.flags.items() if flag.required]

    def values(self, config: Any) -> dict[str, Any]:
        """The flat option values of a built ``config`` (JSON-able: paths as strings) — what a manifest
        records as the resolved options."""
        out = {}
        for name, flag in self.flags.items():
            value = config
            for part in flag.path:
                value = getattr(value, part)
            out[name] = _plain(value)
        return out

    def command_line(self, command: str, config: Any) -> str:
        """``curate COMMAND …`` that builds exactly ``config``: the argument(s), the required options and
        every option whose value differs from its default (shell-quoted)."""
        args, values = ["curate", command], self.values(config)
        for name, flag in self.flags.items():
            if flag.argument:
                value = values[name]
                args += [str(v) for v in value] if isinstance(value, list) else [str(value)]
        for name, flag in self.flags.items():
            value = values[name]
            if flag.argument or (not flag.required and value == _plain(flag.default)):
                continue
            yes, _, no = flag.decls[0].partition("/")
            if isinstance(value, bool):
                args.append(yes if value else no)
            elif isinstance(value, list):
                for item in value:
                    args += [yes, str(item)]
            elif value is not None:
                args += [yes, str(value)]
        return shlex.join(args)

    # ------------------------------------------------------------------------------------- the CLI

    def parameters(self) -> list[inspect.Parameter]:
        """Typer parameters for every flag: type, default and help from the config field."""
        params = []
        for name, flag in self.flags.items():
            kind = _typer_type(flag.annotation)
            if flag.argument:
                info = typer.Argument(help=flag.help, show_default=False)
            else:
                info = typer.Option(*flag.decls, help=flag.help)
            if flag.required:
                value = inspect.Parameter.empty
            elif flag.is_list():  # Typer's default for a repeatable option is None: the config's applies
                kind, value = kind if _optional(kind) else kind | None, None
            else:
                value = flag.default
            params.append(
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[kind, info], default=value)
            )
        params.sort(key=lambda p: p.default is not inspect.Parameter.empty)  # required first (Python's rule)
        return params

    def callback(self, body: Callable, extra: list[inspect.Parameter] = ()) -> Callable:
        """The Typer callback of ``body(config, **extra)``: the options are the config's flags (parsed,
        then built into the config) plus the ``extra`` CLI-only parameters (``--quiet`` …)."""
        extra_names = [p.name for p in extra]

        def command(**kwargs: Any) -> Any:
            from curate.console import user_errors

            rest = {k: kwargs.pop(k) for k in extra_names}
            with user_errors():
                built = self.build(kwargs)
            return body(built, **rest)

        command.__signature__ = inspect.Signature([*self.parameters(), *extra])
        command.__annotations__ = {}
        command.__doc__ = body.__doc__
        command.__name__ = body.__name__
        return command


# ------------------------------------------------------------------------------- commands built lazily


class LazyTyper(typer.Typer):
    """A Typer app whose commands are built when first used: ``curate extract-frames`` builds (and
    imports the stage module of) ``extract-frames`` only, not every stage's — importing them all cost
    about a second of start-up on every run. ``curate --help`` and ``typer.main.get_command(app)
    .commands[name]`` still see every command, in the order they were declared."""

    def __init__(self, **kwargs: Any) -> None:
        makers: dict[str, Callable[[], Any]] = {}
        self.makers = makers

        class Group(TyperGroup):
            def __init__(self, *, commands: dict | None = None, **attrs: Any) -> None:
                super().__init__(commands=LazyCommands(makers, commands or {}), **attrs)

        super().__init__(cls=Group, **kwargs)

    def lazy_command(
        self, name: str, surface: str | None = None, extra: list[inspect.Parameter] = ()
    ) -> Callable[[Callable], Callable]:
        """Declare ``curate name``. With ``surface`` (``"module:ATTR"``, a :class:`Surface`) the function is
        a stage body ``body(config, **extra)`` (:meth:`Surface.callback`); without, a plain Typer command.
        The module is imported, and the command built, only when the command is used."""

        def register(body: Callable) -> Callable:
            def make() -> Any:
                import importlib

                import typer.main

                callback = body
                if surface is not None:
                    module, _, attr = surface.partition(":")
                    callback = getattr(importlib.import_module(module), attr).callback(body, extra)
                scratch = typer.Typer()
                scratch.command(name)(callback)
                return typer.main.get_command_from_info(
                    scratch.registered_commands[0],
                    pretty_exceptions_short=self.pretty_exceptions_short,
                    rich_markup_mode=self.rich_markup_mode,
                )

            self.makers[name] = make
            return body

        return register


class LazyCommands(MutableMapping):
    """A click group's ``commands``: name ↦ command, each made by ``makers[name]()`` on first access."""

    def __init__(self, makers: dict[str, Callable[[], Any]], built: dict[str, Any]) -> None:
        self.makers = makers
        self.built = dict(built)

    def __getitem__(self, name: str) -> Any:
        if name not in self.built:
            self.built[name] = self.makers[name]()  # KeyError: no such command
        return self.built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self.built and name not in self.makers:
            raise KeyError(name)
        self.built.pop(name, None)
        self.makers.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self.makers, *self.built]))

    def __len__(self) -> int:
        return len(self.makers.keys() | self.built.keys())

    def __contains__(self, name: object) -> bool:
        return name in self.built or name in self.makers


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _optional(kind: Any) -> bool:
    return type(None) in _union(kind)


def _dataclass_type(cls, name: str) -> Any:
    for t in _union(fields_of(cls)[name].annotation):
        if dataclasses.is_dataclass(t):
            return t
    return None


def _field_at(cls, path: list[str]) -> FieldInfo:
    for part in path[:-1]:
        cls = _dataclass_type(cls, part)
    return fields_of(cls)[path[-1]]
