"""A deployment read from infrastructure code: its resources, what was skipped, what
the file does not settle, and the usage of each resource.

:func:`from_sam` / :func:`from_cloudformation` read a template, :func:`from_terraform_plan`
a plan, :func:`load_deployment` either (a ``.json`` file that has ``format_version`` and
``planned_values`` or ``resource_changes`` is a plan; one with ``Resources`` a template).
Each returns a :class:`Deployment`, whose :meth:`~Deployment.breakdown` prices a month and
whose :meth:`~Deployment.architectures` gives the architectures :func:`costmodel.compare`
and :func:`costmodel.simulate_usage` take.

>>> from importlib import resources
>>> examples = resources.files("costmodel") / "examples" / "iac"
>>> d = load_deployment(examples / "orders.yaml", examples / "orders-usage.yml")
>>> d
Deployment('.../orders.yaml', sam: 6 resources, 1 skipped, 0 unresolved)
>>> round(d.breakdown(samples=200).total_usd, 2)
260.95
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidFile
from .intrinsics import load_document
from .resources import FunctionResource, Resource, Skipped, StateMachineResource, Unresolved
from .templates import TemplateResources, read_template
from .terraform import is_plan, read_plan
from .usage import ResourceUsage, UsageFile, bind_usage, usage_skeleton

if TYPE_CHECKING:
    from ..architectures.compositions import Architecture, Function
    from ..billing.engine import FreeTier
    from .breakdown import Breakdown

__all__ = [
    "Deployment",
    "UnresolvedWarning",
    "from_cloudformation",
    "from_sam",
    "from_terraform_plan",
    "load_deployment",
]

UsageSource = str | Path | Mapping[str, Any] | UsageFile | None


class UnresolvedWarning(UserWarning):
    """A template or plan leaves a property unsettled (listed on the deployment)."""


@dataclass(frozen=True, eq=False)
class Deployment:
    """What a template or plan deploys, and how much each resource is used.

    Attributes:
        source: the file read.
        kind: ``"sam"``, ``"cloudformation"`` or ``"terraform"``.
        resources: ``{key: resource}`` of the priced resources (logical IDs, or plan
            addresses such as ``module.api.aws_lambda_function.handler``).
        skipped: resources not priced, with the reason (like ``infracost --show-skipped``).
        unresolved: properties the file does not settle, with what was used instead.
        usage: ``{key: ResourceUsage}`` from the usage file.
    """

    source: str
    kind: str
    resources: Mapping[str, Resource]
    skipped: tuple[Skipped, ...] = ()
    unresolved: tuple[Unresolved, ...] = ()
    usage: Mapping[str, ResourceUsage] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"Deployment({self.source!r}, {self.kind}: {len(self.resources)} resources, "
            f"{len(self.skipped)} skipped, {len(self.unresolved)} unresolved)"
        )

    def with_usage(self, usage: UsageSource) -> Deployment:
        """The same deployment with another usage file (warnings as at reading)."""
        return Deployment(
            self.source, self.kind, self.resources, self.skipped, self.unresolved,
            bind_usage(usage, self.resources),
        )  # fmt: skip

    def breakdown(
        self,
        *,
        samples: int = 1000,
        seed: int = 0,
        free_tier: FreeTier = False,
        region: str | None = None,
    ) -> Breakdown:
        """The monthly cost per resource and cost component, with p5/p50/p95 bands.

        Args:
            samples: Monte Carlo sample months (1 to 1,000,000).
            seed: random seed (each resource's stream derives from it and its key).
            free_tier: ``"none"`` (default, as False), ``"always"`` (as True) or
                ``"legacy-12-month"``: applied once to the pooled total.
            region: the AWS region's prices (default: each sheet's own, us-east-1).

        Returns:
            A :class:`~costmodel.iac.breakdown.Breakdown`.

        Raises:
            InvalidUsage: bad ``samples``/``seed``/``free_tier``, an unknown region.
        """
        from .breakdown import breakdown

        return breakdown(self, samples=samples, seed=seed, free_tier=free_tier, region=region)

    def usage_skeleton(self) -> dict[str, Any]:
        """A usage file with every resource and its keys at 0 (``costmodel usage init``)."""
        return usage_skeleton(self.resources)

    def functions(self) -> dict[str, Function]:
        """``{key: costmodel.Function}`` of each function, sized as deployed, with the
        usage file's ``request_duration_ms`` (its distribution) and ``error_rate``."""
        from ..architectures.compositions import Function

        found = {}
        for key, resource in self.resources.items():
            if isinstance(resource, FunctionResource):
                found[key] = Function(key, **_function_options(resource, self.usage.get(key)))
        return found

    def architectures(self) -> dict[str, Architecture]:
        """``{entry point: architecture}`` for :func:`costmodel.compare` and
        :func:`costmodel.simulate_usage`.

        An entry point is a function no other function calls (per the usage file's
        ``calls:``); its architecture chains what it calls: a ``sync`` callee in a
        :func:`~costmodel.sync_chain`, an ``async`` one in an
        :func:`~costmodel.async_chain` (an SQS-triggered callee ``via="queue"``),
        several callees of one caller in a :func:`~costmodel.fan_out`. A state machine
        with usage in the usage file is its own entry point when ``costmodel.iac.asl`` is
        installed (it reads the definition and that usage).

        Raises:
            InvalidUsage: ``calls:`` that loop back (a cycle has no entry point).
        """
        from .chains import architectures

        return architectures(self)


