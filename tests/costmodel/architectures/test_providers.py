"""Comparing across providers at once, CPU time of functions, regions in compare and files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from support.cli import run

from costmodel import InvalidFile, InvalidUsage, price_sheet
from costmodel.architectures.comparison import compare, sweep
from costmodel.architectures.compositions import (
    Function,
    monolith,
    simulate_usage,
    sync_chain,
)
from costmodel.architectures.file import load_architectures
from costmodel.catalog import sheets as sheets_module

# ------------------------------------------------------------------- CPU of functions


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"cpu_ms": 10, "cpu_share": 0.5}, "give one of them"),
        ({"cpu_ms": 150}, "cpu_ms=150: exceeds the mean duration 100 ms"),
        ({"cpu_share": 1.5}, r"cpu_share=1.5: must be a probability in \[0, 1\]"),
        ({"cpu_ms": -1}, "cpu_ms=-1: must be a finite number >= 0"),
    ],
)
def test_function_cpu_is_validated(fields: dict[str, float], match: str) -> None:
    """CPU time: one of cpu_ms or cpu_share, within the run time."""
    with pytest.raises(InvalidUsage, match=match):
        Function("f", memory_mb=128, duration=100, **fields)


def test_cpu_excludes_the_time_a_caller_waits() -> None:
    """A sync caller's CPU share applies to its own 100 ms, not to the 300 ms it waits: on
    Workers, 1M requests bill 2M requests (within the plan) and 1M x (50 + 30) = 80M CPU-ms:
    $5 + (80M - 30M) x $0.02/M = $6.00."""
    a = Function("a", memory_mb=128, duration=100, cpu_share=0.5)
    b = Function("b", memory_mb=128, duration=300, cpu_ms=30)
    usage = simulate_usage(sync_chain(a, b), samples=100)
    assert usage.functions["a"].cpu_ms.tolist() == [50.0] * 100  # type: ignore[union-attr]
    assert usage.functions["a"].billed_ms[0] > 300
    table = compare({"chain": sync_chain(a, b)}, provider="cloudflare-workers",
                    invocations=1_000_000, samples=100)  # fmt: skip
    assert table.loc["chain", "total_usd"] == pytest.approx(6.00)
    assert table.loc["chain", "subscription_usd"] == pytest.approx(5.00)
    assert table.loc["chain", "billed_gb_s"] == 0.0  # Workers bill no memory


def test_monolith_adds_its_steps_cpu() -> None:
    """A monolith's CPU time is the sum of its steps' (when every step gives one)."""
    a = Function("a", memory_mb=128, duration=100, cpu_share=0.5)
    b = Function("b", memory_mb=128, duration=300, cpu_ms=30)
    assert monolith(a, b).function.cpu_ms == pytest.approx(80)
    assert monolith(a, Function("c", memory_mb=128, duration=10)).function.cpu_ms is None


def test_cpu_time_biller_needs_the_functions_cpu() -> None:
    """Without cpu_ms or cpu_share a CPU-time biller cannot price a function: it says so."""
    f = Function("resize", memory_mb=2048, duration=100)
    with pytest.raises(InvalidUsage, match="function 'resize': vercel-functions bills CPU"):
        compare({"f": f}, provider="vercel-functions", invocations=1000, samples=10)


def test_memory_sweep_scales_a_fixed_cpu_time() -> None:
    """More memory, shorter CPU-bound run: a fixed cpu_ms scales with the run time."""
    from costmodel.architectures.distributions import CpuBound

    f = Function("f", memory_mb=1024, duration=400, cpu_ms=400)
    faster = f.with_memory(2048, scaling=CpuBound(cpu_share=1.0))
    assert faster.duration.mean_ms < 400
    assert faster.cpu_ms == pytest.approx(faster.duration.mean_ms)


# --------------------------------------------------------------------- several providers

API = Function("api", memory_mb=2048, duration=120, cpu_share=0.25)
PROVIDERS = ["aws-lambda", "cloudflare-workers", "vercel-functions", "gcp-cloud-run"]


def test_one_table_across_providers_matches_each_alone() -> None:
    """Each row of the multi-provider table equals that provider's own comparison."""
    both = compare({"api": API, "chain": sync_chain(API, dataclasses.replace(API, name="b"))},
                   provider=PROVIDERS, invocations=20_000_000, samples=500)  # fmt: skip
    assert list(both.index) == [f"{n} @ {p}" for n in ("api", "chain") for p in PROVIDERS]
    assert both.attrs["rows"]["api @ gcp-cloud-run"] == ("api", "gcp-cloud-run")
    assert both.attrs["provider"] == ",".join(PROVIDERS)
    for key in PROVIDERS:
        alone = compare({"api": API}, provider=key, invocations=20_000_000, samples=500)
        mine = both.loc[f"api @ {key}", alone.columns]
        pd.testing.assert_series_equal(mine, alone.loc["api"], check_names=False)
    assert both.loc["api @ cloudflare-workers", "subscription_usd"] == 5.0
    assert both.loc["api @ aws-lambda", "subscription_usd"] == 0.0
    assert "subscription_usd" not in compare({"api": API}, invocations=1e6, samples=10).columns


