"""costmodel breakdown, diff and usage init: formats, exit codes (0, 1 on --fail-above,
2 on bad input, one line and no traceback)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.cli import run
from support.paths import EXAMPLES, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "iac"
ORDERS = str(EXAMPLES / "iac" / "orders.yaml")
ORDERS_ARM = str(EXAMPLES / "iac" / "orders-arm.yaml")
USAGE = str(EXAMPLES / "iac" / "orders-usage.yml")


def test_breakdown_table_lists_resources_total_and_skipped() -> None:
    """The table: each resource and its items, the TOTAL, the free-tier note, skipped count."""
    status, out, err = run("breakdown", ORDERS, "--usage", USAGE, "--samples", "200")
    assert status == 0 and err == ""
    for name in (
        "OrderFunction",
        "PaymentFunction",
        "OrderQueue",
        "FulfilFunction",
        "ShipFlow",
        "TOTAL",
    ):
        assert name in out
    assert "free tier: not applied" in out and "1 resource(s) skipped" in out
    status, shown, _ = run(
        "breakdown", ORDERS, "--usage", USAGE, "--samples", "200", "--show-skipped"
    )
    assert "OrdersTable (AWS::DynamoDB::Table): not priced by callwise" in shown


def test_breakdown_json_and_csv_carry_the_same_numbers() -> None:
    """JSON has Infracost-like keys and bands; CSV has one row per item; totals agree."""
    _, text, _ = run("breakdown", ORDERS, "--usage", USAGE, "--samples", "200", "--format", "json")
    data = json.loads(text)
    assert data["currency"] == "USD" and data["freeTier"] == "none"
    assert data["totalMonthlyCostP5"] < data["totalMonthlyCost"] < data["totalMonthlyCostP95"]
    assert sum(r["monthlyCost"] for r in data["resources"]) == pytest.approx(
        data["totalMonthlyCost"]
    )
    _, text, _ = run("breakdown", ORDERS, "--usage", USAGE, "--samples", "200", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sum(float(r["cost_usd"]) for r in rows) == pytest.approx(data["totalMonthlyCost"])


def test_breakdown_markdown_is_a_table_for_a_comment() -> None:
    """Markdown: a heading, a pipe table with a bold total, the free-tier note."""
    _, text, _ = run(
        "breakdown",
        ORDERS,
        "--usage",
        USAGE,
        "--samples",
        "50",
        "--format",
        "markdown",
        "--free-tier",
    )
    assert text.startswith("### Monthly cost of ")
    assert "| **Total** |" in text and "free tier: always" in text


def test_breakdown_reads_a_plan_and_warns_about_the_usage_file() -> None:
    """A plan by content; a usage key a type lacks is a warning on stderr, exit 0."""
    status, out, err = run(
        "breakdown",
        str(FIXTURES / "infracost" / "sqs_queue_test.plan.json"),
        "--usage",
        str(FIXTURES / "infracost" / "sqs_queue_test.usage.yml"),
        "--samples",
        "1",
    )
    assert status == 0 and "$1.30" in out
    assert err.startswith("warning: ") and "request_size" in err


def test_breakdown_parameters_change_the_template() -> None:
    """-p OrderMemory=2048 doubles the order function's GB-s."""
    _, small, _ = run("breakdown", ORDERS, "--usage", USAGE, "--samples", "1", "--format", "json")
    _, large, _ = run(
        "breakdown",
        ORDERS,
        "--usage",
        USAGE,
        "--samples",
        "1",
        "--format",
        "json",
        "-p",
        "OrderMemory=2048",
    )

    def order(text: str) -> float:
        return next(
            r["monthlyCost"] for r in json.loads(text)["resources"] if r["name"] == "OrderFunction"
        )

    assert order(large) > order(small)


def test_diff_prints_past_new_and_change() -> None:
    """arm64 for the fulfilment function: a saving, exit 0 even with --fail-above."""
    status, out, err = run(
        "diff", ORDERS, ORDERS_ARM, "--usage", USAGE, "--samples", "100", "--fail-above", "0"
    )
    assert status == 0 and err == ""
    assert "FulfilFunction" in out and "changed" in out and "TOTAL" in out
    _, text, _ = run(
        "diff", ORDERS, ORDERS_ARM, "--usage", USAGE, "--samples", "100", "--format", "json"
    )
    data = json.loads(text)
    assert data["diffTotalMonthlyCost"] == pytest.approx(
        data["totalMonthlyCost"] - data["pastTotalMonthlyCost"]
    )
    assert data["diffTotalMonthlyCost"] < 0
    _, text, _ = run(
        "diff", ORDERS, ORDERS_ARM, "--usage", USAGE, "--samples", "100", "--format", "markdown"
    )
    assert text.startswith("### Cost change: -$") and "| `FulfilFunction` | changed |" in text


