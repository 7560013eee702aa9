"""``curate run RECIPE.yaml``: a declared sequence of stages with their options, rerun only where needed.

A recipe is YAML::

    vars:                       # strings, numbers or booleans; ``--set KEY=VALUE`` overrides them
      root: ./LLaVA-Video-178K
      out: ./out/tinyllava-video-r1
    stages:
      - name: filter            # unique; later steps refer to ${stages.filter.output}
        stage: filter           # filter | extract-frames | coldstart | export | publish
        options:                # the stage's CLI flags, dashes or underscores alike
          inputs: [${root}/0_30_s_nextqa/0_30_s_nextqa_mc_qa_processed.json]
          output: ${out}/filter
          check-videos: true
      - name: frames
        stage: extract-frames
        options: {input: ${stages.filter.output}, video-root: ${root}, output: ${out}/frames}

Options are the flags of ``curate <stage>`` (``--include-subset`` → ``include-subset``; a repeatable flag
takes a list or a single value; ``--map`` is ``map``); the positional argument is ``input`` (``inputs``,
a list, for filter). A step without ``input`` reads the previous step's output. ``publish`` takes
``input``, ``repo-id``, ``private``, ``revision``, ``license``, ``citation`` and ``staging``; ``dry-run``
defaults to true in a recipe. Every step's options are validated by its stage's config
(:class:`curate.options.Surface`) when the recipe is loaded.
``${NAME}`` is a var, ``${stages.NAME.output}`` a step's output (also ``.input``); an option that is
exactly one ``${NAME}`` keeps the var's type. Relative paths resolve against ``base_dir`` (default: the
recipe file's folder); absolute paths and Hub ids are kept as written (a ``model`` is resolved only when
that path exists).

``--set KEY=VALUE`` (the value is read as YAML: ``2`` is a number, ``true`` a boolean) sets a var, or,
when ``KEY`` is ``STEP.OPTION``, one option of one step.

When a step is skipped — by the stage's own rules (:mod:`curate.manifest`), never re-derived here:

- ``filter``, ``extract-frames``, ``coldstart``, ``export``: the stage itself finds its ``manifest.json`` matching
  this config and input (a finished run) and writes nothing. Otherwise it runs and resumes what is
  already in the folder; a folder pinned to other frame shaping (extract-frames) or another
  model/template/sampling (coldstart) is the recipe's own, so the step runs with ``replace=True`` and
  the stage empties it first (where ``curate <stage>`` by hand refuses it);
  An export's manifest is ``<file>.manifest.json`` beside its file;
- ``publish``: a sidecar ``.<input name>.<step>.publish.json`` next to its input holds a hash of the
  step's options and of its inputs (size and modification time of the input table, exemplars,
  manifest); the step is skipped when that hash is unchanged.

A step that runs changes its output, and so the hash of every later step that reads it: changing one
option reruns that step and the ones downstream of it, nothing before it; a skipped step writes
nothing. ``start``/``until`` (``--from``/``--until``, a step's name or stage) restrict which steps are
considered; the outputs of earlier steps are still referenced by path.

Each step holds the lock of the folder it writes (:mod:`curate.lock`: the output folder; for ``export``
the folder of its file) for the whole step, so a second ``curate run`` (or a stage by hand) on the same
folder is refused at once; once held, the stage removes the temporaries a killed run left there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curate.coldstart.stage import SURFACE as COLDSTART
from curate.errors import UserError
from curate.export import SURFACE as EXPORT
from curate.filter import SURFACE as FILTER
from curate.frames.extract import SURFACE as EXTRACT
from curate.options import Surface
from curate.publish import SURFACE as PUBLISH

STAGES = ("filter", "extract-frames", "coldstart", "export", "publish")
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
EXECUTORS = ("local", "ray")
RAY_STAGES = ("filter", "extract-frames", "coldstart")  # the stages with a Ray path (--executor ray)

# the stages whose options are a config's (curate.options.Surface): names, types, defaults and bounds
SURFACES: dict[str, Surface] = {
    "filter": FILTER,
    "extract-frames": EXTRACT,
    "coldstart": COLDSTART,
    "export": EXPORT,
    "publish": PUBLISH,
}


@dataclass
class Step:
    name: str
    stage: str
    options: dict[str, Any]  # resolved: underscores, vars substituted, paths absolute

    @property
    def output(self) -> Path | None:
        return self.options.get("output")

    @property
    def input(self) -> Path | None:
        return self.options.get("input")


@dataclass
class Recipe:
    path: Path
    base: Path
    vars: dict[str, Any]
    steps: list[Step]


@dataclass
class StepResult:
    name: str
    stage: str
    output: Path | None
    status: str  # "ran", "skipped" (up to date) or "unavailable" (a dry-run publish without the publish extra)
    summary: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- loading


def parse_sets(pairs: list[str] | None) -> dict[str, Any]:
    """``["KEY=VALUE", …]`` → ``{KEY: value}`` with each value read as YAML (``2`` → int)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {pair!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def _key(name: str) -> str:
    return str(name).strip().replace("-", "_")


def _substitute(value: Any, lookup: Callable[[str], Any], where: str) -> Any:
    """Replace ``${NAME}`` placeholders; a value that is exactly one placeholder keeps the looked-up type."""
    if isinstance(value, list):
        return [_substitute(v, lookup, where) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, lookup, where) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    whole = PLACEHOLDER.fullmatch(value.strip())
    if whole:
        return lookup(whole.group(1).strip())

    return PLACEHOLDER.sub(lambda match: str(lookup(match.group(1).strip())), value)


def _resolve_vars(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    resolved: dict[str, Any] = {}

    def lookup(name: str, seen: tuple[str, ...] = ()) -> Any:
        if name in resolved:
            return resolved[name]
        if name not in raw:
            raise UserError(f"{path}: unknown var ${{{name}}}")
        if name in seen:
            raise UserError(f"{path}: var {name!r} refers to itself")
        resolved[name] = _substitute(raw[name], lambda n: lookup(n, (*seen, name)), f"vars.{name}")
        return resolved[name]

    for name in raw:
        lookup(name)
    return resolved


def _absolute(value: Any, base: Path) -> Path:
    path = Path(os.path.expanduser(str(value)))
    return path if path.is_absolute() else (base / path).resolve()


def _kind(stage: str, key: str) -> str:
    """How a recipe value is resolved before validation: ``path``/``paths`` against the base folder,
    ``model``/``template`` only when they name a file; anything else is left to the config's validation."""
    if stage == "coldstart" and key in ("model", "template"):
        return key
    flag = SURFACES[stage].flags.get(key)
    if flag is None:
        return "any"
    if flag.is_list():
        return "paths" if flag.is_path() else "list"
    return "path" if flag.is_path() else "any"


def _coerce(stage: str, key: str, value: Any, base: Path, where: str) -> Any:
    kind = _kind(stage, key)
    if value is None:
        return None
    try:
        if kind == "path":
            return _absolute(value, base)
        if kind == "paths":
            return [_absolute(v, base) for v in (value if isinstance(value, list) else [value])]
        if kind == "model":  # a Hub id stays as written; a folder that exists becomes absolute
            candidate = _absolute(value, base)
            return str(candidate) if candidate.exists() else str(value)
        if kind == "template":  # a built-in name or a Jinja file
            candidate = _absolute(value, base)
            return str(candidate) if str(value).endswith((".jinja", ".j2")) or candidate.is_file() else str(value)
        if kind == "list":  # a repeatable flag: a list or a single value
            return [str(v) for v in (value if isinstance(value, list) else [value])]
    except (TypeError, ValueError):
        raise UserError(f"{where}: {key.replace('_', '-')} {value!r}: expected {kind}") from None
    return value


def load_recipe(
    path: str | os.PathLike,
    overrides: dict[str, Any] | list[str] | None = None,
    base_dir: str | os.PathLike | None = None,
) -> Recipe:
    """Read, check and resolve a recipe (see the module docstring). ``overrides``: ``--set`` pairs or a dict."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read the recipe: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: a recipe is UTF-8 text (byte {exc.start} is not UTF-8)") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("stages"), list) or not doc["stages"]:
        raise UserError(f"{path}: a recipe is a mapping with a non-empty 'stages' list")
    unknown = set(doc) - {"vars", "stages", "name", "description"}
    if unknown:
        raise UserError(f"{path}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    base = Path(base_dir).resolve() if base_dir is not None else path.resolve().parent
    sets = overrides if isinstance(overrides, dict) else parse_sets(overrides)
    raw_vars = dict(doc.get("vars") or {})
    step_names = [s.get("name", s.get("stage")) if isinstance(s, dict) else None for s in doc["stages"]]
    step_sets: dict[str, dict[str, Any]] = {}
    for key, value in sets.items():
        head, dot, option = key.partition(".")
        if dot and head in step_names:
            step_sets.setdefault(head, {})[_key(option)] = value
        elif dot:
            raise UserError(f"--set {key}: no step named {head!r} (steps: {', '.join(map(str, step_names))})")
        else:
            raw_vars[key] = value
    variables = _resolve_vars(raw_vars, path)

    steps: list[Step] = []
    by_name: dict[str, Step] = {}
    for index, entry in enumerate(doc["stages"]):
        where = f"{path}: stages[{index}]"
        if not isinstance(entry, dict):
            raise UserError(f"{where}: expected a mapping with name, stage and options")
        stage = entry.get("stage")
        if stage not in STAGES:
            raise UserError(f"{where}: stage {stage!r}: one of {', '.join(STAGES)}")
        name = str(entry.get("name", stage))
        where = f"{path}: step {name!r}"
        if name in by_name:
            raise UserError(f"{where}: two steps named {name!r}")
        extra = set(entry) - {"name", "stage", "options"}
        if extra:
            raise UserError(f"{where}: unknown key(s): {', '.join(sorted(extra))}")

        def lookup(ref: str, where: str = where) -> Any:
            if ref.startswith("stages."):
                step_name, _, attr = ref[len("stages.") :].rpartition(".")
                if step_name not in by_name or attr not in ("output", "input"):
                    raise UserError(f"{where}: ${{{ref}}}: no earlier step {step_name!r} with that {attr}")
                found = getattr(by_name[step_name], attr)
                if found is None:
                    raise UserError(f"{where}: ${{{ref}}}: step {step_name!r} has no {attr}")
                return str(found)
            if ref not in variables:
                raise UserError(f"{where}: unknown var ${{{ref}}}")
            return variables[ref]

        options = {_key(k): v for k, v in (entry.get("options") or {}).items()}
        options.update(step_sets.get(name, {}))
        options = {k: _substitute(v, lookup, where) for k, v in options.items()}
        known = set(SURFACES[stage].flags) | ({"input"} if stage == "filter" else set())  # input: inputs' alias
        bad = sorted(set(options) - known)
        if bad:
            names = ", ".join(b.replace("_", "-") for b in bad)
            raise UserError(f"{where}: unknown option(s) for {stage}: {names}")
        if stage != "filter" and options.get("input") is None and steps:
            options["input"] = steps[-1].output if steps[-1].output is not None else steps[-1].input
        if stage == "filter" and "input" in options:
            options["inputs"] = options.pop("input")
        if stage == "publish":
            options.setdefault("dry_run", True)
        options = {k: _coerce(stage, k, v, base, where) for k, v in options.items()}
        required = SURFACES[stage].required()
        missing = [m.replace("_", "-") for m in required if options.get(m) in (None, [])]
        if missing:
            raise UserError(f"{where}: missing option(s) for {stage}: {', '.join(missing)}")
        step = Step(name, stage, options)
        step_config(step, where=f"{where}: ")  # every value checked against the stage's config before any step runs
        steps.append(step)
        by_name[name] = step
    return Recipe(path, base, variables, steps)


def select(steps: list[Step], start: str | None = None, until: str | None = None) -> list[Step]:
    """The steps from ``start`` through ``until`` (a step's name, else the first/last step of that stage)."""

    def index(ref: str, flag: str, last: bool) -> int:
        for i, step in enumerate(steps):
            if step.name == ref:
                return i
        hits = [i for i, step in enumerate(steps) if step.stage == ref]
        if not hits:
            names = ", ".join(s.name for s in steps)
            raise UserError(f"{flag} {ref!r}: no step or stage of that name (steps: {names})")
        return hits[-1] if last else hits[0]

    lo = index(start, "--from", False) if start else 0
    hi = index(until, "--until", True) if until else len(steps) - 1
    if lo > hi:
        raise UserError(f"--from {start} comes after --until {until}")
    return steps[lo : hi + 1]


# ------------------------------------------------------------------------------------------ fingerprints


def _describe_input(path: Path | None) -> list:
    """What identifies an input: size and mtime of the table-like files in a folder (or of the file)."""
    if path is None:
        return []
    if path.is_dir():
        names = ("mcq.parquet", "exemplars.parquet", "passrate.parquet", "manifest.json", "run.json")
        files = [path / n for n in names if (path / n).is_file()]
    else:
        files = [path]
    out = []
    for f in files:
        st = f.stat() if f.exists() else None
        out.append([str(f), st.st_size if st else None, st.st_mtime_ns if st else None])
    return out


def _digest(step: Step, inputs: list[Path | None]) -> str:
    described = [_describe_input(p) for p in inputs]
    blob = json.dumps([step.stage, _jsonable(step.options), described], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _sidecar(step: Step) -> Path:
    """A publish step's record of what it last published (publish writes no output folder of its own)."""
    return step.input.parent / f".{step.input.name}.{step.name}.publish.json"


def _sidecar_matches(step: Step, digest: str) -> bool:
    path = _sidecar(step)
    if not path.is_file() or not step.input.exists():
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("digest") == digest
    except (OSError, ValueError):
        return False


def _write_sidecar(step: Step, digest: str) -> None:
    from schemas.atomic import write_json_atomic

    write_json_atomic({"step": step.name, "stage": step.stage, "digest": digest}, _sidecar(step))


def step_config(step: Step, executor: str | None = None, where: str | None = None) -> Any:
    """The stage config of a filter, extract-frames or coldstart step, validated by the stage's
    :class:`~curate.options.Surface` (a bad value: one line naming the recipe, the step and the option);
    ``executor`` (``curate run --executor``) overrides the step's own: every stage with a Ray path (filter's
    probing, extract-frames, coldstart) runs there."""
    options = dict(step.options)
    if executor is not None and step.stage in RAY_STAGES:
        options["executor"] = executor
    return SURFACES[step.stage].build(options, f"step {step.name!r}: " if where is None else where)


def _filter(step: Step, ctx: dict) -> StepResult:
    from curate.filter import run

    result = run(step_config(step, ctx.get("executor")), progress=ctx.get("progress"))
    summary = {"read": result.read, "kept": result.kept, "rejected": result.rejected}
    return StepResult(step.name, step.stage, step.output, "skipped" if result.skipped else "ran", summary)


def _extract(step: Step, ctx: dict) -> StepResult:
    from curate.frames.extract import run

    result = run(step_config(step, ctx.get("executor")), progress=ctx.get("progress"), replace=True)
    summary = {k: v for k, v in vars(result).items() if k not in ("output", "up_to_date")}
    return StepResult(step.name, step.stage, step.output, "skipped" if result.up_to_date else "ran", summary)


def _coldstart(step: Step, ctx: dict) -> StepResult:
    from curate.coldstart.stage import run

    config = step_config(step, ctx.get("executor"))
    backend = ctx["backend_factory"](config) if ctx.get("backend_factory") else None
    result = run(config, backend=backend, progress=ctx.get("progress"), replace=True)
    return StepResult(
        step.name, step.stage, step.output, "skipped" if result.up_to_date else "ran", dict(result.run["counts"])
    )


def _export(step: Step, ctx: dict) -> StepResult:
    from curate.export import run

    result = run(step_config(step))
    return StepResult(
        step.name, step.stage, step.output, "skipped" if result.up_to_date else "ran", {"rows": result.rows}
    )


def _publish(step: Step, ctx: dict) -> StepResult:
    from curate.extras import MissingExtra
    from curate.publish import run

    config = step_config(step)
    digest = _digest(step, [config.directory])
    if _sidecar_matches(step, digest):
        return StepResult(step.name, step.stage, None, "skipped")
    try:
        result = run(config)
    except MissingExtra as exc:
        if config.dry_run:  # a base install plans no upload: the step says why it did nothing
            return StepResult(step.name, step.stage, None, "unavailable", {"reason": str(exc)})
        raise
    if ctx.get("echo") is not None and config.dry_run:  # publish returns its plan and card; the caller shows them
        for line in result.lines():
            ctx["echo"](line)
    _write_sidecar(step, digest)
    return StepResult(step.name, step.stage, None, "ran", _jsonable(result.summary()))


STEP_RUNNERS: dict[str, Callable[[Step, dict], StepResult]] = {
    "filter": _filter,
    "extract-frames": _extract,
    "coldstart": _coldstart,
    "export": _export,
    "publish": _publish,
}


def run_recipe(
    path: str | os.PathLike,
    *,
    executor: str | None = None,
    address: str | None = None,
    start: str | None = None,
    until: str | None = None,
    overrides: dict[str, Any] | list[str] | None = None,
    base_dir: str | os.PathLike | None = None,
    progress: Callable[[int], Callable[[], None]] | None = None,
    on_step: Callable[[Step], None] | None = None,
    backend_factory: Callable[[Any], Any] | None = None,
    echo: Callable[[str], None] | None = None,
) -> list[StepResult]:
    """Run the recipe at ``path`` (see the module docstring); one :class:`StepResult` per selected step.

    ``executor`` (``local``/``ray``) overrides the executor of every step with a Ray path (filter,
    extract-frames, coldstart); with ``ray``, one Ray connection (``address``: the cluster to join, else
    ``RAY_ADDRESS``, else a local instance) serves the whole recipe; ``start``/``until``
    name a step or a stage; ``overrides`` are ``--set`` pairs; ``on_step`` is called before each step
    (for a heading); ``backend_factory(ColdstartConfig)`` builds the coldstart backend (tests); ``echo``
    receives a dry-run publish step's plan and card lines (default: not shown).
    """
    if executor is not None and executor not in EXECUTORS:
        raise UserError(f"--executor {executor!r}: one of {', '.join(EXECUTORS)}")
    if address is not None and executor != "ray":
        raise UserError("--address joins a Ray cluster: use it with --executor ray")
    recipe = load_recipe(path, overrides, base_dir)
    ctx = {"executor": executor, "progress": progress, "backend_factory": backend_factory, "echo": echo}
    results = []
    steps = select(recipe.steps, start, until)
    with _ray_session(executor, address):
        for step in steps:
            if on_step is not None:
                on_step(step)
            with _step_lock(step):
                results.append(STEP_RUNNERS[step.stage](step, ctx))
    return results


@contextlib.contextmanager
def _ray_session(executor: str | None, address: str | None) -> Iterator[None]:
    """With ``--executor ray``: one Ray connection for every step (closed at the end if opened here)."""
    if executor != "ray":
        yield
        return
    from curate.ray_cluster import session

    with session(address):
        yield


@contextlib.contextmanager
def _step_lock(step: Step) -> Iterator[None]:
    """Hold the folder a step writes for the whole step: a second ``curate run`` (or the stage by hand) on
    that folder is refused at once. An export writes a file: the lock is its folder's
    (:func:`curate.export.export_lock`). The stages remove the temporaries a killed run left once they
    hold the lock; ``publish`` locks its staging folder itself."""
    from curate.export import export_lock
    from curate.lock import output_lock

    if step.stage == "publish" or step.output is None:
        yield
        return
    with export_lock(step.output) if step.stage == "export" else output_lock(step.output):
        yield
