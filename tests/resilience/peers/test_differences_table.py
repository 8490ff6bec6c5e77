"""DIFFERENCES.md, the table of deliberate differences from the peers, names real tests."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

HERE = Path(__file__).parent
TABLE = HERE / "DIFFERENCES.md"
PEERS = {"pybreaker", "cachetools", "tenacity"}
REFERENCE = re.compile(r"`(test_\w+\.py)::(test_\w+)`")


def rows() -> list[list[str]]:
    """The table's rows (header and separator left out), each as its cells."""
    lines = [line for line in TABLE.read_text().splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def functions_in(module: str) -> dict[str, str]:
    """Each test function of ``module`` (a file here) and its docstring."""
    tree = ast.parse((HERE / module).read_text())
    return {
        node.name: ast.get_docstring(node) or ""
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_row_names_tests_that_exist() -> None:
    """Each row has its six cells, a known peer, and names at least one existing test."""
    table = rows()
    assert len(table) >= 20
    for cells in table:
        assert len(cells) == 6, cells
        assert cells[0] in PEERS, cells
        named = REFERENCE.findall(cells[5])
        assert named, cells
        for module, name in named:
            assert module == f"test_{cells[0]}_behaviours.py", cells
            assert name in functions_in(module), f"{module}::{name} does not exist"


@pytest.mark.parametrize("peer", sorted(PEERS))
def test_every_test_that_names_a_difference_is_in_the_table(peer: str) -> None:
    """A test whose docstring names a difference is listed in a row of the table."""
    module = f"test_{peer}_behaviours.py"
    listed = {name for cells in rows() for _, name in REFERENCE.findall(cells[5])}
    naming = {name for name, doc in functions_in(module).items() if "Difference (" in doc}
    assert naming, module
    assert sorted(naming - listed) == []