def test_providers_as_a_comma_string_and_bad_lists() -> None:
    """'a,b' works like ['a', 'b']; an empty or repeated key is refused."""
    table = compare({"api": API}, provider="aws-lambda,gcp-cloud-run", invocations=1e6,
                    samples=10)  # fmt: skip
    assert len(table) == 2
    for bad in ("", "aws-lambda,aws-lambda", ["aws-lambda", ""]):
        with pytest.raises(InvalidUsage, match="one function platform key or several"):
            compare({"api": API}, provider=bad, invocations=1e6, samples=10)


def test_one_currency_per_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider billing in EUR beside USD ones: refused before simulating."""
    eur = dataclasses.replace(price_sheet("aws-lambda"), key="eu-faas", currency="EUR")
    monkeypatch.setitem(sheets_module._catalog(), "eu-faas", eur)
    with pytest.raises(InvalidUsage, match=r"several currencies \(aws-lambda=USD, eu-faas=EUR\)"):
        compare({"api": API}, provider=["aws-lambda", "eu-faas"], invocations=1e6, samples=10)


def test_options_per_provider() -> None:
    """With several providers, options may be given per provider."""
    table = compare({"api": API}, provider=["aws-lambda", "gcp-cloud-run"], invocations=1e7,
                    samples=10, options={"aws-lambda": {"arch": "arm64"},
                                         "gcp-cloud-run": {"concurrency": 10}})  # fmt: skip
    arm = compare({"api": API}, provider="aws-lambda", invocations=1e7, samples=10,
                  options={"arch": "arm64"})  # fmt: skip
    assert table.loc["api @ aws-lambda", "total_usd"] == arm.loc["api", "total_usd"]


# ------------------------------------------------------------------------- regions


def test_compare_in_a_region() -> None:
    """Singapore's Lambda prices (the same as Virginia's) give the same table; a region a
    platform has no prices for is refused, listing the known ones."""
    here = compare({"api": API}, invocations=1e7, samples=10)
    there = compare({"api": API}, invocations=1e7, samples=10, region="ap-southeast-1")
    assert there.loc["api", "total_usd"] == pytest.approx(here.loc["api", "total_usd"])
    assert there.attrs["region"] == {"aws-lambda": "ap-southeast-1"}
    with pytest.raises(InvalidUsage, match="region='eu-west-1': aws-lambda has prices for"):
        compare({"api": API}, invocations=1e7, samples=10, region="eu-west-1")
    with pytest.raises(InvalidUsage, match="not among the providers compared"):
        compare({"api": API}, invocations=1e7, samples=10, region={"gcp-cloud-run": "x"})


def test_region_applies_to_the_vendors_services() -> None:
    """In eu-central-1 an HTTP API gateway (no verified Frankfurt price) is refused."""
    chain = sync_chain(API, dataclasses.replace(API, name="b"), via="gateway")
    with pytest.raises(InvalidUsage, match="aws-apigw-http has prices for us-east-1"):
        compare({"c": chain}, invocations=1e6, samples=10, region="eu-central-1")
    rest = compare({"c": chain}, invocations=1e6, samples=10, region="eu-central-1",
                   services={"gateway_http": "aws-apigw-rest"})  # fmt: skip
    assert rest.loc["c", "gateway_usd"] == pytest.approx(3.70)


def test_sweep_takes_a_region() -> None:
    """A volume sweep in a region: an unknown one is refused before simulating."""
    result = sweep({"api": API}, over="invocations", values=[1e5, 1e6], samples=10,
                   region="us-west-2")  # fmt: skip
    assert len(result.frame) == 2
    with pytest.raises(InvalidUsage, match="region='mars'"):
        sweep({"api": API}, over="invocations", values=[1e5, 1e6], samples=10, region="mars")


# -------------------------------------------------------------------- files and CLI

FILE = """
title = "API"
invocations = 20_000_000
{head}
[functions.api]
memory_mb = 2048
duration_ms = 120
cpu_share = 0.25
[architectures.single]
type = "monolith"
steps = ["api"]
"""


def write(tmp_path: Path, head: str) -> Path:
    path = tmp_path / "arch.toml"
    path.write_text(FILE.format(head=head))
    return path


def test_file_names_providers_and_regions(tmp_path: Path) -> None:
    """A file's provider list and regions are read and checked."""
    loaded = load_architectures(write(
        tmp_path, 'provider = ["aws-lambda", "vercel-functions"]\n'
        'region = { vercel-functions = "sfo1" }'))  # fmt: skip
    assert loaded.provider == ("aws-lambda", "vercel-functions")
    assert loaded.region == {"vercel-functions": "sfo1"}
    assert loaded.functions["api"].cpu_share == 0.25


