"""The costmodel command line, called in-process through main([...])."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import run
from support.paths import EXAMPLES, LOG_FIXTURES, ROOT

from costmodel import bill_from_logs, estimate
from costmodel.cli import SUBCOMMANDS, build_parser, main

FIXTURES = LOG_FIXTURES
ESTIMATE_1MS = ["estimate", "aws-lambda", "--invocations", "1", "--duration-ms", "1"]


@pytest.mark.parametrize("command", [[], ["prices"], ["estimate"], ["bill"]])
def test_help_on_every_command(command: list[str]) -> None:
    """--help prints usage for the program and each subcommand and exits 0."""
    status, out, err = run(*command, "--help")
    assert status == 0 and err == ""
    assert out.startswith("usage: costmodel")
    assert "--format" in out or not command


def test_prices_lists_catalog_as_table_csv_and_json() -> None:
    """prices lists every catalog key; CSV and JSON carry the same rows."""
    status, table, _ = run("prices")
    assert status == 0 and "aws-lambda" in table and "alibaba-fc3" in table
    _, text, _ = run("prices", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {"key", "source", "date_read"} <= set(rows[0])
    _, text, _ = run("prices", "--format", "json")
    keys = [row["key"] for row in json.loads(text)["rows"]]
    assert keys == [row["key"] for row in rows] and "aws-lambda" in keys


def test_prices_of_one_provider_shows_tiers_and_source() -> None:
    """prices PROVIDER shows its meters, each tier's range and unit price with its unit, the
    free allowance once per meter, and where and when the prices were read."""
    status, out, _ = run("prices", "aws-lambda")
    lines = out.splitlines()
    assert status == 0 and lines[0] == "AWS Lambda (aws-lambda, us-east-1, USD)"
    assert lines[1].split() == ["meter", "component", "tier", "unit", "price", "free", "allowance"]
    requests = next(line for line in lines if line.startswith("requests "))
    assert "$0.20 per 1M requests" in requests and "1,000,000 requests" in requests
    x86 = [line for line in lines if line.startswith("duration-x86_64 ")]
    assert [("400,000 GB-s" in line) for line in x86] == [True, False, False]
    assert "first 6,000,000,000 GB-s" in x86[0] and "$0.0000166667 per GB-s" in x86[0]
    assert "over 15,000,000,000 GB-s" in x86[2]
    sources = [line for line in lines if line.startswith("source")]
    assert any("https://aws.amazon.com/lambda/pricing/, read 2026-11-28" in s for s in sources)


def test_prices_lists_provider_service_source_and_date() -> None:
    """The catalog table names each provider's service, region, currency, source and date."""
    _, out, _ = run("prices")
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["provider", "service", "region", "currency"]
    assert header.endswith("date read") and "source" in header
    lambda_row = next(row for row in rows if row.startswith("aws-lambda "))
    assert "https://aws.amazon.com/lambda/pricing/" in lambda_row and "2026-11-28" in lambda_row


def test_estimate_reproduces_published_example() -> None:
    """AWS's 1536 MB, 3M x 120 ms example with free tier totals $2.73."""
    argv = ["estimate", "aws-lambda", "--invocations", "3000000", "--duration-ms", "120"]
    argv += ["--memory-mb", "1536", "--free-tier"]
    status, out, _ = run(*argv)
    assert status == 0 and out.splitlines()[-1].split() == ["TOTAL", "$2.73"]
    assert "requests, free tier" in out and "1,000,000 requests" in out  # free tier: shown
    assert "$0.20 per 1M requests" in out and "$0.0000166667 per GB-s" in out
    assert "2,000,000 requests" in out and "140,000 GB-s" in out
    status, text, _ = run(*argv, "--format", "json")
    data = json.loads(text)
    assert round(data["total"], 2) == 2.73 and data["usage"]["gb_seconds"] == 540000.0
    assert sum(row["cost"] for row in data["rows"]) == pytest.approx(data["total"])


