"""mkdocs hooks: the price catalog page is generated from the TOML sheets at build time.

``docs/costmodel/catalog.md`` holds the marker ``<!-- price-catalog -->``; on every build
:func:`on_page_markdown` replaces it with :func:`catalog_markdown`, which reads the sheets
that ship (``costmodel/catalog/prices/*.toml``) through ``costmodel.price_sheet``, so the
page lists exactly the prices ``estimate`` uses. ``tests/test_docs.py`` tests it.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

MARKER = "<!-- price-catalog -->"


def price_text(value: float) -> str:
    """A unit price in plain digits (no exponent), to 12 significant digits."""
    return format(Decimal(f"{value:.12g}"), "f")


def _number(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _link(url: str) -> str:
    if not url:
        return ""
    shown = url.split("://", 1)[-1].rstrip("/").removeprefix("www.")
    if len(shown) > 40:  # the host and the page's last segment
        host, _, path = shown.partition("/")
        shown = f"{host}/…/{path.rsplit('/', 1)[-1]}"
    return f"[{_cell(shown)}]({url})"


def catalog_markdown() -> str:
    """The catalog as Markdown: a table of the sheets, one of every meter's tiers, and the
    sheets' provenance notes."""
    # Imported here, not at the top: mkdocs loads this file with docs/ first on sys.path,
    # where docs/costmodel/ (the pages) would pass for the package.
    import costmodel

    sheets = [costmodel.price_sheet(key) for key in costmodel.providers()["key"]]
    out = [
        "| key | service | vendor | region | currency | source | date read |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in sheets:
        out.append(
            f"| `{s.key}` | {_cell(s.service)} | {s.vendor} | {s.region} | {s.currency} "
            f"| {_link(s.source)} | {s.date_read} |"
        )
    out += [
        "",
        "Every meter, one row per price tier (a tier ends at the monthly quantity in *up to*; "
        "a free allowance applies only when `free_tier` asks for its kind: `always` with "
        '`free_tier=True` or `"always"`, `12-month` only with `"legacy-12-month"`):',
        "",
        "| key | service | meter | up to | unit price | currency | unit | free / month "
        "| free kind | source | date read |",
        "| --- | --- | --- | ---: | ---: | --- | --- | ---: | --- | --- | --- |",
    ]
    for s in sheets:
        for meter in s.meters:
            for tier in meter.tiers:
                out.append(
                    f"| `{s.key}` | {_cell(s.service)} | {meter.name} | {_number(tier.upto)} "
                    f"| {price_text(tier.unit_price)} | {s.currency} | {meter.unit} "
                    f"| {_number(meter.free)} | {meter.free_kind if meter.free else ''} "
                    f"| {_link(meter.source)} | {meter.date_read} |"
                )
    out += ["", "Notes on where each figure comes from:", ""]
    for s in sheets:
        notes = [f"- `{s.key}`: {_cell(s.note)}" if s.note else f"- `{s.key}`: (none)"]
        notes += [f"    - {m.name}: {_cell(m.note)}" for m in s.meters if m.note]
        out += notes
    return "\n".join(out) + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """mkdocs event: put the generated catalog where the page has the marker."""
    if MARKER in markdown:
        return markdown.replace(MARKER, catalog_markdown())
    return markdown
