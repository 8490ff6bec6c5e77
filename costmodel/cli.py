"""The ``costmodel`` command line: ``prices``, ``estimate``, ``bill LOGFILE...``,
``compare FILE``, ``simulate FILE``.

Tables for people by default, ``--format csv`` or ``--format json`` for machines. A bad
argument exits with status 2 and a one-line reason on stderr, never a traceback.

Adding a subcommand: write ``_add_<name>(sub)`` that registers a parser with
``sub.add_parser(...)``, adds :func:`add_format_option` if it prints a table, and calls
``parser.set_defaults(run=<function(args, out, err) -> exit status>)``; then list it in
:data:`SUBCOMMANDS`. Raise ``InvalidUsage`` (or ``UnknownProvider``/``FileNotFoundError``)
for bad input: :func:`main` turns them into the exit-2 one-line reason. Print tables with
:func:`emit`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from . import tables
from .catalog.sheets import DEFAULT_SERVICES, FREE_TIERS, price_sheet, providers
from .errors import CostModelError, InvalidUsage
from .logs.names import FORMATS

if TYPE_CHECKING:  # the commands import what they run on use: --help loads no pandas
    import pandas as pd

    from .billing.engine import Bill
    from .logs.reader import LogBill

__all__ = ["SUBCOMMANDS", "add_all_option", "add_format_option", "build_parser", "emit", "main"]

PROG = "costmodel"
_PROGRESS_MIN_CHARS = 8 << 20  # show a progress bar from about 8 MB of logs


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``prog: error: reason`` (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# ---------------------------------------------------------------- shared helpers


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--format {table,csv,json}`` (default ``table``)."""
    parser.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="output: a readable table (default), CSV or JSON",
    )


def add_all_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--all``: tables keep the rows that are zero everywhere."""
    parser.add_argument(
        "--all",
        action="store_true",
        help="tables: also show the rows that are zero everywhere (hidden by default)",
    )


def _terminal(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal: progress bars are drawn only there, so a log
    file or a CI run gets no redraw frames."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream
        return False


def _options(pairs: Sequence[str] | None) -> dict[str, Any]:
    """``["vcpu=0.35", "arch=arm64"]`` as ``{"vcpu": 0.35, "arch": "arm64"}``."""
    options: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidUsage(f"--option {pair!r}: must be KEY=VALUE, e.g. vcpu=0.35")
        value: Any = raw.strip()
        for kind in (int, float):
            try:
                value = kind(raw)
                break
            except ValueError:
                continue
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        options[key.strip()] = value
    return options


def _add_free_tier_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--free-tier",
        nargs="?",
        const="always",
        default="none",
        choices=list(FREE_TIERS),
        help="apply the monthly free offers: 'always' (the always-free ones; the choice when "
        "the option is given alone), 'legacy-12-month' (those and AWS's 12-month offers, "
        "for accounts created before 2025-07-15) or 'none' (default)",
    )


def _add_option_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="a provider option for the estimate (repeatable): arch=arm64, vcpu=0.35, "
        "ephemeral_storage_mb=2048, egress_gb=10 ...",
    )


def _number(text: str) -> float:
    """argparse type: a finite number >= 0."""
    try:
        value = float(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return value


def _cell(column: str, value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf"
        if column in ("cost", "total"):
            return f"{value:,.6f}"
        if column == "unit_price":
            return f"{value:.10g}"
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def emit(
    frame: pd.DataFrame,
    fmt: str,
    *,
    out: IO[str],
    title: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Print ``frame`` as a table, CSV or JSON.

    Args:
        frame: the rows.
        fmt: ``"table"``, ``"csv"`` or ``"json"``.
        out: the stream.
        title: a heading above the table (tables only).
        extra: more fields for JSON (``{"rows": [...], **extra}``), and ``key: value``
            lines under the table.
    """
    if fmt == "csv":
        frame.to_csv(out, index=False, lineterminator="\n")
    elif fmt == "json":
        rows = json.loads(frame.to_json(orient="records", date_format="iso"))
        json.dump({"rows": rows, **(extra or {})}, out, indent=2, default=str)
        out.write("\n")
    else:
        if title:
            out.write(f"{title}\n")
        shown = frame.copy()
        for column in shown.columns:
            shown[column] = [_cell(str(column), value) for value in shown[column].tolist()]
        out.write(shown.to_string(index=False) + "\n")
        for key, value in (extra or {}).items():
            if not isinstance(value, (list, dict)):
                out.write(f"{key}: {_cell(key, value)}\n")


# ---------------------------------------------------------------- prices


def _add_prices(sub: Any) -> None:
    parser = sub.add_parser(
        "prices",
        help="list the price catalog, or one provider's meters and tiers",
        description="List the price catalog (one row per service, with its source and the "
        "date it was read), or with PROVIDER that sheet's meters, tiers and free tier.",
    )
    parser.add_argument("provider", nargs="?", help="catalog key, e.g. aws-lambda")
    parser.add_argument(
        "--region", help="with PROVIDER: that region's prices (default: the sheet's own)"
    )
    add_format_option(parser)
    parser.set_defaults(run=_run_prices)