@pytest.mark.parametrize(
    ("head", "match"),
    [
        ('provider = "aws-lamda"', "provider: unknown provider 'aws-lamda'"),
        ("provider = 3", "provider: must be a platform key"),
        ('provider = "aws-lambda"\nregion = "eu-west-1"', "region: region='eu-west-1'"),
        ('provider = "aws-lambda"\nregion = { gcp-cloud-run = "x" }', "region.gcp-cloud-run"),
        ("region = 5", "region: must be a region code"),
    ],
)
def test_file_provider_and_region_errors(tmp_path: Path, head: str, match: str) -> None:
    """Each mistake is an InvalidFile naming the field."""
    with pytest.raises(InvalidFile, match=match):
        load_architectures(write(tmp_path, head))


def test_cli_compares_the_files_providers_in_one_table(tmp_path: Path) -> None:
    """costmodel compare uses the file's providers; charts need one provider."""
    path = write(tmp_path, f"provider = {PROVIDERS!r}".replace("'", '"'))
    status, out, err = run("compare", str(path), "--samples", "200", "--out", str(tmp_path))
    assert status == 0, err
    assert "single @ cloudflare-workers" in out and "subscription cost" in out
    assert "charts: not drawn" in out
    assert not list(tmp_path.glob("*.png"))


def test_cli_compare_provider_and_region_flags(tmp_path: Path) -> None:
    """--provider a,b and --region PROVIDER=REGION; a bad --region exits 2 in one line."""
    path = write(tmp_path, "")
    status, out, err = run(
        "compare", str(path), "--samples", "100", "--no-charts", "--format", "csv",
        "--provider", "aws-lambda,vercel-functions", "--region", "vercel-functions=hkg1",
    )  # fmt: skip
    assert status == 0, err
    assert "single @ vercel-functions" in out
    status, out, err = run("compare", str(path), "--no-charts", "--region", "a=b", "--region", "c")
    assert status == 2 and err.count("\n") == 1 and "PROVIDER=REGION" in err


def test_cli_estimate_and_prices_take_a_region() -> None:
    """estimate --region bills that region's prices; prices --region shows them."""
    status, out, _ = run("estimate", "vercel-functions", "--invocations", "5000000",
                         "--duration-ms", "400", "--memory-mb", "2048", "-o", "cpu_ms=50",
                         "--region", "sfo1", "--format", "json")  # fmt: skip
    assert status == 0 and round(json.loads(out)["total"], 2) == 11.86
    status, out, err = run("prices", "aws-lambda", "--region", "eu-west-1")
    assert status == 2 and "not verified, left out: eu-west-1" in err
    status, out, _ = run("prices", "aws-sqs-standard", "--region", "ap-northeast-1")
    assert status == 0 and "ap-northeast-1" in out
