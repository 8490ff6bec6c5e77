"""The price catalog: sheets, sources, loading, deriving, unknown keys, doctests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

import costmodel
from costmodel import (
    COMPONENTS,
    InvalidFile,
    InvalidUsage,
    PriceSheet,
    UnknownProvider,
    load_price_sheet,
    price_sheet,
    providers,
)
from costmodel.catalog import sheets as pricing_module

KEYS = [
    "aws-lambda",
    "aws-sfn-standard",
    "aws-sfn-express",
    "aws-apigw-http",
    "aws-apigw-rest",
    "aws-sqs-standard",
    "aws-sqs-fifo",
    "aws-s3",
    "aws-data-transfer",
    "alibaba-fc3",
    "azure-functions-consumption",
    "gcp-functions-gen1",
    "gcp-cloud-run-functions",
    "huawei-functiongraph",
    "cloudflare-workers",
    "vercel-functions",
    "gcp-cloud-run",
    "gcp-cloud-run-instance",
    "azure-functions-flex",
    "aws-cloudwatch-alarms",
    "aws-cloudwatch-alarms-high-resolution",
    "aws-cloudwatch-synthetics",
    "aws-eventbridge-scheduler",
]
PRICES = Path(pricing_module.__file__).parent / "prices"

MINIMAL = """
key = "my-faas"
service = "My FaaS"
vendor = "me"
model = "faas"
currency = "EUR"
region = "home"
source = "https://example.com/pricing"
date_read = 2026-01-31
[rules]
memory_mb = [128, 4096]
duration_step_ms = 100
min_billed_ms = 100
[[meters]]
name = "requests"
component = "requests"
unit = "request"
price = 0.3
per = 1_000_000
[[meters]]
name = "duration"
component = "compute"
unit = "GB-s"
price = 0.00001
"""


def write(tmp_path: Path, text: str) -> Path:
    """Write ``text`` to a TOML file under ``tmp_path``."""
    path = tmp_path / "sheet.toml"
    path.write_text(text)
    return path


def test_catalog_has_exactly_the_agreed_keys() -> None:
    """providers() lists the 23 agreed keys, sorted, one TOML file each."""
    frame = providers()
    assert sorted(KEYS) == frame["key"].tolist()
    assert sorted(p.stem for p in PRICES.glob("*.toml")) == sorted(KEYS)
    assert list(frame.columns) == [
        "key", "service", "vendor", "model", "currency", "region", "source", "date_read", "note",
        "regions",
    ]  # fmt: skip


@pytest.mark.parametrize("key", KEYS)
def test_every_number_has_unit_source_and_date(key: str) -> None:
    """Each meter has a unit, an http(s) source and an ISO date; tiers rise and end at inf."""
    sheet = price_sheet(key)
    assert sheet.source.startswith("https://")
    for meter in sheet.meters:
        assert meter.unit and meter.component in COMPONENTS
        assert meter.source.startswith("https://")
        assert dt.date.fromisoformat(meter.date_read) <= dt.date(2026, 12, 3)
        bounds = [t.upto for t in meter.tiers]
        assert bounds == sorted(bounds) and math.isinf(bounds[-1])
        assert all(t.unit_price > 0 for t in meter.tiers)
    undated = [m.name for m in sheet.meters if m.date_read != sheet.date_read and not m.note]
    assert not undated, "figures not read with the sheet need a note"


@pytest.mark.parametrize("key", KEYS)
def test_figures_not_re_read_carry_their_own_older_date(key: str) -> None:
    """A meter whose note says a figure was not re-read is not dated with the session's read."""
    sheet = price_sheet(key)
    for meter in sheet.meters:
        stale = "not re-read" in meter.note.lower() or "last verified" in meter.note.lower()
        if stale:
            assert meter.date_read < "2026-11-28", (meter.name, meter.date_read, meter.note)


def test_unknown_provider_lists_known_keys_and_closest() -> None:
    """An unknown key raises UnknownProvider (a KeyError) naming the closest key."""
    with pytest.raises(UnknownProvider) as info:
        price_sheet("aws-lamda")
    assert isinstance(info.value, KeyError)
    assert info.value.closest == "aws-lambda"
    assert info.value.known == sorted(KEYS)
    assert "did you mean 'aws-lambda'" in str(info.value)
    with pytest.raises(UnknownProvider):
        costmodel.estimate("gcp-functions-gen3", invocations=1, duration_ms=1, memory_mb=128)


def test_unknown_provider_message_reads_with_or_without_a_close_match() -> None:
    """The known keys follow a '; known:' separator whether or not a close match exists."""
    with pytest.raises(UnknownProvider) as far:
        price_sheet("nope")
    assert far.value.closest is None
    assert str(far.value).startswith("unknown provider 'nope'; known: alibaba-fc3, ")
    with pytest.raises(UnknownProvider) as near:
        price_sheet("aws-lamda")
    assert "did you mean 'aws-lambda'?; known: " not in str(near.value)
    assert str(near.value).startswith("unknown provider 'aws-lamda'; did you mean 'aws-lambda'? ")


