"""Reading a CloudFormation or SAM template, and resolving its intrinsic functions.

:func:`load_document` reads YAML (PyYAML, the ``iac`` extra) or JSON; the YAML loader
is a ``SafeLoader`` that turns the short-form tags (``!Ref``, ``!Sub``, ``!GetAtt`` ...)
into their long form (``{"Ref": ...}``, ``{"Fn::Sub": ...}``), so one resolver reads
both. A malformed file raises :class:`~costmodel.errors.InvalidFile` naming the line.

:class:`Resolver` evaluates ``Ref``, ``Fn::Sub``, ``Fn::GetAtt``, ``Fn::Join``,
``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap``, ``Fn::If``, ``Fn::Equals``,
``Fn::Not``, ``Fn::And``, ``Fn::Or`` and ``Condition`` with the template's Parameters
(their ``Default``, or the value given), Mappings and Conditions. What it cannot know
(``Fn::ImportValue``, ``Fn::GetAZs``, ``Fn::Cidr``, a parameter without a value) becomes
an :class:`Unknown` carrying the reason, never a guess; the callers report it.

>>> doc = {"Parameters": {"Mem": {"Type": "Number", "Default": "512"}}, "Resources": {}}
>>> r = Resolver(doc, path="t.yaml")
>>> r.value({"Ref": "Mem"}), r.value({"Fn::Sub": "fn-${Mem}"})
('512', 'fn-512')
>>> r.value({"Fn::ImportValue": "Shared"})
Unknown(reason='Fn::ImportValue: a value exported by another stack')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidFile, InvalidUsage

__all__ = ["PSEUDO_ACCOUNT", "SHORT_TAGS", "Resolver", "Unknown", "load_document"]

#: The short-form tags of YAML templates and the long form each one stands for.
SHORT_TAGS = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{
        f"!{name}": f"Fn::{name}"
        for name in [
            "Sub",
            "GetAtt",
            "Join",
            "If",
            "Select",
            "FindInMap",
            "Equals",
            "Not",
            "And",
            "Or",
            "Split",
            "ImportValue",
            "Base64",
            "Cidr",
            "GetAZs",
            "Transform",
            "Length",
            "ToJsonString",
        ]
    },
}

#: The account id written into ARNs a template builds (``!GetAtt Fn.Arn``): a placeholder,
#: since the deploying account is not in the template (it changes no price).
PSEUDO_ACCOUNT = "123456789012"

_UNKNOWABLE = {
    "Fn::ImportValue": "a value exported by another stack",
    "Fn::GetAZs": "the availability zones of the deploying account",
    "Fn::Cidr": "an address block computed at deploy time",
    "Fn::Transform": "a macro run at deploy time",
}


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value the template does not settle; ``reason`` says why."""

    reason: str


class _NoValue:
    """``AWS::NoValue``: the property is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def _yaml_loader() -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - the extra is installed in the test env
        raise InvalidUsage("reading YAML needs PyYAML: pip install 'callwise[iac]'") from None

    class TemplateLoader(yaml.SafeLoader):  # type: ignore[misc]
        """SafeLoader with CloudFormation's short-form tags."""

    def construct(loader: Any, node: Any, long: str) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if long == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {long: value}

    for tag, long in SHORT_TAGS.items():
        TemplateLoader.add_constructor(
            tag, lambda loader, node, long=long: construct(loader, node, long)
        )
    return yaml, TemplateLoader


