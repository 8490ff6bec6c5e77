"""Every code block of the README and of the docs pages runs and prints what the page shows.

The convention is in ``tests/support/docs.py`` and on the docs page "About the examples":
a ```` ```python ```` or ```` ```sh ```` block is followed by a ```` ```text title="output" ````
block with exactly what it prints (stdout and stderr in the order written). Refresh the
outputs after a deliberate change with ``cd tests && python -m support.docs --update FILE``.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
from support import docs
from support.paths import README, ROOT

import costmodel

if TYPE_CHECKING:
    from support.redis_server import RedisServer

BLOCKS = docs.all_blocks()
CODE = [b for b in BLOCKS if b.lang in docs.RUN and not (b.lang == "sh" and docs.is_setup(b))]
SETUP = [b for b in BLOCKS if b.lang == "sh" and docs.is_setup(b)]
TOML = [b for b in BLOCKS if b.lang == "toml"]
#: Languages a block may have: those that run, set-up shell, toml, outputs and figures.
KNOWN = {"python", "sh", "toml", "text", ""}


@pytest.mark.parametrize(
    "block",
    [pytest.param(b, marks=[pytest.mark.slow] if b.slow else []) for b in CODE],
    ids=[b.id for b in CODE],
)
def test_block_prints_what_the_page_shows(
    block: docs.Block, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The block runs (alone, in a folder with examples/) and prints its output block."""
    env = {}
    if "REDIS_URL" in block.body:  # the page's Redis example: a private server of ours
        server: RedisServer = request.getfixturevalue("redis_tcp_server")
        env["REDIS_URL"] = server.url
    docs.prepare_folder(tmp_path)
    status, printed = docs.run(block, tmp_path, env)
    if block.lang == "python":
        assert status == 0, f"{block.id} failed:\n{printed}"
    expected = docs.normalise(block.output or "")
    assert printed == expected, (
        f"{block.id} printed something else than its output block"
        f"{'' if block.output_line is None else f' (line {block.output_line})'}; "
        "refresh it with `cd tests && python -m support.docs --update "
        f"../{block.page}` if the change is deliberate"
    )


@pytest.mark.parametrize("block", SETUP, ids=[b.id for b in SETUP])
def test_setup_commands_name_targets_and_extras_that_exist(block: docs.Block) -> None:
    """`make TARGET` and `pip install '.[EXTRA]'` blocks name what the checkout has."""
    docs.check_setup(block)


@pytest.mark.parametrize("block", TOML, ids=[b.id for b in TOML])
def test_toml_blocks_parse(block: docs.Block) -> None:
    """A TOML block (a shipped file included with --8<--, or an excerpt) is valid TOML."""
    tomllib.loads(docs.toml_text(block))


def test_every_block_is_run_or_checked() -> None:
    """No block escapes: each has a known language, and each output block follows code."""
    assert len(CODE) >= 40  # the harness found the pages' blocks
    unknown = [f"{b.id} ({b.lang})" for b in BLOCKS if b.lang not in KNOWN]
    assert not unknown, "a block language the docs test neither runs nor checks"
    covered = {b.output_line for b in BLOCKS if b.output_line is not None}
    stray = [b.id for b in BLOCKS if b.is_output and b.line not in covered]
    assert not stray, "output blocks that follow no python or sh block"


def test_pages_cover_the_readme_and_the_included_files() -> None:
    """The README, the docs pages and the files they include (benchmarks, changelog)."""
    names = {page.relative_to(ROOT).as_posix() for page in docs.pages()}
    assert {"README.md", "benchmarks/README.md", "CHANGELOG.md", "docs/index.md"} <= names


def test_examples_use_only_files_that_ship() -> None:
    """No page example reads the test fixtures; the examples/ files they read ship."""
    for block in CODE:
        assert "tests/fixtures" not in block.body, block.id
        for name in re.findall(r"examples/[\w./-]+\.(?:toml|log)", block.body):
            shipped = resources.files("costmodel") / name
            assert shipped.is_file(), f"{block.id}: {name} is not in costmodel/examples"


def test_readme_is_a_front_page() -> None:
    """The README stays short and links into the docs."""
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).is_file(), f"README links to a missing page: {link}"


def test_blocks_of_a_page_are_found_with_their_outputs(tmp_path: Path) -> None:
    """The parser pairs a code block with the output block right after it, indented too."""
    page = tmp_path / "page.md"
    page.write_text(
        '# Page\n\n```python\nprint(1)\n```\n\n```text title="output"\n1\n```\n\n'
        "- item\n\n    ```sh\n    costmodel --version  # a comment\n    ```\n\n"
        "```text\na figure\n```\n"
    )
    found = docs.blocks(page, tmp_path)
    assert [(b.line, b.lang, b.output) for b in found] == [
        (3, "python", "1\n"),
        (7, "text", None),
        (13, "sh", None),
        (17, "text", None),
    ]
    assert docs.commands(found[2].body) == ["costmodel --version"]


def test_update_writes_what_blocks_print(tmp_path: Path) -> None:
    """`--update` writes a missing output block, fixes a wrong one, drops an empty one."""
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nprint('a')\n```\n\n"
        "```python\nprint('b')\n```\n\n```text title=\"output\"\nwrong\n```\n\n"
        '```python\nx = 1\n```\n\n```text title="output"\nnothing\n```\n'
    )
    (tmp_path / "examples").mkdir()
    assert docs.update(page, tmp_path) == 3
    assert page.read_text() == (
        "```python\nprint('a')\n```\n\n```text title=\"output\"\na\n```\n\n"
        "```python\nprint('b')\n```\n\n```text title=\"output\"\nb\n```\n\n"
        "```python\nx = 1\n```\n"
    )
    assert docs.update(page, tmp_path) == 0