def test_sheets_are_frozen_and_hashable() -> None:
    """A PriceSheet cannot be changed in place and can key a dict."""
    sheet = price_sheet("aws-lambda")
    with pytest.raises(dataclasses.FrozenInstanceError):
        sheet.currency = "EUR"  # type: ignore[misc]
    with pytest.raises(TypeError):
        sheet.rules["memory_mb"] = (1, 2)  # type: ignore[index]
    assert {sheet: 1}[price_sheet("aws-lambda")] == 1


def test_catalog_file_loads_to_the_same_sheet(tmp_path: Path) -> None:
    """A user can load a catalog file by path and get an equal sheet."""
    path = write(tmp_path, (PRICES / "aws-lambda.toml").read_text())
    assert load_price_sheet(path) == price_sheet("aws-lambda")


def test_user_sheet_bills_in_its_currency(tmp_path: Path) -> None:
    """A loaded user sheet works as a provider: 100 ms steps, its own prices and currency."""
    sheet = load_price_sheet(write(tmp_path, MINIMAL))
    bill = costmodel.estimate(sheet, invocations=1_000_000, duration_ms=37, memory_mb=1024)
    assert bill.currency == "EUR" and bill.provider == "my-faas"
    assert bill.usage["gb_seconds"] == pytest.approx(100_000)
    assert bill.total == pytest.approx(0.3 + 100_000 * 0.00001)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('component = "compute"', 'component = "cpu"', "meters.duration.component"),
        ('source = "https://example.com/pricing"', 'source = "example.com"', "source"),
        ('model = "faas"', 'model = "lambda"', "model"),
        ("date_read = 2026-01-31", 'date_read = "yesterday"', "date_read"),
        ("price = 0.00001", "price = -1.0", "meters.duration.tiers[0].price"),
        ('unit = "GB-s"', 'unit = ""', "meters.duration.unit"),
        ('name = "duration"', 'name = "time"', "meters"),
        (
            "price = 0.00001",
            "tiers = [{ upto = 10, price = 1.0 }, { upto = 5, price = 0.5 }]",
            "meters.duration.tiers[1].upto",
        ),
        ("price = 0.00001", "tiers = [{ upto = 10, price = 1.0 }]", "meters.duration.tiers"),
        ("price = 0.00001", 'price = 0.00001\nfree_kind = "trial"', "meters.duration.free_kind"),
    ],
)
def test_bad_sheet_names_the_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    """A wrong field raises InvalidFile with the path and the dotted field name."""
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(InvalidFile) as info:
        load_price_sheet(path)
    assert info.value.field == field
    assert info.value.path == str(path)
    assert isinstance(info.value, InvalidUsage)


def test_missing_or_broken_file(tmp_path: Path) -> None:
    """A missing file or invalid TOML raises InvalidFile, never a bare OSError."""
    with pytest.raises(InvalidFile, match="no such file"):
        load_price_sheet(tmp_path / "nope.toml")
    with pytest.raises(InvalidFile, match="not valid TOML"):
        load_price_sheet(write(tmp_path, "key = = 1"))


def test_derive_discount_scale_region() -> None:
    """derive() multiplies every unit price by scale x (1 - discount) and keeps the rest."""
    base = price_sheet("aws-apigw-rest")
    derived = base.derive(region="eu-west-1", discount=0.1, scale=1.2, key="rest-eu")
    assert (derived.key, derived.region) == ("rest-eu", "eu-west-1")
    for old, new in zip(base.meters, derived.meters, strict=True):
        assert [t.upto for t in old.tiers] == [t.upto for t in new.tiers]
        for a, b in zip(old.tiers, new.tiers, strict=True):
            assert b.unit_price == pytest.approx(a.unit_price * 1.2 * 0.9)
        assert new.free == old.free
    assert "derived from aws-apigw-rest" in derived.note
    assert base.meter("requests").first_unit_price == pytest.approx(3.5e-6)  # unchanged


@pytest.mark.parametrize(("kwargs", "name"), [({"discount": 1.0}, "discount"),
                                               ({"discount": -0.1}, "discount"),
                                               ({"scale": 0}, "scale"),
                                               ({"scale": float("nan")}, "scale")])  # fmt: skip
def test_derive_rejects_bad_numbers(kwargs: dict[str, float], name: str) -> None:
    """derive() refuses a discount outside [0, 1) or a non-positive scale, naming it."""
    with pytest.raises(InvalidUsage, match=name):
        price_sheet("aws-lambda").derive(**kwargs)


def test_meter_lookup_and_to_frame() -> None:
    """meter() finds a meter or lists the sheet's meters; to_frame() has a row per tier."""
    sheet = price_sheet("aws-lambda")
    with pytest.raises(InvalidUsage, match="duration-x86_64"):
        sheet.meter("duration")
    frame = sheet.to_frame()
    assert len(frame) == sum(len(m.tiers) for m in sheet.meters)
    assert isinstance(frame, pd.DataFrame) and set(frame["component"]) <= set(COMPONENTS)


def test_public_names_exported() -> None:
    """costmodel exports the catalog and billing names in __all__."""
    for name in ("estimate", "Bill", "PriceSheet", "providers", "price_sheet", "load_price_sheet"):
        assert name in costmodel.__all__ and hasattr(costmodel, name)
    assert costmodel.PriceSheet is PriceSheet
