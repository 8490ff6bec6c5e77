"""The usage of one state machine: Infracost's keys, plus what each state does.

A state machine resource's block of a usage file (YAML already parsed), or the mapping
passed as ``usage=`` to :func:`costmodel.from_asl`:

=========================  ===========================================================
``monthly_requests``       executions a month (Infracost)
``monthly_transitions``    transitions a month (Infracost, Standard): with
                           ``monthly_requests``, fixes the transitions per execution
                           instead of deriving them from the definition
``workflow_duration_ms``   duration of an Express execution (Infracost), an amount:
                           replaces the duration derived from the definition
``memory_mb``              memory an Express execution is billed at (Infracost;
                           default 64, billed in 64 MB steps)
``states``                 ``{StateName: {key: value}}``, keys below
=========================  ===========================================================

Per state (each an error on a state of another type):

=======================  ===========  ===============================================
``failure_probability``  Task         chance that one attempt fails, in [0, 1]
                                      (drives Retry and Catch)
``error``                Task         the error name of those failures (default: one
                                      the state's first Retry and first Catch rules
                                      handle)
``duration_ms``          Task, Wait   an amount: the Task's run (default: its mapped
                                      function's) or the Wait (default: ``Seconds``)
``items``                Map          an amount: items (Map iterations) per run
``choices``              Choice       ``{target state: probability}`` (the rest goes
                                      to ``Default``, or is split equally)
``iterations``           Choice       an amount: how many times per run the Choice
                                      takes a branch that loops back to it
=======================  ===========================================================

Amounts take every form of :func:`costmodel.iac.values.amount` (a number,
``{poisson: 10}``, ``{lognormal: {p50:, p99:}}`` ...).

>>> u = state_machine_usage({"monthly_requests": 1000,
...                          "states": {"Process Messages": {"items": {"poisson": 10}}}})
>>> u.monthly_requests, u.states["Process Messages"].items.mean
(1000.0, 10.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from resilience._validate import Number, number

from ..errors import InvalidFile
from .values import Amount, amount

__all__ = ["STATE_KEYS", "USAGE_KEYS", "StateMachineUsage", "StateUsage", "state_machine_usage"]


@dataclass(frozen=True, slots=True)
class StateUsage:
    """What the usage says of one state (None: not given)."""

    failure_probability: float | None = None
    error: str | None = None
    duration_ms: Amount | None = None
    items: Amount | None = None
    choices: dict[str, float] | None = None
    iterations: Amount | None = None


@dataclass(frozen=True, slots=True)
class StateMachineUsage:
    """A state machine's usage (see the module docstring)."""

    monthly_requests: float | None = None
    monthly_transitions: float | None = None
    workflow_duration_ms: Amount | None = None
    memory_mb: float = 64.0
    states: dict[str, StateUsage] = field(default_factory=dict)
    source: str = "usage"


Fail = Callable[[str, str], InvalidFile]

_COUNT = Number(low=0, allowed="a finite number >= 0")
_MEMORY = Number(low=64, high=1_048_576, allowed="a number of MB in [64, 1048576]")
_SHARE = Number(low=0, high=1, allowed="a probability in [0, 1]")


def _number(rule: Number) -> Callable[[object, str, Fail], float]:
    def read(value: object, key: str, fail: Fail) -> float:
        return float(number("", value, rule, error=lambda m: fail(key, m.removeprefix("="))))

    return read


def _amount(value: object, key: str, fail: Fail) -> Amount:
    try:
        return amount(value, field=key)
    except InvalidFile:
        raise
    except ValueError as exc:
        raise fail(key, str(exc).removeprefix(f"{key}: ")) from exc


def _text(value: object, key: str, fail: Fail) -> str:
    if not isinstance(value, str) or not value:
        raise fail(key, f"{value!r}: must be an error name (a non-empty string)")
    return value


def _choices(value: object, key: str, fail: Fail) -> dict[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise fail(key, f"{value!r}: must map target states to probabilities")
    out = {str(k): _number(_SHARE)(v, f"{key}.{k}", fail) for k, v in value.items()}
    if sum(out.values()) > 1 + 1e-9:
        raise fail(key, f"the probabilities sum to {sum(out.values()):g}; at most 1 is allowed")
    return out


#: Top-level keys: name -> reader.
USAGE_KEYS: dict[str, Callable[[object, str, Fail], Any]] = {
    "monthly_requests": _number(_COUNT),
    "monthly_transitions": _number(_COUNT),
    "workflow_duration_ms": _amount,
    "memory_mb": _number(_MEMORY),
}

#: Per-state keys: name -> (the state types that take it, reader).
STATE_KEYS: dict[str, tuple[tuple[str, ...], Callable[[object, str, Fail], Any]]] = {
    "failure_probability": (("Task",), _number(_SHARE)),
    "error": (("Task",), _text),
    "duration_ms": (("Task", "Wait"), _amount),
    "items": (("Map",), _amount),
    "choices": (("Choice",), _choices),
    "iterations": (("Choice",), _amount),
}


def state_machine_usage(
    mapping: Mapping[str, Any] | None, *, source: str | None = None
) -> StateMachineUsage:
    """Read a state machine's usage mapping (keys checked, values validated).

    State names and the types that take each key are checked by :func:`costmodel.from_asl`,
    which knows the definition.

    Raises:
        InvalidFile: naming ``source``, the key (``states.<name>.<key>``) and what is allowed.
    """
    label = source or "usage"

    def fail(key: str, reason: str) -> InvalidFile:
        return InvalidFile(label, key, reason)

    if mapping is None:
        return StateMachineUsage(source=label)
    if not isinstance(mapping, Mapping):
        raise fail("usage", f"{type(mapping).__name__} given: must be a mapping of usage keys")
    top: dict[str, Any] = {}
    for key, value in mapping.items():
        if key == "states":
            continue
        if key not in USAGE_KEYS:
            known = ", ".join([*USAGE_KEYS, "states"])
            raise fail(str(key), f"unknown key for a state machine; known: {known}")
        top[key] = USAGE_KEYS[key](value, key, fail)
    states = mapping.get("states", {})
    if not isinstance(states, Mapping):
        raise fail("states", f"{states!r}: must map state names to their usage")
    per_state = {str(name): _state(raw, f"states.{name}", fail) for name, raw in states.items()}
    return StateMachineUsage(**top, states=per_state, source=label)


def _state(raw: object, where: str, fail: Fail) -> StateUsage:
    if not isinstance(raw, Mapping):
        raise fail(where, f"{raw!r}: must be a mapping of {', '.join(STATE_KEYS)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in STATE_KEYS:
            raise fail(f"{where}.{key}", f"unknown key; known: {', '.join(STATE_KEYS)}")
        values[key] = STATE_KEYS[key][1](value, f"{where}.{key}", fail)
    return StateUsage(**values)
