"""Infrastructure code in, breakdown out: what reading and pricing cost beyond the work
they cannot avoid.

1. ``from_sam`` on AWS Lambda Power Tuning's template (resolving Parameters, Conditions,
   Globals and the state machine's definition file) vs PyYAML's ``yaml.load`` of the same
   text with the same tag constructors: the overhead of resolution.
2. ``from_terraform_plan`` on checkov's TerraGoat plan (163 KB, 55 resources) vs
   ``json.load`` of the file.
3. ``breakdown(samples=1000)`` of ``examples/iac/orders.yaml`` with its usage file (two
   resources vary) vs the bare ``estimate()`` calls it must make (one per varying resource
   per sample month, plus one per fixed resource): the overhead of drawing, pooling the
   account (one bill sum per month) and summarising the bands.
4. The same deployment with point usage (every amount its mean) vs the distribution case:
   point usage prices each resource once, whatever ``samples``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from benchmarks.harness import Row, wall_seconds
from costmodel import estimate, from_sam, from_terraform_plan
from costmodel.iac.intrinsics import _yaml_loader

TITLE = "Infrastructure code (from_sam / from_terraform_plan / breakdown vs their bare work)"
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "iac"
EXAMPLES = ROOT / "costmodel" / "examples" / "iac"
SAMPLES = 1000


def _point_usage() -> dict[str, object]:
    return {
        "version": 0.1,
        "resource_usage": {
            "OrderFunction": {"monthly_requests": 3.6e6, "request_duration_ms": 170},
            "PaymentFunction": {"monthly_requests": 3e6, "request_duration_ms": 250},
            "OrderQueue": {"monthly_requests": 9e6, "request_size_kb": 4},
            "FulfilFunction": {"monthly_requests": 3e5, "request_duration_ms": 1200},
            "ShipFlow": {"monthly_requests": 3e6, "monthly_transitions": 9e6},
        },
    }


def _bare_estimates() -> None:
    """The estimate() calls a 1,000-month breakdown of orders.yaml cannot avoid."""
    for i in range(SAMPLES):
        requests = 3e6 + i
        estimate("aws-lambda", invocations=requests, duration_ms=170.0, memory_mb=1024)
        estimate("aws-apigw-http", invocations=requests)
    estimate("aws-lambda", invocations=3e6, duration_ms=250, memory_mb=512)
    estimate("aws-sqs-standard", invocations=9e6, payload_kb=4)
    estimate("aws-lambda", invocations=3e5, duration_ms=1200, memory_mb=2048)
    estimate("aws-sfn-standard", invocations=9e6)


def run() -> list[Row]:
    warnings.simplefilter("ignore")
    template = FIXTURES / "power-tuning" / "template.yml"
    yaml, loader = _yaml_loader()
    text = template.read_text()
    read_ours = wall_seconds(lambda: from_sam(template), repeat=20)
    read_yaml = wall_seconds(lambda: yaml.load(text, Loader=loader), repeat=20)
    plan = FIXTURES / "terraform" / "terragoat-tfplan.json"
    plan_ours = wall_seconds(lambda: from_terraform_plan(plan), repeat=20)
    plan_json = wall_seconds(lambda: json.loads(plan.read_text()), repeat=20)
    orders = from_sam(EXAMPLES / "orders.yaml", EXAMPLES / "orders-usage.yml")
    orders.breakdown(samples=10)  # warm-up: imports, sheets
    priced = wall_seconds(lambda: orders.breakdown(samples=SAMPLES), repeat=3)
    bare = wall_seconds(_bare_estimates, repeat=3)
    points = from_sam(EXAMPLES / "orders.yaml", _point_usage())
    point = wall_seconds(lambda: points.breakdown(samples=SAMPLES), repeat=3)
    return [
        Row("from_sam, Power Tuning template (ms)", read_ours * 1e3, read_yaml * 1e3,
            "ms; ratio = ours / yaml.load of the text", "report"),
        Row("from_terraform_plan, TerraGoat plan 163 KB (ms)", plan_ours * 1e3, plan_json * 1e3,
            "ms; ratio = ours / json.loads of the file", "report"),
        Row(f"breakdown, orders.yaml, {SAMPLES:,} months, 2 varying (s)", priced, bare,
            "s; ratio = ours / its bare estimate() calls", "<= 4x"),
        Row(f"breakdown, point usage vs distributions, {SAMPLES:,} months (s)", point, priced,
            "s; ratio = point / distributions", "<< 1"),
    ]  # fmt: skip
