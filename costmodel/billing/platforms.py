"""Billing models of the platforms that bill CPU time or instance time.

- ``workers`` (Cloudflare Workers): requests and CPU milliseconds, never wall time.
- ``vercel-fluid`` (Vercel Functions on Fluid compute): active CPU-hours, provisioned
  memory GB-hours (the instance's lifetime, shared by concurrent requests), invocations.
- ``cloud-run-service`` (Google Cloud Run services): vCPU-s and GiB-s of instance time,
  request-based (while serving requests, starting and shutting down; a per-request fee)
  or instance-based (the whole lifetime, idle time included, at least a minute; no fee).
- ``azure-flex`` (Azure Functions Flex Consumption): on-demand GB-s while instances run
  executions and executions; always-ready baseline GB-s, execution GB-s and executions.

Concurrency (``concurrency=``, an average of the requests one instance serves at once) shares
instance time among the requests: the billed instance time is their time divided by it.
Each model returns the :class:`~costmodel.billing.quantities.Usage` of its meters and the
usage figures of the bill; :mod:`costmodel.billing.engine` prices them.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidUsage
from .quantities import (
    _check_cpu_within_duration,
    _count,
    _duration,
    _Entries,
    _entry,
    _memory,
    _option,
    _range,
    _raw_total,
    _Request,
    _samples,
    _Stats,
    _step_up,
)

__all__: list[str] = []

_MS_PER_HOUR = 3_600_000.0


def _refuse(req: _Request, name: str, value: object, why: str) -> None:
    if value is not None:
        raise InvalidUsage(f"{req.sheet.key} does not bill {name}: {why}; omit it")


def _cpu(req: _Request, invocations: float | None) -> tuple[float, float]:
    """(invocations, total CPU ms) from the ``cpu_ms`` option, checked against duration_ms."""
    value = req.options.get("cpu_ms")
    if value is None:
        raise InvalidUsage(
            f"cpu_ms is required for {req.sheet.key}: it bills CPU time, not wall time "
            "(CPU ms of one invocation, or per-invocation samples)"
        )
    count, total = _raw_total("cpu_ms", value, invocations)
    if req.duration_ms is not None:
        _check_cpu_within_duration(value, req.duration_ms)
    return count, total


def _concurrency(req: _Request) -> float:
    """Average requests served at once by one instance (default 1), in the sheet's range."""
    concurrency = _option(req, "concurrency", 1.0)
    if concurrency < 1:
        raise InvalidUsage(
            f"concurrency={concurrency:g}: must be >= 1 (requests one instance serves at once)"
        )
    if "concurrency" in req.sheet.rules:
        _range(req.sheet, "concurrency", concurrency, "concurrency", "requests per instance")
    return concurrency


def _workers(req: _Request) -> tuple[_Entries, _Stats]:
    _refuse(req, "memory_mb", req.memory_mb, "Workers bill requests and CPU time only")
    if req.duration_ms is not None:
        _raw_total("duration_ms", req.duration_ms, req.invocations)  # checked, not billed
    count, cpu_ms = _cpu(req, req.invocations)
    stats = {"invocations": count, "cpu_ms": cpu_ms}
    entries = [
        _entry(req, "requests", "requests", count),
        _entry(req, "cpu", "CPU time", cpu_ms),
    ]
    return entries, stats


def _vercel_fluid(req: _Request) -> tuple[_Entries, _Stats]:
    memory = _memory(req)
    if req.duration_ms is None:
        raise InvalidUsage(
            f"duration_ms is required for {req.sheet.key}: provisioned memory is billed for "
            "the instance's lifetime (the invocations' wall time)"
        )
    count, wall_ms = _raw_total("duration_ms", req.duration_ms, req.invocations)
    _, cpu_ms = _cpu(req, count)
    concurrency = _concurrency(req)
    instance_hours = wall_ms / concurrency / _MS_PER_HOUR
    stats = {
        "invocations": count,
        "cpu_ms": cpu_ms,
        "active_cpu_hours": cpu_ms / _MS_PER_HOUR,
        "instance_hours": instance_hours,
        "memory_gb_hours": memory / 1024 * instance_hours,
    }
    entries = [
        _entry(req, "invocations", "invocations", count),
        _entry(req, "active-cpu", "active CPU", stats["active_cpu_hours"]),
        _entry(req, "memory", "provisioned memory", stats["memory_gb_hours"]),
    ]
    return entries, stats