def test_normalise_shows_what_a_terminal_shows(tmp_path: Path) -> None:
    """A progress bar rewritten with carriage returns leaves its last version; the run
    folder reads `.`; trailing spaces and blank edge lines go."""
    raw = f"\rbar 1%\rbar 99%\r      \rtable  \n{tmp_path}/out/a.png\n\n"
    assert docs.normalise(raw, tmp_path) == "table\nout/a.png"


# ---------------------------------------------------------------- the docs' build hooks


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{name}", ROOT / "docs" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hooks() -> ModuleType:
    return _module("hooks")


def _shipped_sheets() -> list[dict[str, object]]:
    folder = resources.files("costmodel") / "catalog" / "prices"
    return [
        tomllib.loads(item.read_text())
        for item in sorted(folder.iterdir(), key=lambda i: i.name)
        if item.name.endswith(".toml")
    ]


def test_catalog_page_lists_every_meter_of_every_sheet() -> None:
    """The generated table has one row per tier of every meter of every shipped sheet,
    with the sheet's key, service, unit, source link and date read."""
    table = _hooks().catalog_markdown()
    meters = table.split("| key | service | meter |", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in meters.splitlines() if line.startswith("| `")]
    sheets = _shipped_sheets()
    expected_rows = 0
    for raw in sheets:
        sheet = costmodel.price_sheet(str(raw["key"]))
        ours = [r for r in rows if r.startswith(f"| `{sheet.key}` |")]
        tiers = sum(len(meter.tiers) for meter in sheet.meters)
        assert len(ours) == tiers, sheet.key
        expected_rows += tiers
        for meter in sheet.meters:
            mine = [r for r in ours if f"| {meter.name} |" in r]
            assert len(mine) == len(meter.tiers), (sheet.key, meter.name)
            for row in mine:
                assert f"| {meter.unit} |" in row and f"]({meter.source})" in row
                assert f"| {meter.date_read} |" in row and sheet.service in row
    assert len(rows) == expected_rows
    assert len({str(raw["key"]) for raw in sheets}) == len(costmodel.providers())


def test_catalog_prices_are_the_sheets_numbers() -> None:
    """Each row's unit price is the sheet's price divided by its `per`, in full digits."""
    hooks = _hooks()
    for raw in _shipped_sheets():
        for meter in raw["meters"]:  # type: ignore[attr-defined]
            per = meter.get("per", 1)
            tiers = meter.get("tiers") or [{"price": meter["price"]}]
            for tier in tiers:
                shown = hooks.price_text(tier["price"] / per)
                assert float(shown) == pytest.approx(tier["price"] / per, rel=1e-12)


def test_catalog_page_holds_the_generated_table() -> None:
    """The page has the marker the build replaces, and no price typed in by hand."""
    hooks = _hooks()
    page = (ROOT / "docs" / "costmodel" / "catalog.md").read_text()
    assert page.count(hooks.MARKER) == 1
    rendered = hooks.on_page_markdown(page, page=None, config=None, files=None)
    assert hooks.MARKER not in rendered and "| `aws-lambda` |" in rendered


# ---------------------------------------------------------------- the API reference


def test_docstrings_read_as_markdown() -> None:
    """The griffe extension turns the docstrings' Sphinx habits into what griffe reads."""
    to_markdown = _module("griffe_docstrings").to_markdown
    text = (
        "Summary with :class:`~resilience.Ledger` and :func:`costmodel.estimate`.\n\n"
        "Exception tree::\n\n    Base\n    └── Child\n\n"
        ">>> 1 + 1\n2\n\n"
        "Example:\n    >>> price(1)\n    2.0\n"
    )
    assert to_markdown(text) == (
        "Summary with `Ledger` and `costmodel.estimate`.\n\n"
        "Exception tree:\n\n    Base\n    └── Child\n\n"
        "```pycon\n>>> 1 + 1\n2\n```\n\n"
        "Examples:\n    >>> price(1)\n    2.0"
    )


def test_what_a_block_writes_to_stderr_is_part_of_its_output(tmp_path: Path) -> None:
    """A log line on stderr (a breaker opening, say) is compared too, in the order written:
    an output block that leaves it out fails."""
    block = docs.Block(
        "page.md", 1, "python", "",
        "import logging, sys\nprint('first')\nlogging.getLogger('x').warning('to stderr')\n"
        "print('last', file=sys.stdout)\n",
    )  # fmt: skip
    status, printed = docs.run(block, tmp_path)
    assert status == 0 and printed == "first\nto stderr\nlast"
    assert printed != docs.normalise("first\nlast\n")


def test_a_block_titled_slow_is_marked_slow(tmp_path: Path) -> None:
    """A block whose title says `a slow block` is marked slow; others are not."""
    page = tmp_path / "page.md"
    page.write_text(
        '```sh title="about 80 s: a slow block"\ncostmodel simulate x.toml\n```\n\n'
        "```sh\ncostmodel prices\n```\n"
    )
    found = docs.blocks(page, tmp_path)
    assert [b.slow for b in found] == [True, False]
    assert [b.body.strip() for b in CODE if b.slow] == ["costmodel simulate examples/outage.toml"]