@pytest.mark.parametrize(("limit", "status"), [("1%", 1), ("50%", 0), ("5", 1), ("50", 0)])
def test_diff_fails_above_an_increase_only(limit: str, status: int) -> None:
    """HEAD = x86 again from arm64 (an increase of about $7 on $260): exit 1 above the limit."""
    code, _, err = run(
        "diff", ORDERS_ARM, ORDERS, "--usage", USAGE, "--samples", "50", "--fail-above", limit
    )
    assert code == status
    assert ("above --fail-above" in err) == (status == 1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["diff", ORDERS, ORDERS, "--fail-above", "ten"], "--fail-above 'ten'"),
        (["breakdown", str(ROOT / "nope.yaml")], "No such file or directory"),
        (["breakdown", ORDERS, "--samples", "0"], "samples=0"),
        (["breakdown", ORDERS, "-p", "Nope=1"], "Nope not declared"),
        (["breakdown", ORDERS, "-p", "novalue"], "--parameter 'novalue'"),
        (["breakdown", ORDERS, "--region", "mars-1"], "mars-1"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv: list[str], message: str) -> None:
    """A bad threshold, file, option or region: exit 2, one line, no traceback."""
    status, out, err = run(*argv)
    assert status == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_malformed_files_exit_2_naming_the_line(tmp_path: Path) -> None:
    """Malformed YAML template and malformed usage file: file and line in the message."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("Resources:\n  A: [\n")
    status, _, err = run("breakdown", str(bad))
    assert status == 2 and "bad.yaml: line 3, column 1: malformed YAML" in err
    usage = tmp_path / "usage.yml"
    usage.write_text("version: 0.1\nresource_usage:\n  OrderFunction:\n    monthly_requests: -1\n")
    status, _, err = run("breakdown", ORDERS, "--usage", str(usage))
    assert status == 2 and "usage.yml: resource_usage.OrderFunction.monthly_requests" in err


def test_usage_init_prints_writes_and_merges(tmp_path: Path) -> None:
    """Without --usage it prints; with a new file it writes; with a file it merges."""
    status, out, _ = run("usage", "init", ORDERS)
    skeleton = yaml.safe_load(out)
    assert status == 0 and skeleton["version"] == 0.1
    assert sorted(skeleton["resource_usage"]) == [
        "FulfilFunction",
        "OrderFunction",
        "OrderQueue",
        "PaymentFunction",
        "ServerlessHttpApi",
        "ShipFlow",
    ]
    target = tmp_path / "usage.yml"
    shutil.copy(USAGE, target)
    status, out, _ = run("usage", "init", ORDERS, "--usage", str(target))
    assert status == 0 and "6 resource(s), 1 added" in out
    merged = yaml.safe_load(target.read_text())["resource_usage"]
    original = yaml.safe_load(Path(USAGE).read_text())["resource_usage"]
    assert (
        merged["OrderFunction"]["monthly_requests"] == original["OrderFunction"]["monthly_requests"]
    )
    assert merged["OrderFunction"]["calls"] == {"PaymentFunction": "sync"}
    assert merged["ServerlessHttpApi"] == {"monthly_requests": 0, "request_size_kb": 0}
    assert merged["OrderQueue"]["request_size_kb"] == 4
    status, _, _ = run("breakdown", ORDERS, "--usage", str(target), "--samples", "10")
    assert status == 0


def test_help_of_the_new_commands() -> None:
    """--help of breakdown, diff, usage init: exit 0, usage text, the formats."""
    for argv in (["breakdown"], ["diff"], ["usage", "init"]):
        status, out, _ = run(*argv, "--help")
        assert status == 0 and out.startswith("usage: costmodel")
    assert (
        "markdown" in run("breakdown", "--help")[1] and "--fail-above" in run("diff", "--help")[1]
    )


def test_help_of_the_new_commands_loads_no_pandas_nor_yaml() -> None:
    """costmodel breakdown/diff/usage --help stay light: no pandas, matplotlib or yaml."""
    code = (
        "import contextlib, io, sys\n"
        "from costmodel.cli import main\n"
        "for argv in (['breakdown', '--help'], ['diff', '--help'], ['usage', 'init', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert main(argv) == 0, argv\n"
        "heavy = ('pandas', 'matplotlib', 'yaml')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_usage_init_asks_a_state_machine_for_what_its_definition_needs(tmp_path: Path) -> None:
    """A machine with its definition gets the keys its transitions come from (the Map's
    items), not monthly_transitions (a 0 there would override the definition); filled in,
    the skeleton prices the Map sample's 4 + 3N transitions."""
    template = str(FIXTURES / "sfn-map" / "template.yaml")
    status, out, _ = run("usage", "init", template)
    skeleton = yaml.safe_load(out)
    machine = skeleton["resource_usage"]["MapStateStateMachine"]
    assert status == 0
    assert machine == {"monthly_requests": 0, "states": {"Process Messages": {"items": 0}}}
    machine["monthly_requests"] = 1_000_000
    machine["states"]["Process Messages"]["items"] = 10
    filled = tmp_path / "usage.yml"
    filled.write_text(yaml.safe_dump(skeleton))
    status, out, _ = run("breakdown", template, "--usage", str(filled), "--format", "json")
    assert status == 0
    (line,) = [
        item
        for resource in json.loads(out)["resources"]
        if resource["name"] == "MapStateStateMachine"
        for item in resource["costComponents"]
    ]
    assert line["name"] == "state transitions"
    assert line["monthlyQuantity"] == 1_000_000 * (4 + 3 * 10)