def _cloud_run_vcpu(req: _Request, concurrency: float) -> float:
    """The instance's vCPU (default ``rules.default_vcpu``): 0.08 to 1 in any step, whole
    numbers above 1; below 1 vCPU, concurrency 1 and request-based billing only."""
    sheet = req.sheet
    vcpu = _option(req, "vcpu", float(sheet.rules["default_vcpu"]))
    _range(sheet, "vcpu", vcpu, "vcpu", "vCPU")
    if vcpu > 1 and vcpu != int(vcpu):
        raise InvalidUsage(f"vcpu={vcpu:g}: {sheet.key} takes whole vCPUs above 1")
    if vcpu < 1 and concurrency > 1:
        raise InvalidUsage(
            f"vcpu={vcpu:g} with concurrency={concurrency:g}: below 1 vCPU Cloud Run serves "
            "one request at a time (concurrency 1)"
        )
    return vcpu


def _instance_starts_ms(req: _Request) -> tuple[float, float]:
    """(instance starts, billed ms of each start's startup, shutdown and, for
    instance-based billing, idle time before shutdown)."""
    rules = req.sheet.rules
    starts = _option(req, "instance_starts", 0.0)
    per_start = _option(req, "startup_ms", 0.0) + _option(req, "shutdown_ms", 0.0)
    if rules["billing"] == "instance":
        per_start += _option(req, "idle_ms", 0.0)
    return starts, _step_up(per_start, float(rules["duration_step_ms"]))


def _cloud_run_service(req: _Request) -> tuple[_Entries, _Stats]:
    sheet, rules = req.sheet, req.sheet.rules
    memory = _memory(req)
    concurrency = _concurrency(req)
    vcpu = _cloud_run_vcpu(req, concurrency)
    if rules["billing"] == "request":
        # Billed while serving: each request's time rounded up to 100 ms.
        stats = _duration(req, "duration_ms", req.duration_ms, req.invocations)
        busy_ms = stats["billed_duration_ms"]
    else:
        if req.duration_ms is None and req.invocations:
            raise InvalidUsage(f"duration_ms is required for {sheet.key} when invocations > 0")
        count, busy_ms = (
            _raw_total("duration_ms", req.duration_ms, req.invocations)
            if req.duration_ms is not None
            else (req.invocations or 0.0, 0.0)
        )
        stats = {"invocations": count, "billed_duration_ms": busy_ms}
    starts, per_start_ms = _instance_starts_ms(req)
    instance_ms = busy_ms / concurrency + starts * per_start_ms
    if "min_instance_seconds" in rules:
        instance_ms = max(instance_ms, starts * float(rules["min_instance_seconds"]) * 1000)
    seconds = instance_ms / 1000
    stats.update(
        instance_seconds=seconds,
        vcpu_seconds=vcpu * seconds,
        gib_seconds=memory / 1024 * seconds,
        gb_seconds=memory / 1024 * seconds,
    )
    entries = [
        _entry(req, "cpu", "CPU", stats["vcpu_seconds"]),
        _entry(req, "memory", "memory", stats["gib_seconds"]),
    ]
    if sheet.has_meter("requests"):
        entries.insert(0, _entry(req, "requests", "requests", stats["invocations"]))
    return entries, stats


#: Meters a sheet needs to bill always-ready instances (Flex Consumption).
ALWAYS_READY_METERS = ("always-ready-baseline", "always-ready-duration", "always-ready-executions")


def _flex_memory(req: _Request) -> float:
    memory = _memory(req)
    choices = req.sheet.rules.get("memory_choices_mb")
    if choices is not None and memory not in choices:
        sizes = ", ".join(f"{c:g}" for c in choices)
        raise InvalidUsage(f"memory_mb={memory:g}: {req.sheet.key} instances have {sizes} MB")
    return memory


