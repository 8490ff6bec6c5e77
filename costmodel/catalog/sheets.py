"""Price sheets: one TOML file per provider service, loaded into frozen objects.

A :class:`PriceSheet` names a service (``aws-lambda``), its currency and region, the page
its numbers come from and the date they were read, the billing ``model`` that turns
usage into quantities (see :mod:`costmodel.billing`), the model's ``rules`` (rounding
steps and ranges, each named with its unit) and its :class:`Meter` s. A meter is one
billed quantity (requests, GB-s, GB-hours, CU ...) with graduated :class:`Tier` s and an
optional monthly free allowance.

The catalog ships with the package (``costmodel/catalog/prices/*.toml``). Users load their own
sheet with :func:`load_price_sheet` or derive one with :meth:`PriceSheet.derive`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from resilience._validate import Number, number

from ..errors import InvalidFile, InvalidUsage, UnknownProvider
from ..toml_files import read_toml

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COMPONENTS",
    "DEFAULT_SERVICES",
    "FREE_KINDS",
    "FREE_TIERS",
    "MODELS",
    "Meter",
    "PriceSheet",
    "Tier",
    "load_price_sheet",
    "price_sheet",
    "providers",
]

#: Cost components a bill is broken down into (:meth:`costmodel.Bill.by_component`).
COMPONENTS: tuple[str, ...] = (
    "requests",
    "compute",
    "gateway",
    "queue",
    "storage",
    "orchestration",
    "egress",
)

#: Kinds of free offer a meter's ``free`` allowance may belong to (``free_kind``).
FREE_KINDS: tuple[str, ...] = ("always", "12-month")

#: The choices of ``free_tier=`` and the kinds of free offer each one applies. AWS accounts
#: created since 2025-07-15 get the credit-based Free Tier instead of the 12-month offers
#: (the credits are not modelled); the always-free offers remain for every account.
FREE_TIERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"none": (), "always": ("always",), "legacy-12-month": ("always", "12-month")}
)

#: Billing models a sheet may name, with the meters each one needs.
MODELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "faas": ("requests",),
        "gcp-gen1": ("invocations", "memory", "cpu"),
        "cloud-run": ("requests", "cpu", "memory"),
        "alibaba-fc3": ("compute-units",),
        "sfn-standard": ("transitions",),
        "sfn-express": ("requests", "duration"),
        "requests": ("requests",),
        "s3": ("put-requests",),
        "egress": ("egress",),
    }
)


@dataclass(frozen=True, slots=True)
class Tier:
    """One step of a graduated price.

    Attributes:
        upto: cumulative monthly quantity where this tier ends, in the meter's unit
            (``inf`` for the last tier).
        unit_price: price of one unit inside this tier, in the sheet's currency.
    """

    upto: float
    unit_price: float


@dataclass(frozen=True, slots=True)
class Meter:
    """One billed quantity of a service.

    Attributes:
        name: meter name, e.g. ``"duration-x86_64"``.
        component: cost component, one of :data:`COMPONENTS`.
        unit: unit of the quantity (``"GB-s"``, ``"request"``, ``"GB-hour"``, ``"CU"``).
        tiers: graduated prices, in increasing ``upto`` order, the last one unbounded.
        free: monthly free allowance in ``unit`` (applied only when ``free_tier`` asks
            for its ``free_kind``).
        free_kind: which offer the allowance belongs to, one of :data:`FREE_KINDS`:
            ``"always"`` (an always-free offer, such as Lambda's 1M requests and 400,000
            GB-s) or ``"12-month"`` (AWS's 12-month offers for accounts created before
            2025-07-15, such as API Gateway's 1M calls and S3's 5 GB).
        free_pool: name of the free allowance this meter draws on. Meters of one vendor
            with the same pool share one allowance, across sheets (AWS's 100 free GB of
            egress cover Lambda's egress and data transfer out together; SQS standard
            and FIFO share 1M free requests). Default: ``"<sheet key>/<meter name>"``,
            a pool of its own.
        source: page the price was read on.
        date_read: ISO date the price was last read or verified.
        note: provenance remarks (for example, not re-read in this session).
    """

    name: str
    component: str
    unit: str
    tiers: tuple[Tier, ...]
    free: float = 0.0
    free_pool: str | None = None
    free_kind: str = "always"
    source: str = ""
    date_read: str = ""
    note: str = ""

    @property
    def first_unit_price(self) -> float:
        """Unit price of the first tier, in the sheet's currency per ``unit``."""
        return self.tiers[0].unit_price

    def scaled(self, factor: float) -> Meter:
        """This meter with every unit price multiplied by ``factor``."""
        tiers = tuple(Tier(t.upto, t.unit_price * factor) for t in self.tiers)
        return dataclasses.replace(self, tiers=tiers)


