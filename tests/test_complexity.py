"""Every block of both packages (function, method, closure, class) stays at radon grade C or
better: validation and parsing go into tables and named steps, not into one long function."""

from __future__ import annotations

import textwrap
import types
from pathlib import Path

import pytest
from radon.complexity import add_inner_blocks, cc_rank, cc_visit

import costmodel
import resilience

#: The worst cyclomatic-complexity grade allowed (C: 11 to 20).
WORST_GRADE = "C"


def _offenders(source: str, where: str) -> list[str]:
    """``where:line name - grade (complexity)`` of each block of ``source`` above the grade."""
    blocks = add_inner_blocks(cc_visit(source))
    return [
        f"{where}:{block.lineno} {block.fullname} - {cc_rank(block.complexity)} "
        f"({block.complexity})"
        for block in sorted(blocks, key=lambda block: block.lineno)
        if cc_rank(block.complexity) > WORST_GRADE
    ]


@pytest.mark.parametrize("package", [resilience, costmodel], ids=lambda p: p.__name__)
def test_no_block_is_above_grade_c(package: types.ModuleType) -> None:
    """radon grades every block of the package A, B or C."""
    folder = Path(package.__file__).parent
    paths = sorted(folder.rglob("*.py"))
    assert paths, f"no source files under {folder}"
    offenders = [
        line
        for path in paths
        for line in _offenders(
            path.read_text(encoding="utf-8"), str(path.relative_to(folder.parent))
        )
    ]
    assert offenders == [], "above grade C; split into named steps or tables:\n" + "\n".join(
        offenders
    )


def test_the_check_finds_a_function_a_method_and_a_closure() -> None:
    """A block of complexity 21 (grade D) is listed with its file and line, wherever it is."""
    body = "".join(f"if x == {i}:\n    return {i}\n" for i in range(20))
    source = (
        f"def flat(x):\n{textwrap.indent(body, '    ')}"
        f"class Holder:\n    def method(self, x):\n{textwrap.indent(body, '        ')}"
        f"def outer():\n    def inner(x):\n{textwrap.indent(body, '        ')}    return inner\n"
    )
    found = _offenders(source, "example.py")
    assert found == [
        "example.py:1 flat - D (21)",
        "example.py:42 Holder - D (22)",  # a class: its methods (mean) plus one
        "example.py:43 Holder.method - D (21)",
        "example.py:85 outer.inner - D (21)",
    ]