@pytest.mark.parametrize(
    ("flags", "total"),
    [((), 1.0), (("--free-tier",), 1.0), (("--free-tier", "always"), 1.0),
     (("--free-tier", "legacy-12-month"), 0.0), (("--free-tier", "none"), 1.0)],
)  # fmt: skip
def test_estimate_free_tier_choices(flags: tuple[str, ...], total: float) -> None:
    """--free-tier alone means the always-free offers; the 12-month ones need their name."""
    status, text, _ = run(
        "estimate", "aws-apigw-http", "--invocations", "1000000", *flags, "--format", "json"
    )
    assert status == 0 and json.loads(text)["total"] == pytest.approx(total)


def test_estimate_free_tier_rejects_an_unknown_choice() -> None:
    """An unknown --free-tier value exits 2 naming the choices."""
    status, _, err = run("estimate", "aws-apigw-http", "--invocations", "1", "--free-tier", "new")
    assert status == 2 and "legacy-12-month" in err and "Traceback" not in err


def test_estimate_passes_provider_options() -> None:
    """-o KEY=VALUE reaches estimate() with its type (arm64 is cheaper than x86_64)."""
    base = ["estimate", "aws-lambda", "--invocations", "100000", "--duration-ms", "350"]
    base += ["--memory-mb", "512", "--format", "json"]
    arm = json.loads(run(*base, "-o", "arch=arm64")[1])["total"]
    x86 = json.loads(run(*base)[1])["total"]
    expected = estimate(
        "aws-lambda", invocations=100_000, duration_ms=350, memory_mb=512, arch="arm64"
    )
    assert arm == pytest.approx(expected.total) and arm < x86


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["estimate", "aws-lambda", "--invocations", "many"], "argument --invocations: 'many'"),
        (["estimate", "aws-lambda", "--invocations", "-5"], "must be a finite number >= 0"),
        (["estimate", "aws-lamda", "--invocations", "1"], "did you mean 'aws-lambda'"),
        (
            [*ESTIMATE_1MS, "--memory-mb", "99999"],
            "memory_mb=99999: aws-lambda allows 128 to 10240 MB",
        ),
        (
            [*ESTIMATE_1MS, "--memory-mb", "128", "-o", "vcpu=1"],
            "aws-lambda does not bill option(s) vcpu",
        ),
        (["estimate", "aws-lambda", "-o", "novalue"], "must be KEY=VALUE"),
        (["prices", "nope"], "unknown provider 'nope'"),
        (["bill", "missing.log", "--provider", "aws-lambda"], "no such file or folder"),
        (["bill", str(FIXTURES / "aws_text.log")], "--provider"),
        (
            ["bill", "a.log", "--provider", "aws-lambda", "--log-format", "x"],
            "argument --log-format: invalid choice",
        ),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "required: COMMAND"),
    ],
)
def test_bad_argument_exits_2_with_one_line_reason(argv: list[str], reason: str) -> None:
    """A bad argument or input: exit 2, one line on stderr naming it, no traceback."""
    status, out, err = run(*argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and reason in err
    assert err.startswith("costmodel") and "Traceback" not in err


def test_bill_table_lists_groups_bill_and_malformed_lines() -> None:
    """bill prints one row per function and memory, the bill, and malformed lines on stderr."""
    log = str(FIXTURES / "aws_text.log")
    status, out, err = run("bill", log, "--provider", "aws-lambda")
    assert status == 0
    assert "6 invocations billed on aws-lambda" in out and "4,807 ms" in out
    assert out.splitlines()[-1].split()[0] == "TOTAL"
    assert err.splitlines()[0] == "2 malformed line(s), not billed:"
    assert f"{log}:23: Lambda REPORT line: missing or unreadable 'Billed Duration'" in err


def test_bill_json_equals_library_result(tmp_path: Path) -> None:
    """--format json carries the groups, total and malformed lines of bill_from_logs."""
    status, text, _ = run(
        "bill", str(FIXTURES / "fc_text.log"), "--provider", "alibaba-fc3", "-o", "vcpu=0.1",
        "--format", "json",
    )  # fmt: skip
    data = json.loads(text)
    expected = bill_from_logs(FIXTURES / "fc_text.log", provider="alibaba-fc3", vcpu=0.1)
    assert status == 0
    assert data["total"] == pytest.approx(expected.total)
    assert data["groups"][0]["billed_duration_ms"] == 136.0
    assert data["malformed"][0]["line"] == 13 and data["malformed_count"] == 1


@pytest.mark.parametrize(("flags", "billed_ms"), [((), 4809), (("--init-billed", "no"), 4649)])
def test_bill_init_billed_choices(flags: tuple[str, ...], billed_ms: float) -> None:
    """--init-billed yes|no decides a measured cold start's init; auto asks for it when
    the lines carry no timestamp (exit 2 naming the choice)."""
    base = ["bill", str(FIXTURES / "aws_text.log"), "--provider", "aws-lambda"]
    base += ["--billed-duration", "measured", "--format", "json"]
    status, text, err = run(*base, *flags) if flags else run(*base, "--init-billed", "yes")
    assert status == 0, err
    assert sum(g["billed_duration_ms"] for g in json.loads(text)["groups"]) == billed_ms
    status, _, err = run(*base)
    assert status == 2 and "init_billed='auto'" in err and "Traceback" not in err


def test_bill_csv_is_the_bill_lines() -> None:
    """--format csv prints the bill's lines, one CSV row each."""
    status, text, _ = run(
        "bill", str(FIXTURES / "aws_json.log"), "--provider", "aws-lambda", "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert status == 0 and [row["component"] for row in rows] == ["requests", "compute"]
    assert float(rows[0]["quantity"]) == 2


def test_bill_folder_and_several_files(tmp_path: Path) -> None:
    """A folder and a list of files bill the same invocations."""
    for name in ("aws_text.log", "aws_export.log"):
        (tmp_path / name).write_bytes((FIXTURES / name).read_bytes())
    folder = json.loads(run("bill", str(tmp_path), "--provider", "aws-lambda", "--format",
                            "json")[1])  # fmt: skip
    files = json.loads(
        run(
            "bill", str(tmp_path / "aws_text.log"), str(tmp_path / "aws_export.log"),
            "--provider", "aws-lambda", "--format", "json",
        )[1]
    )  # fmt: skip
    assert folder["total"] == files["total"]
    assert sum(group["invocations"] for group in folder["groups"]) == 8


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr is in an interactive shell."""

    def isatty(self) -> bool:
        return True


def test_bill_progress_bar_on_large_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large inputs show a tqdm progress bar on a terminal's stderr; --no-progress hides it,
    and so does a stderr that is not a terminal (a log file, CI)."""
    import costmodel.cli as cli

    monkeypatch.setattr(cli, "_PROGRESS_MIN_CHARS", 100)
    log = str(FIXTURES / "aws_export.log")
    out, err = io.StringIO(), Terminal()
    assert main(["bill", log, "--provider", "aws-lambda"], out=out, err=err) == 0
    assert "reading logs" in err.getvalue() and "reading logs" not in out.getvalue()
    err = Terminal()
    main(["bill", log, "--provider", "aws-lambda", "--no-progress"], out=out, err=err)
    assert "reading logs" not in err.getvalue()
    _, _, piped = run("bill", log, "--provider", "aws-lambda")
    assert "reading logs" not in piped and "\r" not in piped


def test_zero_rows_are_hidden_unless_all() -> None:
    """A compare measure that is 0 for every architecture is left out of the table; --all
    shows it; CSV always has it. A bill's free-tier lines (a quantity at $0.00) show."""
    compare = ["compare", str(ROOT / "examples" / "video_pipeline.toml"), "--no-charts"]
    compare += ["--samples", "200"]
    _, table, _ = run(*compare)
    _, every, _ = run(*compare, "--all")
    assert "gateway cost" not in table and "gateway cost" in every
    assert "$0.00" in every.split("gateway cost")[1].splitlines()[0]


def test_csv_and_json_keep_full_precision_and_raw_units() -> None:
    """Machines get the numbers as computed: no symbol, no rounding, unit prices per unit."""
    argv = ["estimate", "aws-lambda", "--invocations", "3000000", "--duration-ms", "120"]
    argv += ["--memory-mb", "1536", "--free-tier"]
    rows = list(csv.DictReader(io.StringIO(run(*argv, "--format", "csv")[1])))
    bill = estimate("aws-lambda", invocations=3e6, duration_ms=120, memory_mb=1536, free_tier=True)
    assert [float(r["cost"]) for r in rows] == pytest.approx(bill.lines["cost"].tolist())
    assert float(rows[1]["unit_price"]) == pytest.approx(2e-07) and rows[1]["unit"] == "request"
    data = json.loads(run(*argv, "--format", "json")[1])
    assert data["total"] == pytest.approx(bill.total, rel=1e-9) and "$" not in json.dumps(data)


def test_subcommands_register_through_one_function_each() -> None:
    """Every subcommand comes from a registering function; the parser knows them all."""
    names = [fn.__name__ for fn in SUBCOMMANDS]
    assert names == [
        "_add_prices",
        "_add_estimate",
        "_add_bill",
        "_add_compare",
        "_add_simulate",
        "_add_breakdown",
        "_add_diff",
        "_add_usage",
        "_add_demo",
    ]
    parser = build_parser()
    commands = ("prices", "estimate", "bill", "compare", "simulate", "breakdown", "diff", "usage")
    for command in (*commands, "demo"):
        assert callable(parser.parse_args([command, *_required(command)]).run)


def _required(command: str) -> list[str]:
    return {
        "prices": [],
        "estimate": ["aws-lambda"],
        "bill": ["x.log", "--provider", "aws-lambda"],
        "compare": ["examples/video_pipeline.toml"],
        "simulate": ["examples/outage.toml"],
        "breakdown": ["examples/iac/orders.yaml"],
        "diff": ["examples/iac/orders.yaml", "examples/iac/orders-arm.yaml"],
        "usage": ["init", "examples/iac/orders.yaml"],
        "demo": [],
    }[command]


def test_python_dash_m_costmodel_runs() -> None:
    """`python -m costmodel` is the same command line (a real subprocess)."""
    done = subprocess.run(
        [sys.executable, "-P", "-m", "costmodel", "estimate", "aws-lamda", "--invocations", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("costmodel estimate: error: unknown provider 'aws-lamda'")


def test_demo_runs_the_comparison_then_the_simulation(tmp_path: Path) -> None:
    """demo runs compare and simulate on the example files (a shortened outage here)."""
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "video_pipeline.toml").write_text(
        (ROOT / "examples" / "video_pipeline.toml").read_text()
    )
    outage = (ROOT / "examples" / "outage_short.toml").read_text()
    short = outage.replace("duration_s = 360", "duration_s = 40").replace(
        "start_s = 60\nend_s = 240", "start_s = 10\nend_s = 25"
    )
    assert short.count("duration_s = 40") == 1 and "start_s = 10" in short
    (examples / "outage_short.toml").write_text(short)
    status, out, err = run("demo", "--examples", str(examples), "--out", str(tmp_path / "out"))
    assert status == 0, err
    assert out.index("$ costmodel compare") < out.index("$ costmodel simulate")
    assert "monolith" in out and "no protection" in out
    assert out.rstrip().endswith("costmodel simulate examples/outage.toml")
    assert len(list((tmp_path / "out").glob("*.png"))) >= 4


def test_the_demo_outage_is_short_and_shows_what_the_breaker_saves() -> None:
    """The demo's scenario is a few thousand calls (seconds, not minutes), and in it the
    breaker rejects attempts, the fallback and the cache answer, and each costs less."""
    from costmodel import load_simulation

    spec = load_simulation(ROOT / "examples" / "outage_short.toml")
    arrivals = spec.scenario.arrivals
    assert arrivals.rate_per_s * arrivals.duration_s * len(spec.policies) <= 40_000
    assert list(spec.policies) == list(load_simulation(ROOT / "examples" / "outage.toml").policies)


def test_demo_without_the_example_files_says_where_to_run_it(tmp_path: Path) -> None:
    """demo in a folder without the examples exits 2 with a one-line reason."""
    status, _, err = run("demo", "--examples", str(tmp_path))
    assert status == 2
    assert "no video_pipeline.toml there" in err and err.count("\n") == 1


def test_demo_reads_the_example_files_that_ship_with_the_package() -> None:
    """Without --examples, demo uses costmodel/examples, the same files examples/ links to."""
    from costmodel.cli import DEMO_STEPS, shipped_examples

    folder = shipped_examples()
    for _, file, _ in DEMO_STEPS:
        assert (folder / file).read_bytes() == (ROOT / "examples" / file).read_bytes()


def test_a_closed_pipe_ends_quietly() -> None:
    """`costmodel prices | head`: the reader going away is exit 0, not an error line."""

    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    err = io.StringIO()
    assert main(["prices"], out=Closed(), err=err) == 0
    assert err.getvalue() == ""


def test_a_file_problem_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """An OSError reading an input (here a folder where a log file is expected) is one line."""
    status, _, err = run("bill", str(tmp_path / "missing.log"), "--provider", "aws-lambda")
    assert status == 2 and err.count("\n") == 1 and "missing.log" in err


def test_bill_and_simulate_take_a_region() -> None:
    """--region on bill and simulate: a known region bills there, an unknown one exits 2
    naming the known ones."""
    log = str(FIXTURES / "aws_text.log")
    status, text, err = run("bill", log, "--provider", "aws-lambda", "--region", "ap-southeast-1",
                            "--format", "json")  # fmt: skip
    assert status == 0, err
    assert json.loads(text)["total"] > 0
    status, _, err = run("bill", log, "--provider", "aws-lambda", "--region", "mars-1")
    assert status == 2 and "mars-1" in err and "us-east-1" in err
    status, _, err = run("simulate", str(EXAMPLES / "outage_short.toml"), "--region", "mars-1",
                         "--no-charts")  # fmt: skip
    assert status == 2 and "mars-1" in err and "Traceback" not in err


def test_bill_on_a_scheduler_prints_the_serial_bill(dask_client: object) -> None:
    """--scheduler ADDRESS reads the files on that cluster (one task per file): the same
    table and the same malformed lines (file and line) as the read here."""
    logs = [str(FIXTURES / "aws_text.log"), str(FIXTURES / "real" / "snapstart_text.log")]
    address = dask_client.scheduler.address  # type: ignore[attr-defined]
    here = run("bill", *logs, "--provider", "aws-lambda", "--free-tier", "always")
    there = run(
        "bill", *logs, "--provider", "aws-lambda", "--free-tier", "always", "--scheduler", address
    )
    assert here[0] == there[0] == 0
    assert there[1] == here[1] and "TOTAL" in there[1]
    assert there[2] == here[2] and ":23: Lambda REPORT line" in there[2]


def test_bill_scheduler_errors_exit_2() -> None:
    status, _, err = run(
        "bill", str(FIXTURES / "aws_text.log"), "--provider", "aws-lambda", "--scheduler", "nope"
    )
    assert status == 2
    assert err.strip().endswith("must be a scheduler address (tcp://HOST:PORT) or 'local'")