def load_document(path: str | Path, *, text: str | None = None) -> Any:
    """The parsed YAML or JSON document at ``path`` (``text``: its content, if read).

    JSON is tried for ``.json`` files (and for any file starting with ``{``); the rest
    is read as YAML with the short-form tags.

    Raises:
        InvalidFile: malformed YAML or JSON (the message names the line and column).
        InvalidUsage: YAML without PyYAML installed (names the ``iac`` extra).
        FileNotFoundError: no such file.
    """
    path = Path(path)
    if text is None:
        text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise InvalidFile(str(path), where, f"malformed JSON: {exc.msg}") from None
    yaml, loader = _yaml_loader()
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = " ".join(str(exc.problem or exc.context or "malformed").split())
        raise InvalidFile(str(path), where, f"malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML marks its parse errors
        raise InvalidFile(str(path), "?", f"malformed YAML: {exc}") from None


class Resolver:
    """Evaluates a template's intrinsic functions.

    Args:
        document: the template (a mapping with ``Resources``).
        path: the file (named in errors).
        parameters: values for Parameters (override their ``Default``).
        region: the value of ``AWS::Region``.
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        path: str,
        parameters: Mapping[str, object] | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.path = path
        self.region = region
        self.resources: Mapping[str, Any] = _mapping(document.get("Resources"))
        self.mappings: Mapping[str, Any] = _mapping(document.get("Mappings"))
        self.conditions: Mapping[str, Any] = _mapping(document.get("Conditions"))
        declared = _mapping(document.get("Parameters"))
        unknown = sorted(set(parameters or {}) - set(declared))
        if unknown:
            raise InvalidUsage(
                f"parameters: {', '.join(unknown)} not declared in {path} "
                f"(it declares {', '.join(sorted(declared)) or 'none'})"
            )
        self.parameters: dict[str, Any] = {}
        for name, spec in declared.items():
            if parameters is not None and name in parameters:
                self.parameters[name] = _parameter_value(parameters[name], spec)
            elif isinstance(spec, Mapping) and "Default" in spec:
                self.parameters[name] = _parameter_value(spec["Default"], spec)
            else:
                self.parameters[name] = Unknown(
                    f"parameter {name} has no Default and no value was given (parameters=)"
                )
        self._evaluating: set[str] = set()
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Condition": self.condition,
            "Fn::Sub": self._sub,
            "Fn::GetAtt": self._get_att,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::FindInMap": self._find_in_map,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": self._not,
            "Fn::And": lambda args: self._all(args, all),
            "Fn::Or": lambda args: self._all(args, any),
            "Fn::Base64": lambda arg: self.value(arg),
        }

    # ------------------------------------------------------------------ entry points

    def value(self, node: Any) -> Any:
        """``node`` with every intrinsic function evaluated (an :class:`Unknown` where a
        part is unknown; ``AWS::NoValue`` entries are dropped)."""
        if isinstance(node, Mapping):
            if len(node) == 1:
                ((key, arg),) = node.items()
                if key in self._functions:
                    return self._functions[key](arg)
                if key in _UNKNOWABLE:
                    return Unknown(f"{key}: {_UNKNOWABLE[key]}")
            resolved = {k: self.value(v) for k, v in node.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(node, list):
            items = [self.value(v) for v in node]
            return [v for v in items if v is not NO_VALUE]
        return node

    def condition(self, name: Any) -> Any:
        """The named condition (True/False), or an :class:`Unknown`."""
        if not isinstance(name, str) or name not in self.conditions:
            return Unknown(f"condition {name!r} is not in Conditions")
        if name in self._evaluating:
            return Unknown(f"condition {name!r} refers to itself")
        self._evaluating.add(name)
        try:
            return self.value(self.conditions[name])
        finally:
            self._evaluating.discard(name)

    def arn(self, logical_id: str) -> str:
        """The ARN a ``!GetAtt Fn.Arn`` of a function stands for in this stack."""
        return f"arn:aws:lambda:{self.region}:{PSEUDO_ACCOUNT}:function:{logical_id}"

    # ------------------------------------------------------------------ functions

    def _ref(self, name: Any) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": PSEUDO_ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if isinstance(name, str) and name.startswith("AWS::"):
            return f"${{{name}}}"  # StackName, StackId, NotificationARNs: names, no price
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return name  # the resource's logical id stands for its physical name
        return Unknown(f"!Ref {name!r}: no such parameter or resource")

    def _get_att(self, arg: Any) -> Any:
        arg = self.value(arg)
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        if not isinstance(arg, list) or len(arg) != 2 or not all(isinstance(a, str) for a in arg):
            return Unknown(f"!GetAtt {arg!r}: takes Resource.Attribute")
        resource, attribute = arg
        if resource not in self.resources:
            return Unknown(f"!GetAtt {resource}.{attribute}: no such resource")
        kind = _mapping(self.resources[resource]).get("Type")
        if attribute == "Arn" and kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            return self.arn(resource)
        return f"{resource}.{attribute}"

    def _sub(self, arg: Any) -> Any:
        variables: Mapping[str, Any] = {}
        if isinstance(arg, list) and len(arg) == 2:
            arg, variables = arg[0], _mapping(self.value(arg[1]))
        if not isinstance(arg, str):
            return Unknown(f"!Sub {arg!r}: takes a string, or [string, {{variables}}]")
        out: list[str] = []
        rest = arg
        while "${" in rest:
            head, _, tail = rest.partition("${")
            out.append(head)
            name, closed, rest = tail.partition("}")
            if not closed:
                return Unknown(f"!Sub {arg!r}: unclosed ${{")
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
                continue
            part = variables[name] if name in variables else self._sub_name(name)
            if isinstance(part, Unknown):
                return part
            out.append(str(part))
        return "".join(out) + rest

    def _sub_name(self, name: str) -> Any:
        if "." in name and name.split(".", 1)[0] in self.resources:
            return self._get_att(name)
        return self._ref(name)

    def _join(self, arg: Any) -> Any:
        arg = self.value(arg)
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list)):
            return _first_unknown(arg) or Unknown(f"!Join {arg!r}: takes [separator, [values]]")
        unknown = _first_unknown(arg[1])
        return unknown or str(arg[0]).join(str(v) for v in arg[1])

    def _select(self, arg: Any) -> Any:
        arg = self.value(arg)
        unknown = _first_unknown(arg)
        if unknown:
            return unknown
        try:
            return arg[1][int(arg[0])]
        except (TypeError, ValueError, IndexError, KeyError):
            return Unknown(f"!Select {arg!r}: takes [index, [values]] with index in range")

    def _split(self, arg: Any) -> Any:
        arg = self.value(arg)
        unknown = _first_unknown(arg)
        if unknown:
            return unknown
        if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)):
            return Unknown(f"!Split {arg!r}: takes [separator, string]")
        return arg[1].split(arg[0])

    def _find_in_map(self, arg: Any) -> Any:
        arg = self.value(arg)
        unknown = _first_unknown(arg)
        if unknown:
            return unknown
        if not (isinstance(arg, list) and len(arg) in (3, 4)):
            return Unknown(f"!FindInMap {arg!r}: takes [map, key, key]")
        try:
            return self.mappings[arg[0]][arg[1]][arg[2]]
        except (KeyError, TypeError):
            if len(arg) == 4 and isinstance(arg[3], Mapping) and "DefaultValue" in arg[3]:
                return arg[3]["DefaultValue"]
            return Unknown(f"!FindInMap {arg[:3]!r}: not in Mappings")

    def _if(self, arg: Any) -> Any:
        if not (isinstance(arg, list) and len(arg) == 3):
            return Unknown(f"!If {arg!r}: takes [condition, value if true, value if false]")
        chosen = self.condition(arg[0])
        if isinstance(chosen, Unknown):
            return chosen
        return self.value(arg[1] if chosen else arg[2])

    def _equals(self, arg: Any) -> Any:
        arg = self.value(arg)
        unknown = _first_unknown(arg)
        if unknown:
            return unknown
        if not (isinstance(arg, list) and len(arg) == 2):
            return Unknown(f"!Equals {arg!r}: takes [a, b]")
        return _text(arg[0]) == _text(arg[1])

    def _not(self, arg: Any) -> Any:
        value = self.value(arg[0] if isinstance(arg, list) and len(arg) == 1 else arg)
        return value if isinstance(value, Unknown) else not value

    def _all(self, arg: Any, combine: Callable[[Any], bool]) -> Any:
        values = [self.value(a) for a in arg] if isinstance(arg, list) else [Unknown("")]
        unknown = _first_unknown(values)
        return unknown or combine(bool(v) for v in values)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def _first_unknown(value: Any) -> Unknown | None:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, list):
        for item in value:
            found = _first_unknown(item)
            if found:
                return found
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _parameter_value(value: object, spec: Any) -> Any:
    kind = str(_mapping(spec).get("Type", ""))
    if (kind.startswith("List<") or kind == "CommaDelimitedList") and isinstance(value, str):
        return [v.strip() for v in value.split(",")] if value else []
    return value