def _run_prices(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    if args.provider is None:
        if args.region is not None:
            raise InvalidUsage(
                "--region needs a PROVIDER (costmodel prices aws-lambda --region ...)"
            )
        frame = providers()
        if args.format != "table":
            emit(frame, args.format, out=out)
            return 0
        shown = frame.rename(columns={"key": "provider", "date_read": "date read"})
        columns = ["provider", "service", "region", "currency", "source", "date read"]
        out.write(tables.text_table(shown[columns], left=len(columns)))
        return 0
    sheet = price_sheet(args.provider, region=args.region)
    frame = sheet.to_frame()
    if args.format != "table":
        extra = {"source": sheet.source, "date_read": sheet.date_read}
        emit(frame, args.format, out=out, extra=extra)
        return 0
    out.write(f"{sheet.service} ({sheet.key}, {sheet.region}, {sheet.currency})\n")
    out.write(tables.text_table(tables.price_table(frame, sheet.currency), left=3))
    read: dict[tuple[str, str], list[str]] = {}
    for row in frame[["source", "date_read", "meter"]].itertuples(index=False):
        meters = read.setdefault((str(row[0]), str(row[1])), [])
        if str(row[2]) not in meters:
            meters.append(str(row[2]))
    for (source, date_read), meters in read.items():
        named = "" if len(read) == 1 else f" ({', '.join(meters)})"
        out.write(f"source{named}: {source}, read {date_read}\n")
    return 0


# ---------------------------------------------------------------- estimate


def _add_estimate(sub: Any) -> None:
    parser = sub.add_parser(
        "estimate",
        help="estimate a month's bill for a provider",
        description="Estimate one month's bill: invocations x duration x memory with the "
        "provider's rounding, tiers and (with --free-tier) its free tier.",
    )
    parser.add_argument("provider", help="catalog key (see `costmodel prices`)")
    parser.add_argument("--invocations", type=_number, help="invocations in the month")
    parser.add_argument("--duration-ms", type=_number, help="duration of one invocation, ms")
    parser.add_argument("--memory-mb", type=_number, help="configured memory, MB")
    _add_free_tier_argument(parser)
    parser.add_argument("--region", help="the provider's region (default: the sheet's own)")
    _add_option_argument(parser)
    add_format_option(parser)
    add_all_option(parser)
    parser.set_defaults(run=_run_estimate)


def _bill_extra(bill: Bill) -> dict[str, Any]:
    return {
        "provider": bill.provider,
        "currency": bill.currency,
        "total": round(bill.total, 10),
        "usage": dict(bill.usage),
    }


def _run_estimate(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .billing.engine import estimate

    bill = estimate(
        args.provider,
        invocations=args.invocations,
        duration_ms=args.duration_ms,
        memory_mb=args.memory_mb,
        free_tier=args.free_tier,
        region=args.region,
        **_options(args.option),
    )
    lines = bill.lines.drop(columns=["provider"])
    if args.format == "table":
        _print_bill_lines(lines, bill.currency, out, show_all=args.all)
        return 0
    emit(lines, args.format, out=out, extra=_bill_extra(bill))
    return 0


def _print_bill_lines(
    lines: pd.DataFrame, currency: str, out: IO[str], *, show_all: bool = False
) -> None:
    """A bill's lines for reading, ending with the TOTAL row."""
    frame = tables.bill_table(lines, currency, show_all=show_all)
    out.write(tables.text_table(frame, left=2))
    note = None if show_all else tables.hidden_lines(lines)
    if note:
        out.write(note + "\n")


# ---------------------------------------------------------------- bill


def _add_bill(sub: Any) -> None:
    parser = sub.add_parser(
        "bill",
        help="bill the invocations found in log files",
        description="Bill the invocations in AWS Lambda (REPORT lines or JSON "
        "platform.report, as CloudWatch, its S3 exports, `aws logs filter-log-events` or a "
        "Logs Insights CSV give them), Alibaba Function Compute (log lines or SLS request "
        "metrics), Google Cloud Logging (Cloud Run requests, with --memory-mb) or CSV logs "
        "with a provider's rules. Files are streamed, so their size and number do not "
        "matter; a folder means every file under it, a glob its matches, an s3:// URL "
        "objects (the 's3' extra); gzip is read as it is. The table shows one row per "
        "function and memory size, then the bill; --format csv prints the bill's lines, "
        "--format json everything. Malformed lines are counted and the first ones listed "
        "on stderr.",
    )
    parser.add_argument(
        "logs",
        nargs="+",
        metavar="LOGFILE",
        help="log file(s), folder(s), glob(s) ('logs/*.gz') or URL(s) ('s3://bucket/key/*.gz')",
    )
    parser.add_argument("--provider", required=True, help="catalog key, e.g. aws-lambda")
    parser.add_argument(
        "--log-format",
        choices=("auto", *FORMATS),
        default="auto",
        help="format of the logs (default: detected)",
    )
    parser.add_argument(
        "--billed-duration",
        choices=("auto", "stated", "measured"),
        default="auto",
        help="bill the duration the log states as billed, the measured one, or (auto) the "
        "stated one when the provider wrote the log",
    )
    parser.add_argument(
        "--init-billed",
        choices=("auto", "yes", "no"),
        default="auto",
        help="with a measured duration, bill a cold start's init too (yes), not (no), or "
        "(auto) by AWS's rule of the log line's day: INIT billed for ZIP functions since "
        "2025-08-01, for container images before too",
    )
    parser.add_argument(
        "--package-type",
        choices=("zip", "image"),
        default="zip",
        help="how the function is deployed, for --init-billed auto (default zip)",
    )
    parser.add_argument("--function", help="function name for logs that carry none")
    parser.add_argument(
        "--memory-mb",
        type=int,
        help="memory size (MB) for logs that state none (gcp-json: Cloud Logging requests)",
    )
    parser.add_argument(
        "--storage-option",
        action="append",
        metavar="KEY=VALUE",
        help="an fsspec option for URLs (repeatable), e.g. endpoint_url=http://127.0.0.1:9000",
    )
    _add_free_tier_argument(parser)
    parser.add_argument("--region", help="the provider's region (default: the sheet's own)")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="never show a progress bar (drawn on a terminal only)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS|local",
        help="read the files on a dask.distributed cluster (its scheduler's address, e.g. "
        "tcp://10.0.0.5:8786, or 'local' for a cluster of this machine's cores): one task "
        "per file or byte range, billed once on the pooled usage; needs the dask extra",
    )
    _add_option_argument(parser)
    add_format_option(parser)
    add_all_option(parser)
    parser.set_defaults(run=_run_bill)


def _run_bill(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .logs.reader import bill_from_logs, expand_paths

    storage = _storage_options(args.storage_option)
    files = expand_paths(args.logs, storage)
    if not files:
        raise InvalidUsage(f"no log file in {' '.join(args.logs)}")
    if args.scheduler is not None:
        return _bill_on_cluster(args, files, storage, out, err)
    sizes = [f.size or 0 for f in files]
    progress, bar = None, None
    if not args.no_progress and sum(sizes) >= _PROGRESS_MIN_CHARS and _terminal(err):
        from tqdm import tqdm

        packed = any(f.name.lower().endswith(".gz") or f.size is None for f in files)
        bar = tqdm(
            total=None if packed else sum(sizes),
            unit="B",
            unit_scale=True,
            desc="reading logs",
            file=err,
            leave=False,
        )
        progress = bar.update
    try:
        result = bill_from_logs(
            files, progress=progress, storage_options=storage, **_bill_settings(args)
        )
    finally:
        if bar is not None:
            bar.close()
    _report_malformed(result, err)
    _print_log_bill(result, args.format, out, show_all=args.all)
    return 0


def _bill_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What ``costmodel bill`` passes to bill_from_logs, from its options."""
    return {
        "provider": args.provider,
        "format": args.log_format,
        "billed_duration": args.billed_duration,
        "init_billed": {"yes": True, "no": False}.get(args.init_billed, "auto"),
        "package_type": args.package_type,
        "free_tier": args.free_tier,
        "region": args.region,
        "function": args.function,
        "memory_mb": args.memory_mb,
        **_options(args.option),
    }


def _bill_on_cluster(
    args: argparse.Namespace, files: Any, storage: dict[str, Any], out: IO[str], err: IO[str]
) -> int:
    """``costmodel bill --scheduler``: the files read on the cluster, Dask's progress bar on
    stderr (on a terminal, unless --no-progress)."""
    from .logs.reader import bill_from_logs

    show = not args.no_progress and _terminal(err)
    with _dask_client(args.scheduler) as client, contextlib.redirect_stdout(err):
        result = bill_from_logs(
            files, client=client, progress=show, storage_options=storage, **_bill_settings(args)
        )
    if show:
        err.write("\n")  # after Dask's bar, which ends without one
    _report_malformed(result, err)
    _print_log_bill(result, args.format, out, show_all=args.all)
    return 0


def _storage_options(pairs: Sequence[str] | None) -> dict[str, Any]:
    """``["endpoint_url=http://h:9000", "anon=true"]`` as fsspec options (true/false as
    booleans); the values are never echoed, as they may be credentials."""
    options: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidUsage(
                f"--storage-option {key.strip() or pair[:20]!r}...: must be KEY=VALUE, "
                "e.g. endpoint_url=http://127.0.0.1:9000"
            )
        value: Any = {"true": True, "false": False}.get(raw.strip().lower(), raw.strip())
        options[key.strip()] = value
    return options


def _report_malformed(result: LogBill, err: IO[str], shown: int = 5) -> None:
    if not result.malformed_count:
        return
    err.write(f"{result.malformed_count} malformed line(s), not billed:\n")
    for source, line, reason in result.malformed[:shown]:
        err.write(f"  {source}:{line}: {reason}\n")
    if result.malformed_count > shown:
        err.write(f"  ... and {result.malformed_count - shown} more\n")


def _print_log_bill(result: LogBill, fmt: str, out: IO[str], *, show_all: bool = False) -> None:
    lines = result.lines.drop(columns=["provider"])
    if fmt == "csv":
        emit(lines, fmt, out=out)
        return
    if fmt == "json":
        groups = json.loads(result.groups.to_json(orient="records"))
        extra = {
            **_bill_extra(result.bill),
            "groups": groups,
            "malformed_count": result.malformed_count,
            "malformed": [{"source": s, "line": n, "reason": r} for s, n, r in result.malformed],
        }
        emit(lines, fmt, out=out, extra=extra)
        return
    out.write(f"{result.invocations:,} invocations billed on {result.bill.provider}\n")
    out.write(tables.text_table(tables.group_table(result.groups, result.currency)))
    out.write("\n")
    _print_bill_lines(lines, result.currency, out, show_all=show_all)


# ---------------------------------------------------------------- simulate


def _add_simulate(sub: Any) -> None:
    parser = sub.add_parser(
        "simulate",
        help="run resilience policies through an outage in virtual time and bill them",
        description="Run each policy of a simulation file (see examples/outage.toml) through "
        "its scenario: the real resilience Policy, the simulated traffic and downstream, in "
        "virtual time. Prints one row per policy (caller and callee cost, callee calls, "
        "rejections, fallbacks, cache hits, errors seen by users, latency) and writes the "
        "charts as PNG files (paths printed).",
    )
    parser.add_argument("file", help="simulation file (TOML)")
    parser.add_argument("--provider", help="function platform key (default: the file's)")
    parser.add_argument(
        "--region", help="the provider's region (default: the file's, or its sheet's)"
    )
    parser.add_argument("--seed", type=int, help="random seed (default: the file's)")
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="a provider option for both bills (repeatable, over the file's [simulation] "
        "options): vcpu=0.5 on alibaba-fc3, arch=arm64 on aws-lambda ...",
    )
    parser.add_argument(
        "--caller-option",
        action="append",
        metavar="KEY=VALUE",
        help="a provider option for the caller's bill only (repeatable), e.g. vcpu=0.25",
    )
    parser.add_argument("--out", default="out", help="folder for the PNG charts (default ./out)")
    parser.add_argument("--no-charts", action="store_true", help="print the table only")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="never show a progress bar (drawn on a terminal only)",
    )
    _add_seeds_options(parser)
    add_format_option(parser)
    add_all_option(parser)
    parser.set_defaults(run=_run_simulate)


def _add_seeds_options(parser: argparse.ArgumentParser) -> None:
    """``--seeds``, ``--grid``, ``--scheduler``, ``--progress``, ``--per-seed``."""
    parser.add_argument(
        "--seeds",
        metavar="N|S1,S2,...",
        help="run each policy over N seeds drawn from --seed (numpy SeedSequence.spawn), or "
        "over the seeds listed; prints the bands across seeds (mean, p5, p50, p95)",
    )
    parser.add_argument(
        "--grid",
        action="append",
        metavar="NAME=V1,V2,...",
        help="with --seeds: also run every value of a scenario field (scenario.keys, "
        "scenario.downstream.error_rate, scenario.windows.0.end_s) or a setting "
        "(callee_memory_mb, caller_memory_mb, provider, region, loser_billing); repeatable",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS|local",
        help="with --seeds: run the simulations on a dask.distributed cluster (its "
        "scheduler's address, e.g. tcp://10.0.0.5:8786, or 'local' for a cluster of "
        "this machine's cores); needs the dask extra",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="with --scheduler: show Dask's progress bar on stderr even when it is not a terminal",
    )
    parser.add_argument(
        "--per-seed",
        action="store_true",
        help="with --seeds and --format csv|json: one row per run instead of the bands",
    )


def _run_simulate(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .simulation.run import SimulationResult

    spec = _simulation_file(args)
    if args.seeds is not None:
        return _run_simulate_seeds(args, spec, out, err)
    for flag in ("grid", "scheduler", "per_seed"):
        if getattr(args, flag):
            raise InvalidUsage(f"--{flag.replace('_', '-')}: needs --seeds (e.g. --seeds 20)")
    if not args.no_charts:
        chart_folder(args.out)  # before the long run, not after it
    results: dict[str, SimulationResult] = {}
    enabled = not args.no_progress and _terminal(err)
    bar, progress = _progress_bar(err, enabled=enabled, runs=len(spec.policies))
    try:
        table = spec.compare(progress=progress, results=results)
    finally:
        if bar is not None:
            bar.close()
    if args.format != "table":
        emit(table.reset_index(), args.format, out=out)
    else:
        out.write(_simulation_title(spec) + "\n")
        out.write(_simulation_text(table, show_all=args.all))
        _emit_first_failure(spec, results, out=out, show_all=args.all)
    if not args.no_charts:
        from . import plots

        paths = plots.save_simulation_charts(results, args.out)
        stream = err if args.format != "table" else out
        for path in paths:
            stream.write(f"chart: {path}\n")
    return 0


def _run_simulate_seeds(args: argparse.Namespace, spec: Any, out: IO[str], err: IO[str]) -> int:
    """``simulate --seeds``: every policy over the seeds (and the grid), then the bands."""
    from .simulation.seeds import simulate_seeds

    seeds = _seeds_argument(args.seeds)
    grid = _grid_argument(args.grid)
    settings = {
        "provider": spec.provider,
        "caller_memory_mb": spec.caller_memory_mb,
        "callee_memory_mb": spec.callee_memory_mb,
        "options": spec.options,
        "caller_options": spec.caller_options,
        "region": spec.region,
        "loser_billing": spec.loser_billing,
    }
    show = args.progress or (not args.no_progress and _terminal(err))
    with _dask_client(args.scheduler) as client, contextlib.redirect_stdout(err):
        runs = simulate_seeds(
            spec.policies, spec.scenario, seeds=seeds, seed=spec.seed, grid=grid,
            client=client, progress=show and client is not False, **settings,
        )  # fmt: skip
    if show and client is not False:
        err.write("\n")  # after Dask's bar, which ends without one
    if not args.no_charts:
        err.write("note: charts are drawn for a single run; none with --seeds\n")
    if args.format != "table":
        frame = runs.rows if args.per_seed else runs.bands.reset_index()
        emit(frame, args.format, out=out)
        return 0
    title = _simulation_title(spec).rsplit(", seed", 1)[0]
    drawn = f"{len(runs.seeds)} seeds from seed {spec.seed}"
    out.write(f"{title}, {drawn if isinstance(seeds, int) else f'seeds {args.seeds}'}\n")
    out.write(tables.text_table(_bands_table(runs), left=len(runs.by) + 1))
    return 0


#: The metrics ``simulate --seeds`` prints, with their label and format.
SEED_METRICS = {
    "total_cost": ("total cost", "{:,.4f}"),
    "failed_share": ("failed share", "{:.2%}"),
    "errors_seen": ("errors seen", "{:,.1f}"),
    "callee_calls": ("callee calls", "{:,.1f}"),
    "latency_p50_ms": ("latency p50 ms", "{:,.1f}"),
    "latency_p95_ms": ("latency p95 ms", "{:,.1f}"),
    "latency_p99_ms": ("latency p99 ms", "{:,.1f}"),
}


def _bands_table(runs: Any) -> pd.DataFrame:
    """The bands of :data:`SEED_METRICS` as text: one row per group and metric."""
    import pandas as pd

    currency = str(runs.rows["currency"].iloc[0])
    rows = []
    for key, band in runs.bands.groupby(level=list(runs.by), sort=False):
        keys = key if isinstance(key, tuple) else (key,)
        for metric, (label, fmt) in SEED_METRICS.items():
            values = band.xs(metric, level="metric").iloc[0]
            first = [str(k) for k in keys] if metric == "total_cost" else [""] * len(keys)
            cells = [fmt.format(values[c]) for c in ("mean", "p5", "p50", "p95")]
            label = f"{label} ({currency})" if metric == "total_cost" else label
            rows.append([*first, label, *cells])
    columns = [*runs.by, "metric", "mean", "p5", "p50", "p95"]
    return pd.DataFrame(rows, columns=columns)


def _seeds_argument(text: str) -> int | list[int]:
    """``--seeds``: a count, or seeds separated by commas."""
    from resilience._validate import Number, number

    parts = [p.strip() for p in text.split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise InvalidUsage(
            f"--seeds={text!r}: must be a number of seeds (e.g. 20) or seeds separated by "
            "commas (e.g. 1,2,3)"
        ) from None
    if "," not in text:
        rule = Number(low=1, integral=True, message="{name}={value}: must be >= 1")
        return int(number("--seeds", values[0], rule, error=InvalidUsage))
    return values


def _grid_argument(pairs: Sequence[str] | None) -> dict[str, list[Any]] | None:
    """``--grid NAME=V1,V2`` options as ``{name: [values]}`` (numbers where they parse)."""
    from .simulation.seeds import GRID_SETTINGS

    if not pairs:
        return None
    grid: dict[str, list[Any]] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name or not raw.strip():
            raise InvalidUsage(f"--grid {pair!r}: must be NAME=V1,V2,... e.g. keys=100,1000")
        if not name.startswith("scenario.") and name not in GRID_SETTINGS:
            raise InvalidUsage(
                f"--grid {name!r}: a file's policies take no parameters; vary a scenario "
                f"field (scenario.keys, scenario.downstream.error_rate, ...) or a setting "
                f"({', '.join(GRID_SETTINGS)})"
            )
        grid[name] = [_options([f"v={value}"])["v"] for value in raw.split(",")]
    return grid


@contextlib.contextmanager
def _dask_client(scheduler: str | None) -> Any:
    """False (run here) without ``--scheduler``; else a client of that scheduler, or of a
    LocalCluster of this machine's cores (``local``), closed at the end."""
    import importlib.util
    import re

    if scheduler is None:
        yield False
        return
    if importlib.util.find_spec("distributed") is None:
        raise InvalidUsage(
            "--scheduler: needs dask.distributed; install the extra: pip install 'callwise[dask]'"
        )
    import logging

    import distributed

    if scheduler == "local":
        cluster = distributed.LocalCluster(
            threads_per_worker=1, processes=True, dashboard_address=":0",
            silence_logs=logging.ERROR,
        )  # fmt: skip
        client = distributed.Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    if not re.fullmatch(r"([a-z]+://)?[\w.\-\[\]:]+:\d+", scheduler):
        raise InvalidUsage(
            f"--scheduler={scheduler!r}: must be a scheduler address (tcp://HOST:PORT) or 'local'"
        )
    try:
        client = distributed.Client(scheduler, timeout=10, set_as_default=False)
    except OSError as exc:
        raise InvalidUsage(f"--scheduler={scheduler!r}: cannot reach it ({exc})") from None
    try:
        yield client
    finally:
        client.close()


def _simulation_file(args: argparse.Namespace) -> Any:
    """The simulation file, with the command line's provider, seed and options over the
    file's; checked (provider, seed and options) before anything runs."""
    import dataclasses

    from resilience._validate import Number, number

    from .simulation.run import load_simulation

    spec = load_simulation(args.file)
    changes: dict[str, Any] = {}
    if args.provider is not None:
        changes["provider"] = args.provider
    if args.region is not None:
        changes["region"] = args.region
    if args.seed is not None:
        rule = Number(low=0, integral=True, message="{name}={value}: must be >= 0")
        number("--seed", args.seed, rule, error=InvalidUsage)
        changes["seed"] = args.seed
    if args.option:
        changes["options"] = {**spec.options, **_options(args.option)}
    if args.caller_option:
        changes["caller_options"] = {**spec.caller_options, **_options(args.caller_option)}
    spec = dataclasses.replace(spec, **changes)
    spec.check()  # provider, seed and options, before the progress bar starts
    return spec


def _progress_bar(
    err: IO[str], *, enabled: bool, runs: int
) -> tuple[Any, Callable[[str, int, int], None] | None]:
    """A tqdm bar on ``err`` over ``runs`` runs, and the ``progress(name, started, total)``
    callback that moves it; ``(None, None)`` when not ``enabled``. Close the bar."""
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=None, unit=" calls", unit_scale=True, file=err, leave=False)
    done: dict[str, int] = {}

    def progress(name: str, started: int, total: int) -> None:
        if bar.total is None:
            bar.total = total * runs
        bar.set_description(name, refresh=False)
        bar.update(started - done.get(name, 0))
        done[name] = started

    return bar, progress


#: The rows of the table of the calls that arrived during the first failure.
FAILURE_ROWS = (
    *("calls", "ok", "cache_hits", "fallbacks", "errors", "timeouts", "rejected"),
    *("breaker_rejections", "limiter_rejections", "throttled", "callee_calls"),
    *("errors_seen", "total_cost", "latency_p99_ms"),
)


def _simulation_title(spec: Any) -> str:
    return (
        f"{spec.scenario.name}: {spec.provider}, caller {spec.caller_memory_mb:g} MB, "
        f"callee {spec.callee_memory_mb:g} MB, seed {spec.seed}"
    )


def _simulation_text(table: pd.DataFrame, *, show_all: bool, rows: Sequence[str] = ()) -> str:
    """The simulate table for people (:func:`costmodel.tables.simulation_table`)."""
    return tables.text_table(tables.simulation_table(table, show_all=show_all, rows=rows))


def _emit_first_failure(spec: Any, results: Any, *, out: IO[str], show_all: bool) -> None:
    """The table of the calls that arrived during the scenario's first failure window
    (a slowdown is not a failure); nothing when it has none."""
    from .simulation.run import summarize

    failures = [w for w in spec.scenario.windows if w.kind != "slowdown"]
    if not failures:
        return
    window = failures[0]
    during = summarize(results, window=(window.start_s, window.end_s))
    out.write(f"\nCalls that arrived during the {window.describe()}:\n")
    out.write(_simulation_text(during, show_all=show_all, rows=FAILURE_ROWS))


# ---------------------------------------------------------------- compare


def _add_compare(sub: Any) -> None:
    parser = sub.add_parser(
        "compare",
        help="compare the architectures of a TOML file: cost, GB-s, latency, charts",
        description="Compare the architectures of an architecture file (see "
        "examples/video_pipeline.toml): cost per component, total, cost per million, billed "
        "GB-s and end-to-end latency percentiles from a seeded Monte Carlo; writes the charts "
        "as PNG files and prints their paths.",
    )
    parser.add_argument("file", help="architecture file (TOML)")
    parser.add_argument(
        "--provider",
        help="function platform key, or several joined by commas for one table "
        "(aws-lambda,gcp-cloud-run,cloudflare-workers); default: the file's `provider`, "
        "else aws-lambda",
    )
    parser.add_argument(
        "--region",
        action="append",
        metavar="REGION|PROVIDER=REGION",
        help="the platform's region (repeatable as PROVIDER=REGION with several providers); "
        "default: the file's `region`, else each sheet's own",
    )
    parser.add_argument(
        "--invocations",
        type=_number,
        help="requests per month (default: the file's `invocations`, else 1,000,000)",
    )
    parser.add_argument(
        "--samples", type=int, default=100_000, help="Monte Carlo requests (default 100,000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _add_free_tier_argument(parser)
    parser.add_argument(
        "--service",
        action="append",
        metavar="ROLE=KEY",
        help="the sheet for a non-function service (repeatable): storage=aws-s3, "
        "egress=aws-data-transfer ... (roles: " + ", ".join(_service_roles()) + ")",
    )
    _add_option_argument(parser)
    parser.add_argument("--out", default="out", help="folder for the PNG charts (default ./out)")
    parser.add_argument("--no-charts", action="store_true", help="print the table only")
    add_format_option(parser)
    add_all_option(parser)
    parser.set_defaults(run=_run_compare)


def _regions(values: Sequence[str]) -> str | dict[str, str]:
    """``--region`` values: one REGION, or PROVIDER=REGION pairs (not both)."""
    pairs = [v.partition("=") for v in values]
    if len(values) == 1 and not pairs[0][1]:
        return values[0].strip()
    if not all(sep and key.strip() and code.strip() for key, sep, code in pairs):
        raise InvalidUsage(
            f"--region {' '.join(values)!r}: give one REGION, or PROVIDER=REGION for each "
            "provider (e.g. --region aws-lambda=eu-central-1 --region vercel-functions=sfo1)"
        )
    return {key.strip(): code.strip() for key, _, code in pairs}


def _service_roles() -> list[str]:
    return list(DEFAULT_SERVICES)


def _service_pairs(pairs: Sequence[str] | None) -> dict[str, str]:
    """``["storage=aws-s3"]`` as ``{"storage": "aws-s3"}``."""
    services: dict[str, str] = {}
    for pair in pairs or ():
        role, sep, key = pair.partition("=")
        if not sep or not role.strip() or not key.strip():
            raise InvalidUsage(f"--service {pair!r}: must be ROLE=KEY, e.g. storage=aws-s3")
        services[role.strip()] = key.strip()
    return services


def _run_compare(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .architectures.comparison import SubstitutedServiceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SubstitutedServiceWarning)
        status = _compare_and_chart(args, out, err)
    notes = dict.fromkeys(
        str(w.message) for w in caught if issubclass(w.category, SubstitutedServiceWarning)
    )
    for note in notes:  # once each, though the chart's sweep prices again
        err.write(f"note: {note.replace('in services=', 'with --service ROLE=KEY')}\n")
    for w in caught:
        if not issubclass(w.category, SubstitutedServiceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return status


def _compare_and_chart(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .architectures.comparison import compare
    from .architectures.file import load_architectures

    if args.samples < 1:
        raise InvalidUsage(f"--samples={args.samples}: must be >= 1")
    services = _service_pairs(args.service)
    options = _options(args.option)
    architectures = load_architectures(args.file)
    if not args.no_charts:
        chart_folder(args.out)
    invocations = args.invocations
    if invocations is None:
        invocations = architectures.invocations or 1_000_000
    provider = args.provider or ",".join(architectures.provider or ("aws-lambda",))
    region = _regions(args.region) if args.region else architectures.region
    table = compare(
        architectures,
        provider=provider,
        region=region,
        invocations=invocations,
        samples=args.samples,
        seed=args.seed,
        free_tier=args.free_tier,
        services=services,
        options=options,
    )
    used = table.attrs["services"]
    priced = "priced with: " + ", ".join(f"{role}={key}" for role, key in used.items())
    if args.format == "table":  # one column per architecture, in money and units
        out.write(
            f"{architectures.title or args.file}: {provider}, "
            f"{invocations:,.0f} requests/month, {args.samples:,} samples\n"
        )
        currency = str(table.attrs.get("currency") or "USD")
        shown = tables.measure_table(table, currency, show_all=args.all)
        out.write(tables.text_table(shown))
    else:
        emit(table.reset_index(), args.format, out=out, extra={"services": used})
    stream = err if args.format != "table" else out
    stream.write(priced + "\n")
    single = "," not in provider and region is None
    if not args.no_charts and not single:
        stream.write(
            "charts: not drawn (they price one provider in its sheet's own region); "
            "give one --provider without --region, or --no-charts\n"
        )
    if not args.no_charts and single:
        from . import plots

        paths = plots.save_charts(
            architectures,
            table,
            args.out,
            provider=provider,
            invocations=invocations,
            samples=min(args.samples, 20_000),
            seed=args.seed,
            free_tier=args.free_tier,
            services=services,
            options=options,
        )
        for path in paths:
            stream.write(f"chart: {path}\n")
    return 0


# ---------------------------------------------------------------- demo

# ---------------------------------------------------------------- infrastructure code

_IAC_FORMATS = ("table", "json", "csv", "markdown")


def _add_iac_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--usage",
        metavar="FILE",
        help="usage file in Infracost's form (version: 0.1, resource_usage:)",
    )
    parser.add_argument(
        "--format", choices=_IAC_FORMATS, default="table",
        help="output: a table (default), JSON, CSV or Markdown (fit for a pull-request comment)",
    )  # fmt: skip
    parser.add_argument(
        "--samples", type=int, default=1000, help="Monte Carlo sample months (default 1,000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--region", help="the AWS region's prices (default: us-east-1)")
    parser.add_argument(
        "-p", "--parameter", action="append", metavar="NAME=VALUE",
        help="a template parameter's value (repeatable; default: its Default)",
    )  # fmt: skip
    _add_free_tier_argument(parser)


def _parameters(pairs: Sequence[str] | None) -> dict[str, str] | None:
    """``["Mem=512"]`` as ``{"Mem": "512"}`` (CloudFormation parameters are strings)."""
    if not pairs:
        return None
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidUsage(f"--parameter {pair!r}: must be NAME=VALUE, e.g. MemorySize=512")
        found[name.strip()] = value
    return found


def _deployment_of(path: str, args: argparse.Namespace, err: IO[str]) -> Any:
    """The template or plan at ``path``; the warnings of reading it go to ``err``."""
    from .iac.deployment import load_deployment

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        deployment = load_deployment(
            path, args.usage, _parameters(args.parameter), region=args.region or "us-east-1"
        )
    for message in dict.fromkeys(str(w.message) for w in caught):
        err.write(f"warning: {message}\n")
    return deployment


def _add_breakdown(sub: Any) -> None:
    parser = sub.add_parser(
        "breakdown",
        help="monthly cost of a SAM/CloudFormation template or a Terraform plan, per resource",
        description="Price what a SAM or CloudFormation template (YAML or JSON) or a Terraform "
        "plan JSON (terraform show -json plan.out) deploys: per resource and cost component, "
        "the monthly cost with p5 to p95 bands when the usage file gives distributions. "
        "Resources callwise does not price are skipped and counted (--show-skipped lists them).",
    )
    parser.add_argument("path", help="template (.yaml/.yml/.json) or plan (.json)")
    _add_iac_options(parser)
    parser.add_argument("--show-skipped", action="store_true", help="list the skipped resources")
    parser.set_defaults(run=_run_breakdown)


def _run_breakdown(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .iac.report import render_breakdown

    deployment = _deployment_of(args.path, args, err)
    result = deployment.breakdown(
        samples=args.samples, seed=args.seed, free_tier=args.free_tier, region=args.region
    )
    out.write(render_breakdown(result, args.format, show_skipped=args.show_skipped))
    return 0


def _add_diff(sub: Any) -> None:
    parser = sub.add_parser(
        "diff",
        help="cost change from BASE to HEAD (templates or plans); --fail-above for CI",
        description="Past (BASE), new (HEAD) and the difference, per resource and in total, "
        "both priced with the same random numbers so the band shows the change, not noise. "
        "With --fail-above, exit 1 when the INCREASE exceeds the threshold (10%% of BASE, or "
        "50 dollars a month); bad input exits 2.",
    )
    parser.add_argument("base", help="the template or plan before the change")
    parser.add_argument("head", help="the template or plan after the change")
    _add_iac_options(parser)
    parser.add_argument(
        "--fail-above", metavar="LIMIT",
        help="exit 1 if the monthly cost rises by more than LIMIT: a percentage of BASE (10%%) "
        "or dollars (50)",
    )  # fmt: skip
    parser.set_defaults(run=_run_diff)


def _run_diff(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .iac.diff import diff, parse_threshold
    from .iac.report import render_diff

    threshold = parse_threshold(args.fail_above) if args.fail_above is not None else None
    base = _deployment_of(args.base, args, err)
    head = _deployment_of(args.head, args, err)
    result = diff(
        base,
        head,
        samples=args.samples,
        seed=args.seed,
        free_tier=args.free_tier,
        region=args.region,
    )
    out.write(render_diff(result, args.format))
    if threshold is not None and result.exceeds(threshold):
        err.write(f"costmodel diff: the monthly cost rises by {result.diff_usd:,.2f} "
                  f"{result.new.currency}, above --fail-above {args.fail_above}\n")  # fmt: skip
        return 1
    return 0


def _add_usage(sub: Any) -> None:
    parser = sub.add_parser(
        "usage", help="usage files: `usage init TEMPLATE` writes (or merges into) a skeleton"
    )
    actions = parser.add_subparsers(
        title="actions", dest="action", metavar="ACTION", parser_class=_Parser
    )
    actions.required = True
    init = actions.add_parser(
        "init",
        help="a usage file with every resource of TEMPLATE and its keys at 0",
        description="Write a usage file skeleton (Infracost's form) with every resource of a "
        "template or plan and each of its usage keys at 0. With --usage FILE, merge into FILE: "
        "the values already there are kept, new resources and keys are added (comments are "
        "not kept). Without --usage, print it.",
    )
    init.add_argument("path", help="template or plan")
    init.add_argument("--usage", metavar="FILE", help="the usage file to write or merge into")
    init.add_argument("-p", "--parameter", action="append", metavar="NAME=VALUE",
                      help="a template parameter's value (repeatable)")  # fmt: skip
    init.set_defaults(run=_run_usage_init)


def _run_usage_init(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .iac.deployment import load_deployment
    from .iac.intrinsics import load_document
    from .iac.usage import merge_usage, read_usage

    deployment = load_deployment(args.path, None, _parameters(args.parameter))
    skeleton = deployment.usage_skeleton()
    target = Path(args.usage) if args.usage else None
    existing = None
    if target is not None and target.exists():
        existing = load_document(target)
        read_usage(existing if isinstance(existing, dict) else {})  # its shape, before writing
    merged = merge_usage(existing, skeleton)
    try:
        import yaml
    except ImportError:  # pragma: no cover - the iac extra is installed in the tests
        raise InvalidUsage("writing YAML needs PyYAML: pip install 'callwise[iac]'") from None
    text = yaml.safe_dump(merged, sort_keys=False, default_flow_style=False)
    if target is None:
        out.write(text)
        return 0
    before = set((existing or {}).get("resource_usage") or {})
    target.write_text(text, encoding="utf-8")
    added = [k for k in merged["resource_usage"] if k not in before]
    out.write(f"{target}: {len(merged['resource_usage'])} resource(s), {len(added)} added\n")
    return 0


DEMO_STEPS = (
    ("compare", "video_pipeline.toml", ("--provider", "aws-lambda")),
    ("simulate", "outage_short.toml", ()),
)
"""What ``costmodel demo`` runs: a command, the example file it reads, its options (a
few seconds each; the full outage, ``outage.toml``, is the command :data:`DEMO_FULL`)."""
DEMO_FULL = "costmodel simulate examples/outage.toml"


def _add_demo(sub: Any) -> None:
    parser = sub.add_parser(
        "demo",
        help="run the examples: the video-pipeline comparison, then a short outage simulation",
        description="Run `compare` on examples/video_pipeline.toml (the article's video "
        "pipeline as a monolith, a sync chain, an async chain and a workflow) and then "
        "`simulate` on examples/outage_short.toml (four policies through a 3-minute "
        "outage, in seconds). The full 10-minute outage at 200 requests/s (964,108 calls, "
        f"a minute or two) is `{DEMO_FULL}`.",
    )
    parser.add_argument(
        "--examples",
        default=None,
        help="folder with the example files (default: the copies that ship with callwise)",
    )
    parser.add_argument("--out", default="out", help="folder for the PNG charts (default ./out)")
    parser.set_defaults(run=_run_demo)


def chart_folder(folder: str) -> Path:
    """The folder for the charts, created now: a path that cannot be one (under a file, not
    writable) is a clear error before any long work, not a traceback after it."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".costmodel-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidUsage(f"--out={folder!r}: cannot write charts there ({reason})") from None
    return path


def shipped_examples() -> Path:
    """The folder of example files that ships inside the package (``costmodel/examples``)."""
    from importlib import resources

    return Path(str(resources.files("costmodel") / "examples"))


def _version() -> str:
    from importlib.metadata import version

    return version("callwise")


def _run_demo(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    parser = build_parser()
    folder = shipped_examples() if args.examples is None else Path(args.examples)
    for command, file, options in DEMO_STEPS:
        path = folder / file
        if not path.is_file():
            raise InvalidUsage(
                f"--examples={args.examples!r}: no {file} there; give --examples the folder "
                "that holds the example files, or leave it out to use the ones that ship"
            )
        shown = os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else path
        out.write(f"\n$ {PROG} {command} {shown} {' '.join(options)}\n".replace(" \n", "\n"))
        step = parser.parse_args([command, str(path), *options, "--out", args.out])
        status: int = step.run(step, out, err)
        if status:
            return status
    out.write(f"\nThe full 10-minute outage at 200 requests/s (a minute or two): {DEMO_FULL}\n")
    return 0


# ---------------------------------------------------------------- entry point

#: Functions that register one subcommand each on the subparsers object.
SUBCOMMANDS: list[Callable[[Any], None]] = [
    _add_prices,
    _add_estimate,
    _add_bill,
    _add_compare,
    _add_simulate,
    _add_breakdown,
    _add_diff,
    _add_usage,
    _add_demo,
]


def build_parser() -> argparse.ArgumentParser:
    """The ``costmodel`` parser with every subcommand of :data:`SUBCOMMANDS`."""
    parser = _Parser(
        prog=PROG,
        description="What calling functions costs: price catalog, estimates, bills from logs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", parser_class=_Parser
    )
    sub.required = True
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad argument or input).

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).
        out: stream for results (default: stdout).
        err: stream for errors, warnings and the progress bar (default: stderr).
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse: --help (0) or a bad argument (2)
        return int(stop.code or 0)
    try:
        status: int = args.run(args, out, err)
    except BrokenPipeError:  # `costmodel prices | head` (an OSError: caught first)
        return 0
    except (CostModelError, OSError) as exc:  # a file problem is one line, never a traceback
        where = f"{PROG} {args.command}"
        err.write(f"{where}: error: {_one_line(exc)}\n")
        return 2
    return status


def _one_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