@dataclass(frozen=True, slots=True)
class PriceSheet:
    """Prices and billing rules of one provider service.

    Attributes:
        key: catalog key, e.g. ``"aws-lambda"``.
        service: readable service name.
        vendor: ``"aws"``, ``"alibaba"``, ``"azure"``, ``"gcp"``, ``"huawei"`` or yours.
        model: billing model (a key of :data:`MODELS`).
        currency: ISO currency code of every price.
        region: region the prices apply to.
        source: page the prices were read on.
        date_read: ISO date the sheet was read.
        note: provenance remarks.
        rules: the model's rounding steps and ranges, each key named with its unit.
        meters: the billed quantities.

    Example:
        >>> sheet = price_sheet("aws-lambda")
        >>> sheet.meter("requests").first_unit_price * 1_000_000
        0.2
        >>> round(sheet.derive(discount=0.25).meter("requests").first_unit_price * 1e6, 4)
        0.15
    """

    key: str
    service: str
    vendor: str
    model: str
    currency: str
    region: str
    source: str
    date_read: str
    note: str
    rules: Mapping[str, Any] = field(repr=False)
    meters: tuple[Meter, ...] = field(repr=False)

    def __hash__(self) -> int:
        return hash((self.key, self.region, self.currency, self.meters))

    def meter(self, name: str) -> Meter:
        """The meter called ``name``.

        Raises:
            InvalidUsage: the sheet has no such meter (the message lists its meters).
        """
        for meter in self.meters:
            if meter.name == name:
                return meter
        names = ", ".join(m.name for m in self.meters)
        raise InvalidUsage(f"price sheet {self.key!r} has no meter {name!r}; meters: {names}")

    def has_meter(self, name: str) -> bool:
        """True when the sheet has a meter called ``name``."""
        return any(m.name == name for m in self.meters)

    def derive(
        self,
        *,
        key: str | None = None,
        region: str | None = None,
        discount: float = 0.0,
        scale: float = 1.0,
        note: str | None = None,
    ) -> PriceSheet:
        """A copy with every unit price multiplied by ``scale * (1 - discount)``.

        Free allowances, tiers' bounds and rules are kept. ``region`` only relabels the
        sheet: give ``scale`` too when that region's prices differ.

        Args:
            key: key of the new sheet (default: this sheet's key).
            region: region label of the new sheet.
            discount: negotiated discount, a share in [0, 1).
            scale: price multiplier, > 0 (e.g. ``1.1`` for a region 10 % dearer).
            note: provenance note (default: says what was derived from what).

        Returns:
            A new frozen sheet.

        Raises:
            InvalidUsage: ``discount`` outside [0, 1) or ``scale`` not a finite number > 0.

        Example:
            >>> eu = price_sheet("aws-lambda").derive(region="eu-central-1", scale=1.2)
            >>> eu.region, round(eu.meter("duration-x86_64").first_unit_price, 10)
            ('eu-central-1', 2e-05)
        """
        if not _is_number(discount) or not 0 <= discount < 1:
            raise InvalidUsage(f"discount={discount!r}: must be a share in [0, 1)")
        if not _is_number(scale) or not (math.isfinite(scale) and scale > 0):
            raise InvalidUsage(f"scale={scale!r}: must be a finite number > 0")
        factor = float(scale) * (1.0 - float(discount))
        default_note = (
            f"derived from {self.key} ({self.region}, read {self.date_read}): "
            f"prices x {scale:g} x (1 - {discount:g})"
        )
        return dataclasses.replace(
            self,
            key=key or self.key,
            region=region or self.region,
            note=note if note is not None else default_note,
            meters=tuple(m.scaled(factor) for m in self.meters),
        )

    def to_frame(self) -> pd.DataFrame:
        """Every tier of every meter as rows (meter, component, unit, upto, unit_price, free).

        Example:
            >>> frame = price_sheet("aws-apigw-http").to_frame()
            >>> (frame["unit_price"] * 1e6).round(2).tolist(), frame["upto"].tolist()
            ([1.0, 0.9], [300000000.0, inf])
        """
        import pandas as pd  # on use: the catalog itself loads without pandas

        rows = [
            {
                "meter": m.name,
                "component": m.component,
                "unit": m.unit,
                "upto": t.upto,
                "unit_price": t.unit_price,
                "free": m.free,
                "source": m.source,
                "date_read": m.date_read,
            }
            for m in self.meters
            for t in m.tiers
        ]
        return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- loading


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _text(path: str, data: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidFile(path, name, f"must be a non-empty string, got {value!r}")
    return value.strip()


_AMOUNT = Number(
    low=0, message="must be {allowed}, got {value}", type_message="must be a number, got {value}"
)
_AMOUNT_OR_INF = dataclasses.replace(_AMOUNT, finite=False, allowed="a number >= 0 (or inf)")


def _number(path: str, where: str, value: object, *, allow_inf: bool = False) -> float:
    """``value`` as a float >= 0 (finite unless ``allow_inf``); InvalidFile naming ``where``."""
    rule = _AMOUNT_OR_INF if allow_inf else _AMOUNT
    return number(where, value, rule, error=functools.partial(InvalidFile, path, where))


#: Fields of a ``[[meters]]`` table: the priced ones, then the provenance ones.
_METER_FIELDS = (
    "name", "component", "unit", "per", "price", "tiers", "free", "free_pool", "free_kind",
)  # fmt: skip
_PROVENANCE_FIELDS = ("source", "date_read", "note")


def _meter(
    path: str, index: int, raw: object, sheet_key: str, sheet_source: str, sheet_date: str
) -> Meter:
    table, name = _meter_table(path, index, raw)
    where = f"meters.{name}"
    component, unit = _meter_kind(path, where, table)
    tiers = _meter_tiers(path, where, table, per=_meter_per(path, where, table))
    free = _number(path, f"{where}.free", table.get("free", 0))
    pool = table.get("free_pool")
    if pool is not None and not isinstance(pool, str):
        raise InvalidFile(path, f"{where}.free_pool", "must be a string")
    kind = table.get("free_kind", "always")
    if kind not in FREE_KINDS:
        raise InvalidFile(path, f"{where}.free_kind", f"must be one of {', '.join(FREE_KINDS)}")
    unknown = set(table) - {*_METER_FIELDS, *_PROVENANCE_FIELDS}
    if unknown:
        raise InvalidFile(path, where, f"unknown field(s) {sorted(unknown)}")
    return Meter(
        name=name,
        component=component,
        unit=unit,
        tiers=tiers,
        free=free,
        free_pool=pool if pool is not None else (f"{sheet_key}/{name}" if free else None),
        free_kind=kind,
        source=_text(path, table, "source", required=False) or sheet_source,
        date_read=_text(path, table, "date_read", required=False) or sheet_date,
        note=_text(path, table, "note", required=False),
    )


def _meter_table(path: str, index: int, raw: object) -> tuple[dict[str, Any], str]:
    """The ``index``-th ``[[meters]]`` entry, if it is a table, and its (required) name."""
    where = f"meters[{index}]"
    if not isinstance(raw, dict):
        raise InvalidFile(path, where, "must be a table")
    name = _text(path, raw, "name") if "name" in raw else ""
    if not name:
        raise InvalidFile(path, f"{where}.name", "is required")
    return raw, name


def _meter_kind(path: str, where: str, raw: Mapping[str, Any]) -> tuple[str, str]:
    """The meter's cost component (one of :data:`COMPONENTS`) and its unit."""
    component = raw.get("component")
    if component not in COMPONENTS:
        raise InvalidFile(
            path, f"{where}.component", f"{component!r} is not one of {', '.join(COMPONENTS)}"
        )
    unit = raw.get("unit")
    if not isinstance(unit, str) or not unit:
        raise InvalidFile(path, f"{where}.unit", "is required (e.g. 'GB-s', 'request')")
    return component, unit


def _meter_per(path: str, where: str, raw: Mapping[str, Any]) -> float:
    """How many units the sheet's prices are for (``per = 1_000_000``): > 0, default 1."""
    per = _number(path, f"{where}.per", raw.get("per", 1))
    if per <= 0:
        raise InvalidFile(path, f"{where}.per", f"must be > 0, got {per!r}")
    return per


def _meter_tiers(path: str, where: str, raw: Mapping[str, Any], *, per: float) -> tuple[Tier, ...]:
    """The graduated prices per unit: ``tiers``, or one unbounded tier at ``price``.

    Bounds increase and the last one is ``inf``; each price is divided by ``per``.
    """
    if ("price" in raw) == ("tiers" in raw):
        raise InvalidFile(path, where, "give exactly one of 'price' or 'tiers'")
    raw_tiers = raw["tiers"] if "tiers" in raw else [{"upto": math.inf, "price": raw["price"]}]
    if not isinstance(raw_tiers, list) or not raw_tiers:
        raise InvalidFile(path, f"{where}.tiers", "must be a non-empty array of tables")
    tiers: list[Tier] = []
    previous = 0.0
    for i, tier in enumerate(raw_tiers):
        at = f"{where}.tiers[{i}]"
        if not isinstance(tier, dict) or set(tier) != {"upto", "price"}:
            raise InvalidFile(path, at, "must be a table { upto = ..., price = ... }")
        upto = _number(path, f"{at}.upto", tier["upto"], allow_inf=True)
        if upto <= previous:
            raise InvalidFile(path, f"{at}.upto", f"must exceed the previous bound {previous:g}")
        previous = upto
        tiers.append(Tier(upto, _number(path, f"{at}.price", tier["price"]) / per))
    if not math.isinf(tiers[-1].upto):
        raise InvalidFile(path, f"{where}.tiers", "the last tier must have upto = inf")
    return tuple(tiers)


#: Text fields every sheet has, in the order they are checked.
_SHEET_TEXT = ("key", "service", "vendor", "model", "currency", "region", "source", "date_read")


def _parse(path: str, data: Mapping[str, Any]) -> PriceSheet:
    fields = _sheet_text(path, data)
    model = fields["model"]
    if model not in MODELS:
        raise InvalidFile(path, "model", f"{model!r} is not one of {', '.join(MODELS)}")
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise InvalidFile(path, "rules", "must be a table")
    meters = _meters(path, data, fields)
    _check_model_meters(path, model, rules, [m.name for m in meters])
    return PriceSheet(
        **fields,
        note=_text(path, data, "note", required=False),
        rules=_freeze(rules),
        meters=meters,
    )


def _sheet_text(path: str, data: Mapping[str, Any]) -> dict[str, str]:
    """The sheet's text fields (:data:`_SHEET_TEXT`): ``date_read`` an ISO date, ``source``
    a URL."""
    fields = {name: _text(path, data, name) for name in _SHEET_TEXT}
    try:
        _dt.date.fromisoformat(fields["date_read"][:10])
    except ValueError:
        raise InvalidFile(
            path, "date_read", f"must be an ISO date (2026-11-28), got {fields['date_read']!r}"
        ) from None
    if not fields["source"].startswith(("https://", "http://")):
        raise InvalidFile(path, "source", f"must be a URL, got {fields['source']!r}")
    return fields


def _meters(path: str, data: Mapping[str, Any], fields: Mapping[str, str]) -> tuple[Meter, ...]:
    """The sheet's ``[[meters]]``, each read by :func:`_meter`; their names are unique."""
    raw_meters = data.get("meters")
    if not isinstance(raw_meters, list) or not raw_meters:
        raise InvalidFile(path, "meters", "must be a non-empty array of tables ([[meters]])")
    meters = tuple(
        _meter(path, i, raw, fields["key"], fields["source"], fields["date_read"])
        for i, raw in enumerate(raw_meters)
    )
    names = [m.name for m in meters]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidFile(path, "meters", f"duplicate meter name(s) {duplicates}")
    return meters


def _check_model_meters(path: str, model: str, rules: Mapping[str, Any], names: list[str]) -> None:
    """The meters the billing model needs are there (a ``faas`` sheet: one duration meter
    per architecture in ``rules.archs``, else ``duration``)."""
    missing = [n for n in MODELS[model] if n not in names]
    if model == "faas":
        archs = rules.get("archs")
        missing += [
            name
            for name in ([f"duration-{a}" for a in archs] if archs else ["duration"])
            if name not in names
        ]
    if missing:
        raise InvalidFile(path, "meters", f"model {model!r} needs meter(s) {missing}")


def load_price_sheet(path: str | Path) -> PriceSheet:
    """Load a price sheet from a TOML file (same schema as ``costmodel/catalog/prices/*.toml``).

    Args:
        path: the TOML file.

    Returns:
        The frozen sheet; pass it to :func:`costmodel.estimate` as ``provider``.

    Raises:
        InvalidFile: the file is missing, not TOML, or a field is wrong (names the field).

    Example:
        >>> import pathlib, tempfile
        >>> text = '''
        ... key = "my-faas"
        ... service = "My FaaS"
        ... vendor = "me"
        ... model = "faas"
        ... currency = "EUR"
        ... region = "home"
        ... source = "https://example.com/pricing"
        ... date_read = 2026-01-31
        ... [rules]
        ... memory_mb = [128, 4096]
        ... duration_step_ms = 100
        ... min_billed_ms = 100
        ... [[meters]]
        ... name = "requests"
        ... component = "requests"
        ... unit = "request"
        ... price = 0.3
        ... per = 1_000_000
        ... [[meters]]
        ... name = "duration"
        ... component = "compute"
        ... unit = "GB-s"
        ... price = 0.00001
        ... '''
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "my.toml"
        >>> _ = file.write_text(text)
        >>> load_price_sheet(file).currency
        'EUR'
    """
    return _parse(str(path), read_toml(path))


# ---------------------------------------------------------------------------- catalog

#: Which catalog sheet prices each non-function service. The catalog's gateways,
#: queues, storage, workflows and data transfer are AWS's; pass ``services=`` to use your
#: own sheets (with another platform, the defaults are used with a warning).
DEFAULT_SERVICES: dict[str, str] = {
    "gateway_http": "aws-apigw-http",
    "gateway_rest": "aws-apigw-rest",
    "queue_standard": "aws-sqs-standard",
    "queue_fifo": "aws-sqs-fifo",
    "storage": "aws-s3",
    "workflow_standard": "aws-sfn-standard",
    "workflow_express": "aws-sfn-express",
    "egress": "aws-data-transfer",
}

_CATALOG: dict[str, PriceSheet] = {}


def _catalog() -> dict[str, PriceSheet]:
    if not _CATALOG:
        folder = resources.files("costmodel.catalog") / "prices"
        sheets = {}
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                where = f"costmodel/catalog/prices/{entry.name}"
                sheet = _parse(where, tomllib.loads(entry.read_text(encoding="utf-8")))
                sheets[sheet.key] = sheet
        _CATALOG.update(sheets)
    return _CATALOG


def price_sheet(key: str) -> PriceSheet:
    """The catalog's price sheet called ``key``.

    Raises:
        UnknownProvider: no such key (lists the known keys and the closest one).

    Example:
        >>> price_sheet("alibaba-fc3").currency
        'USD'
        >>> price_sheet("aws-lamda")
        Traceback (most recent call last):
        ...
        costmodel.errors.UnknownProvider: unknown provider 'aws-lamda'; did you mean ...
    """
    catalog = _catalog()
    try:
        return catalog[key]
    except (KeyError, TypeError):
        raise UnknownProvider(key, catalog) from None


def providers() -> pd.DataFrame:
    """The catalog as a DataFrame: one row per sheet, sorted by key.

    Columns: ``key, service, vendor, model, currency, region, source, date_read, note``.

    Example:
        >>> frame = providers()
        >>> "aws-lambda" in set(frame["key"]), list(frame.columns[:4])
        (True, ['key', 'service', 'vendor', 'model'])
    """
    import pandas as pd  # on use: the catalog itself loads without pandas

    columns = ["key", "service", "vendor", "model", "currency", "region", "source", "date_read"]
    rows = [
        {**{c: getattr(s, c) for c in columns}, "note": s.note}
        for s in sorted(_catalog().values(), key=lambda s: s.key)
    ]
    return pd.DataFrame(rows, columns=[*columns, "note"])