def _function_options(resource: FunctionResource, usage: ResourceUsage | None) -> dict[str, Any]:
    from ..architectures.distributions import empirical, fixed
    from .values import Point, _Durations

    options: dict[str, Any] = {"memory_mb": resource.memory_mb, "timeout_s": resource.timeout_s}
    found = usage.amounts.get("request_duration_ms") if usage else None
    if isinstance(found, Point):
        options["duration"] = fixed(max(found.value, 1.0))
    elif isinstance(found, _Durations):
        options["duration"] = found.distribution
    elif found is not None:
        import numpy as np

        from .pricing import PER_REQUEST_DRAWS, stream

        draws = found.sample(stream(0, resource.key, "request_duration_ms"), PER_REQUEST_DRAWS)
        options["duration"] = empirical(np.maximum(draws, 1.0))
    rate = usage.point("error_rate") if usage else None
    if rate is not None:
        options["error_rate"] = rate
    return options


def _warn_unresolved(found: TemplateResources, source: str) -> None:
    if found.unresolved:
        shown = "; ".join(str(u) for u in found.unresolved[:3])
        more = f" (and {len(found.unresolved) - 3} more)" if len(found.unresolved) > 3 else ""
        warnings.warn(
            f"{source}: {len(found.unresolved)} propert(ies) not settled by the file: "
            f"{shown}{more}",
            UnresolvedWarning,
            stacklevel=3,
        )


def _deployment(found: TemplateResources, path: Path, usage: UsageSource) -> Deployment:
    _warn_unresolved(found, str(path))
    resources = dict(found.resources)
    return Deployment(
        str(path), found.kind, resources, tuple(found.skipped), tuple(found.unresolved),
        bind_usage(usage, resources),
    )  # fmt: skip


