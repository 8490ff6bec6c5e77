"""Architecture files: functions and the compositions to compare, in TOML.

Layout (see ``examples/video_pipeline.toml``)::

    title = "Video pipeline"
    invocations = 1_000_000              # optional: requests per month
    provider = ["aws-lambda", "gcp-cloud-run"]   # optional: platform key(s) to price on
    region = { aws-lambda = "eu-central-1" }     # optional: one region, or per provider
    compare = ["monolith", "sync"]      # optional: default, every architecture no other uses

    [functions.transcode_720p]          # the keyword arguments of costmodel.Function
    memory_mb = 2048
    cpu_share = 0.9                     # CPU share of the run time (CPU-time billers)
    p50_ms = 4000                       # duration: p50_ms + p99_ms (lognormal),
    p99_ms = 9000                       #   duration_ms (fixed) or samples_ms (empirical)
    error_rate = 0.01
    keep_warm = { every_s = 300, concurrency = 2, warmer_function = "warmer" }
                                        # costmodel.KeepWarm's fields; warmer_function
                                        #   names a function, or is a table of one

    [architectures.sync]
    type = "sync_chain"                 # monolith, sync_chain, async_chain, fan_out, workflow
    steps = ["upload", "transcodes", "notify"]   # function or architecture names
    retries = 2                         # the keyword arguments of the builder
    hedge = { attempts = 2, delay_ms = 50 }   # sync_chain: hedged calls (loser_billing =
                                        #   "run_to_completion" or "until_cancel")

Every mistake raises :class:`costmodel.InvalidFile` with the file, the dotted field
(``architectures.sync.steps``) and the reason: TOML syntax, an unknown field, a step
naming no function or architecture, a cycle of architectures, a probability outside
[0, 1], a p99 below the p50, or any value the builders refuse.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from resilience._validate import Number, number

from ..catalog.sheets import price_sheet
from ..errors import InvalidFile, InvalidUsage, UnknownProvider
from ..toml_files import read_toml
from .compositions import (
    Architecture,
    Function,
    Hedge,
    async_chain,
    fan_out,
    monolith,
    sync_chain,
    workflow,
)
from .distributions import Distribution, empirical, fixed, lognormal
from .keep_warm import KeepWarm

__all__ = ["ArchitectureFile", "load_architectures"]

_BUILDERS: dict[str, Callable[..., Architecture]] = {
    "monolith": monolith,
    "sync_chain": sync_chain,
    "async_chain": async_chain,
    "fan_out": fan_out,
    "workflow": workflow,
}
_TOP = {"title", "invocations", "compare", "functions", "architectures", "provider", "region"}
_TYPE = "type"
_DURATION = {"duration_ms", "p50_ms", "p99_ms", "samples_ms"}
_FUNCTION_FIELDS = (
    set(inspect.signature(Function).parameters) - {"name", "duration", "_"}
) | _DURATION
_PROBABILITIES = {"error_rate", "cold_start_probability", "breaker_open_share", "cache_hit_ratio"}
_PROBABILITY = Number(
    low=0, high=1, allowed="a probability in [0, 1]", message="{value} is not {allowed}"
)
_HEDGE_FIELDS = {"attempts", "delay_ms", "loser_billing"}
_KEEP_WARM_FIELDS = {f.name for f in fields(KeepWarm)}
_WARMER = "warmer_function"
_INVOCATIONS = Number(
    low=0, finite=False, allowed="a count >= 0", message="{value} is not {allowed}"
)


def _fields(kind: str) -> set[str]:
    params = inspect.signature(_BUILDERS[kind]).parameters.values()
    names = {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return (names - {"name"}) | {_TYPE, "steps"}


@dataclass(frozen=True, slots=True)
class ArchitectureFile(Mapping[str, Architecture]):
    """A loaded architecture file: a mapping ``{name: architecture}`` of those to compare.

    Attributes:
        path: the file.
        title: its title ("" when absent).
        invocations: its requests per month, or None.
        functions: every function, by name.
        architectures: every architecture, by name (compared or used by others).
        compared: names of the architectures to compare, in order.
        provider: the function platform key(s) to price on, or None (the caller's).
        region: one region, or ``{provider: region}``, or None (each sheet's own).
    """

    path: str
    title: str
    invocations: float | None
    functions: dict[str, Function] = field(repr=False)
    architectures: dict[str, Architecture] = field(repr=False)
    compared: tuple[str, ...] = ()
    provider: tuple[str, ...] | None = None
    region: str | Mapping[str, str] | None = None

    def __getitem__(self, name: str) -> Architecture:
        if name not in self.compared:
            raise KeyError(name)
        return self.architectures[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.compared)

    def __len__(self) -> int:
        return len(self.compared)


class _Loader:
    def __init__(self, path: str) -> None:
        self.path = path
        # keep_warm tables whose warmer_function names another function: (function, name)
        self.warmers: dict[str, str] = {}

    def fail(self, where: str, reason: str) -> InvalidFile:
        return InvalidFile(self.path, where, reason)

    def table(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a table, got {type(value).__name__}")
        return value

    def known(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(
                    f"{where}.{key}" if where else key,
                    f"unknown field; allowed: {', '.join(sorted(allowed))}",
                )

    def probabilities(self, table: Mapping[str, Any], where: str) -> None:
        for key in _PROBABILITIES & set(table):
            error = functools.partial(self.fail, f"{where}.{key}")
            number(key, table[key], _PROBABILITY, error=error)

    def rewrap(self, exc: InvalidUsage, where: str) -> InvalidFile:
        match = re.match(r"(\w+)=", str(exc))
        field_ = f"{where}.{match.group(1)}" if match else where
        return self.fail(field_, str(exc))

    def duration(self, spec: dict[str, Any], where: str) -> Distribution:
        given = _DURATION & set(spec)
        if given == {"duration_ms"}:
            return fixed(spec.pop("duration_ms"))
        if given == {"p50_ms", "p99_ms"}:
            p50, p99 = spec.pop("p50_ms"), spec.pop("p99_ms")
            numbers = all(isinstance(v, (int, float)) for v in (p50, p99))
            if numbers and p99 < p50:
                raise self.fail(f"{where}.p99_ms", f"p99_ms={p99!r} is below p50_ms={p50!r}")
            return lognormal(p50_ms=p50, p99_ms=p99)
        if given == {"samples_ms"}:
            return empirical(spec.pop("samples_ms"))
        raise self.fail(
            where,
            "give the duration as duration_ms, or p50_ms and p99_ms, or samples_ms "
            f"(got {', '.join(sorted(given)) or 'none'})",
        )

    def hedge(self, raw: object, where: str) -> Hedge:
        """A sync chain's ``hedge = {attempts = 2, delay_ms = 50, loser_billing = "..."}``."""
        spec = self.table(raw, where)
        self.known(spec, _HEDGE_FIELDS, where)
        if "delay_ms" not in spec:
            raise self.fail(f"{where}.delay_ms", "missing: the wait before each hedge, ms")
        try:
            return Hedge(**spec)
        except InvalidUsage as exc:
            raise self.rewrap(exc, where) from exc

    def function(self, name: str, raw: object, where: str | None = None) -> Function:
        where = where or f"functions.{name}"
        spec = dict(self.table(raw, where))
        self.known(spec, _FUNCTION_FIELDS, where)
        self.probabilities(spec, where)
        try:
            duration = self.duration(spec, where)
            if "keep_warm" in spec:
                spec["keep_warm"] = self.keep_warm(name, spec["keep_warm"], f"{where}.keep_warm")
            return Function(name, duration=duration, **spec)
        except InvalidUsage as exc:
            if isinstance(exc, InvalidFile):
                raise
            raise self.rewrap(exc, where) from exc

    def keep_warm(self, name: str, raw: object, where: str) -> KeepWarm:
        """A function's ``keep_warm = {every_s = 300, ...}``: KeepWarm's fields, with
        ``warmer_function`` the name of another function (resolved once all are read) or a
        table of one (named ``<function>-warmer``)."""
        spec = dict(self.table(raw, where))
        self.known(spec, _KEEP_WARM_FIELDS, where)
        warmer = spec.pop(_WARMER, None)
        if isinstance(warmer, str):
            self.warmers[name] = warmer
        elif isinstance(warmer, dict):
            spec[_WARMER] = self.function(f"{name}-warmer", warmer, f"{where}.{_WARMER}")
        elif warmer is not None:
            raise self.fail(
                f"{where}.{_WARMER}",
                f"{warmer!r}: must name a function of [functions] or be a table of one",
            )
        try:
            return KeepWarm.from_table(spec)
        except InvalidUsage as exc:
            raise self.rewrap(exc, where) from exc

    def resolve_warmers(self, functions: dict[str, Function]) -> None:
        """Set each ``warmer_function = "name"`` to that function."""
        for name, warmer in self.warmers.items():
            where = f"functions.{name}.keep_warm.{_WARMER}"
            if warmer == name:
                raise self.fail(where, f"{warmer!r}: a function cannot send its own pings")
            if warmer not in functions:
                raise self.fail(
                    where, f"no function named {warmer!r}; functions: {', '.join(functions)}"
                )
            function = functions[name]
            assert function.keep_warm is not None  # set by keep_warm()
            kept = replace(function.keep_warm, warmer_function=functions[warmer])
            functions[name] = replace(function, keep_warm=kept)

    def load(self) -> ArchitectureFile:
        data = self.read()
        self.known(data, _TOP, "")
        title = data.get("title", "")
        if not isinstance(title, str):
            raise self.fail("title", "must be a string")
        invocations = self.invocations(data.get("invocations"))
        functions = self.functions(data.get("functions", {}))
        specs = self.architecture_specs(data.get("architectures", {}), functions)
        built: dict[str, Architecture] = {}
        for name in specs:
            self.architecture(name, specs, functions, built, ())
        compared = self.compared(data.get("compare"), specs)
        provider = self.providers(data.get("provider"))
        region = self.region(data.get("region"), provider)
        return ArchitectureFile(
            self.path, title, invocations, functions, built, compared, provider, region
        )

    def providers(self, value: object) -> tuple[str, ...] | None:
        """The file's platform key(s): a string or an array of them, each in the catalog."""
        if value is None:
            return None
        keys = [value] if isinstance(value, str) else value
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            raise self.fail(
                "provider", f"must be a platform key or an array of them, got {value!r}"
            )
        for key in keys:
            try:
                price_sheet(key)
            except UnknownProvider as exc:
                raise self.fail("provider", str(exc)) from None
        return tuple(keys)

    def region(
        self, value: object, provider: tuple[str, ...] | None
    ) -> str | Mapping[str, str] | None:
        """The file's region: one code, or a table ``{provider = region}``; each checked
        against the provider's sheet when the file names its providers."""
        if value is None:
            return None
        pairs = value if isinstance(value, dict) else dict.fromkeys(provider or (), value)
        if not isinstance(value, (str, dict)) or not all(
            isinstance(v, str) for v in pairs.values()
        ):
            raise self.fail(
                "region", f"must be a region code or a table {{provider = region}}, got {value!r}"
            )
        for key, code in pairs.items():
            if provider is not None and key not in provider:
                raise self.fail(f"region.{key}", f"not among the providers {list(provider)}")
            try:
                price_sheet(key, region=str(code))
            except (InvalidUsage, UnknownProvider) as exc:
                raise self.fail(
                    f"region.{key}" if isinstance(value, dict) else "region", str(exc)
                ) from None
        return value

    def read(self) -> dict[str, Any]:
        """The file's TOML document."""
        return read_toml(self.path)

    def invocations(self, value: object) -> float | None:
        """The file's requests per month (a number >= 0), or None when absent."""
        if value is None:
            return None
        if isinstance(value, float) and math.isnan(value):
            return value  # NaN passes, as it always has: compare() refuses it
        error = functools.partial(self.fail, "invocations")
        return number("invocations", value, _INVOCATIONS, error=error)

    def functions(self, raw: object) -> dict[str, Function]:
        """Every ``[functions.NAME]`` table as a Function; at least one."""
        functions = {
            name: self.function(name, spec) for name, spec in self.table(raw, "functions").items()
        }
        if not functions:
            raise self.fail("functions", "define at least one function")
        self.resolve_warmers(functions)
        return functions

    def architecture_specs(self, raw: object, functions: Mapping[str, Function]) -> dict[str, Any]:
        """The ``[architectures.NAME]`` tables (at least one), no name taken by a function."""
        specs = self.table(raw, "architectures")
        if not specs:
            raise self.fail("architectures", "define at least one architecture")
        for name in specs:
            if name in functions:
                raise self.fail(f"architectures.{name}", "a function has the same name")
        return specs

    def compared(self, compare: object, specs: Mapping[str, Any]) -> tuple[str, ...]:
        """The names in ``compare``; by default every architecture no other one uses."""
        if compare is None:
            used = {s for spec in specs.values() for s in spec.get("steps", []) if s in specs}
            return tuple(n for n in specs if n not in used)
        if not isinstance(compare, list) or not all(isinstance(n, str) for n in compare):
            raise self.fail("compare", "must be a list of architecture names")
        for i, n in enumerate(compare):
            if n not in specs:
                raise self.fail(
                    f"compare[{i}]", f"no architecture {n!r}; known: {', '.join(specs)}"
                )
        return tuple(compare)

    def architecture(
        self,
        name: str,
        specs: Mapping[str, Any],
        functions: Mapping[str, Function],
        built: dict[str, Architecture],
        stack: tuple[str, ...],
    ) -> Architecture:
        if name in built:
            return built[name]
        where = f"architectures.{name}"
        if name in stack:
            cycle = " -> ".join((*stack[stack.index(name) :], name))
            raise self.fail(f"{where}.steps", f"a cycle of architectures: {cycle}")
        spec = dict(self.table(specs[name], where))
        kind = spec.get(_TYPE)
        if kind not in _BUILDERS:
            raise self.fail(f"{where}.{_TYPE}", f"{kind!r}: must be one of {', '.join(_BUILDERS)}")
        self.known(spec, _fields(kind), where)
        self.probabilities(spec, where)
        steps = spec.pop("steps", None)
        spec.pop(_TYPE)
        if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
            raise self.fail(f"{where}.steps", "must be a non-empty list of names")
        resolved: list[Architecture] = []
        for i, step in enumerate(steps):
            if step in functions:
                resolved.append(functions[step])
            elif step in specs:
                resolved.append(self.architecture(step, specs, functions, built, (*stack, name)))
            else:
                raise self.fail(
                    f"{where}.steps[{i}]",
                    f"no function or architecture named {step!r}; functions: "
                    f"{', '.join(functions)}",
                )
        if "on_failure" in spec:
            target = spec["on_failure"]
            if target not in functions:
                raise self.fail(f"{where}.on_failure", f"no function named {target!r}")
            spec["on_failure"] = functions[target]
        if "hedge" in spec:
            spec["hedge"] = self.hedge(spec["hedge"], f"{where}.hedge")
        if kind in ("monolith", "workflow"):
            spec["name"] = name
        try:
            architecture = _BUILDERS[kind](*resolved, **spec)
        except InvalidUsage as exc:
            raise self.rewrap(exc, where) from exc
        except TypeError as exc:  # a value of the wrong type for the builder
            raise self.fail(where, str(exc)) from exc
        built[name] = architecture
        return architecture


def load_architectures(path: str | Path) -> ArchitectureFile:
    """Load and check an architecture file.

    Args:
        path: a TOML file (layout in this module's docstring).

    Returns:
        An :class:`ArchitectureFile`, a mapping ``{name: architecture}`` of the
        architectures to compare, ready for :func:`costmodel.compare`.

    Raises:
        InvalidFile: with the path, the dotted field and the reason.

    In a checkout, ``load_architectures("examples/video_pipeline.toml")``; anywhere, the
    copy that ships with the package:

    >>> from importlib import resources
    >>> arch = load_architectures(resources.files("costmodel") / "examples/video_pipeline.toml")
    >>> list(arch)
    ['monolith', 'sync_chain', 'async_storage', 'workflow']
    """
    return _Loader(str(path)).load()