def _azure_flex(req: _Request) -> tuple[_Entries, _Stats]:
    memory = _flex_memory(req)
    concurrency = _concurrency(req)
    gb = memory / 1024
    on_demand_invocations = req.invocations
    always_ready = any(k.startswith("always_ready_") for k in req.options)
    if on_demand_invocations is None and req.duration_ms is None and always_ready:
        on_demand_invocations = 0.0
    stats = _duration(req, "duration_ms", req.duration_ms, on_demand_invocations)
    stats["gb_seconds"] = gb * stats["billed_duration_ms"] / 1000 / concurrency
    entries = [
        _entry(req, "executions", "executions", stats["invocations"]),
        _entry(req, "duration", "execution time", stats["gb_seconds"]),
    ]
    if always_ready:
        entries += _always_ready(req, gb, concurrency, stats)
    return entries, stats


def _always_ready(req: _Request, gb: float, concurrency: float, stats: _Stats) -> _Entries:
    """Always-ready instances: baseline GB-s for their configured time, execution GB-s and
    executions of the invocations they serve (no free grant)."""
    for name in ("always_ready_instances", "always_ready_hours"):
        if name not in req.options:
            raise InvalidUsage(
                f"{name} is required with any always_ready_* option (instances configured "
                "and the hours they are configured)"
            )
    instances = _count("always_ready_instances", req.options["always_ready_instances"])
    hours = _count("always_ready_hours", req.options["always_ready_hours"])
    served = _option(req, "always_ready_invocations", 0.0)
    if served > 0 and instances == 0:
        raise InvalidUsage("always_ready_invocations > 0 needs always_ready_instances > 0")
    run = _duration(
        req, "always_ready_duration_ms", req.options.get("always_ready_duration_ms"), served
    )
    stats["always_ready_baseline_gb_seconds"] = instances * gb * hours * 3600
    stats["always_ready_invocations"] = run["invocations"]
    stats["always_ready_gb_seconds"] = gb * run["billed_duration_ms"] / 1000 / concurrency
    return [
        _entry(req, "always-ready-baseline", "always ready baseline",
               stats["always_ready_baseline_gb_seconds"]),
        _entry(req, "always-ready-duration", "always ready execution time",
               stats["always_ready_gb_seconds"]),
        _entry(req, "always-ready-executions", "always ready executions",
               stats["always_ready_invocations"]),
    ]  # fmt: skip


def _faas_snapstart(req: _Request, gb: float, entries: _Entries, stats: _Stats) -> None:
    """Lambda SnapStart: each published version's snapshot cached (GB-s, with the sheet's
    minimum cache time) and each restore (GB), measured by the function's memory."""
    opts = req.options
    if not any(k.startswith("snapstart_") for k in opts):
        return
    if "snapstart_cache_hours" not in opts:
        raise InvalidUsage(
            "snapstart_cache_hours is required with any snapstart_* option (hours each "
            "published version's snapshot is cached in the month)"
        )
    hours = _option(req, "snapstart_cache_hours")
    versions = _option(req, "snapstart_versions", 1.0)
    restores = _option(req, "snapstart_restores", 0.0)
    minimum = float(req.sheet.rules.get("snapstart_min_cache_hours", 0))
    cached_s = (max(hours, minimum) if hours > 0 else 0.0) * 3600
    stats["snapstart_cache_gb_seconds"] = versions * gb * cached_s
    stats["snapstart_restore_gb"] = restores * gb
    entries += [
        _entry(req, "snapstart-cache", "SnapStart cache", stats["snapstart_cache_gb_seconds"]),
        _entry(req, "snapstart-restore", "SnapStart restore", stats["snapstart_restore_gb"]),
    ]


def _faas_streaming(req: _Request, invocations: float, entries: _Entries, stats: _Stats) -> None:
    """Lambda response streaming: the MB streamed per request beyond the sheet's free MB per
    request (6 MB), per sample (never on the mean), in GB (1 GB = 1024 MB)."""
    if "streamed_mb" not in req.options:
        return
    free_mb = float(req.sheet.rules["streaming_free_mb_per_request"])
    value = req.options["streamed_mb"]
    samples = _samples("streamed_mb", value)
    over: object = (
        np.maximum(samples - free_mb, 0.0)
        if samples is not None
        else max(_count("streamed_mb", value) - free_mb, 0.0)
    )
    _, billed_mb = _raw_total("streamed_mb", over, invocations)
    stats["streamed_gb"] = billed_mb / 1024
    entries.append(_entry(req, "streaming", "response streaming", stats["streamed_gb"]))