def from_sam(
    path: str | Path,
    usage: UsageSource = None,
    parameters: Mapping[str, object] | None = None,
    *,
    region: str = "us-east-1",
) -> Deployment:
    """A SAM template (YAML or JSON) as a :class:`Deployment`.

    Args:
        path: the template.
        usage: a usage file (path, or its mapping) in Infracost's form.
        parameters: values of the template's Parameters (default: their ``Default``).
        region: the value of ``AWS::Region`` in the template.

    Raises:
        InvalidFile: malformed YAML/JSON (with the line), a wrong usage value.
        InvalidUsage: YAML without PyYAML (``pip install 'callwise[iac]'``), an
            undeclared parameter.

    Warns:
        UnresolvedWarning: properties the template does not settle (also listed in
            ``deployment.unresolved``).
        UsageFileWarning: a usage entry for a resource the template lacks, a key a
            resource type does not take.

    >>> from importlib import resources
    >>> path = resources.files("costmodel") / "examples" / "iac" / "orders.yaml"
    >>> d = from_sam(path, usage={"version": 0.1, "resource_usage": {
    ...     "PaymentFunction": {"monthly_requests": 2_000_000, "request_duration_ms": 120}}},
    ...     parameters={"OrderMemory": 2048})
    >>> sorted(d.resources)[:3], d.resources["OrderFunction"].memory_mb
    (['FulfilFunction', 'OrderFunction', 'OrderQueue'], 2048.0)
    >>> costs = d.breakdown().resources.set_index("resource")["cost_usd"]
    >>> float(round(costs["PaymentFunction"], 2))
    2.4
    """
    path = Path(path)
    return _deployment(read_template(path, parameters=parameters, region=region), path, usage)


def from_cloudformation(
    path: str | Path,
    usage: UsageSource = None,
    parameters: Mapping[str, object] | None = None,
    *,
    region: str = "us-east-1",
) -> Deployment:
    """A CloudFormation template (YAML or JSON) as a :class:`Deployment` (as
    :func:`from_sam`, which reads plain CloudFormation too).

    >>> import json, tempfile, pathlib
    >>> template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function",
    ...     "Properties": {"MemorySize": "256", "Timeout": 10}}}}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "stack.json"
    >>> _ = path.write_text(json.dumps(template))
    >>> d = from_cloudformation(path)
    >>> d.kind, d.resources["Fn"].memory_mb, d.resources["Fn"].timeout_s
    ('cloudformation', 256.0, 10.0)
    """
    return from_sam(path, usage, parameters, region=region)


def from_terraform_plan(path: str | Path, usage: UsageSource = None) -> Deployment:
    """A Terraform plan JSON (``terraform show -json plan.out > plan.json``) as a
    :class:`Deployment`; usage keys are full addresses (``module.x.aws_lambda_function.y``).

    Raises:
        InvalidFile: malformed JSON (with the line), not a plan, a wrong usage value.

    >>> import json, tempfile, pathlib
    >>> plan = {"format_version": "1.2", "planned_values": {"root_module": {"child_modules": [
    ...     {"address": "module.api", "resources": [{
    ...         "address": "module.api.aws_lambda_function.handler", "mode": "managed",
    ...         "type": "aws_lambda_function", "values": {"memory_size": 512}}]}]}}}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "plan.json"
    >>> _ = path.write_text(json.dumps(plan))
    >>> d = from_terraform_plan(path, usage={"version": 0.1, "resource_usage": {
    ...     "module.api.aws_lambda_function.handler": {"monthly_requests": 1e6,
    ...                                                 "request_duration_ms": 100}}})
    >>> float(round(d.breakdown().total_usd, 4))
    1.0333
    """
    path = Path(path)
    return _deployment(read_plan(path), path, usage)


def load_deployment(
    path: str | Path,
    usage: UsageSource = None,
    parameters: Mapping[str, object] | None = None,
    *,
    region: str = "us-east-1",
) -> Deployment:
    """A template or a plan, told apart by content (see the module docstring).

    Raises:
        InvalidFile: a JSON file that is neither a plan nor a template.
    """
    path = Path(path)
    document = load_document(path)
    if is_plan(document):
        return _deployment(read_plan(path, document=document), path, usage)
    if isinstance(document, Mapping) and "Resources" in document:
        found = read_template(path, parameters=parameters, region=region, document=document)
        return _deployment(found, path, usage)
    raise InvalidFile(
        str(path),
        "Resources",
        "neither a template (no Resources) nor a Terraform plan (no format_version with "
        "planned_values or resource_changes)",
    )


def _state_machines(deployment: Deployment) -> dict[str, StateMachineResource]:
    return {k: r for k, r in deployment.resources.items() if isinstance(r, StateMachineResource)}
