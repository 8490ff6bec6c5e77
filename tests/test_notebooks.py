"""Every notebook in notebooks/ runs top to bottom and shows its tables and figures, and the
committed files carry those outputs (so GitHub shows them), refreshed by
`make notebooks-refresh` with the run-to-run metadata stripped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from support import notebooks
from support.paths import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


# The cells (found by a piece of their source) that draw each notebook's figures.
FIGURES = {
    "01_estimate_a_bill": ["plots.cost_breakdown(by_platform)"],
    "02_sync_async_split_workflow": [
        "plots.cost_breakdown(table)",
        "plots.latency_distribution(",
        "plots.cost_vs_volume(volume)",
        "plots.cost_and_latency_vs_memory(memory)",
    ],
    "03_bill_from_logs": ["plots.cost_breakdown(table)"],
    "04_what_resilience_saves": [
        "plots.simulation_timeline(results)",
        "plots.simulation_costs(results)",
    ],
    "05_hedging": ["plots.hedge_frontier(frontier)"],
    "06_keep_warm": ["plots.cost_and_p99_by_strategy(result)"],
}

# Key numbers and words each notebook's outputs show (the seeds make them exact).
KEY_OUTPUTS = {
    "01_estimate_a_bill": ["total: $2.73", "Bill on aws-lambda: $2.73", "$0.20 per 1M requests"],
    "02_sync_async_split_workflow": [
        "Video pipeline: upload -&gt; 3 transcodes",
        "the optimum may lie below the range",
        "cheapest memory_mb",
    ],
    "03_bill_from_logs": [
        "240 invocations billed on aws-lambda",
        "line=398",
        "512 MB",
    ],
    "04_what_resilience_saves": [
        "10-minute outage at 200 requests/s",
        "attempts rejected by the breaker",
        "answered by the fallback",
        "AIMD limit",
        "attempts rejected by a limiter",
    ],
    "05_hedging": ["hedge 50 ms", "1346.893", "90.415", "2.405", "hedge 50 ms, until_cancel"],
    "06_keep_warm": [
        "idle window assumed: 600 s on aws-lambda",
        "keep-warm is cheaper below, provisioned above: at 38,665,341 calls/month",
        "576 pings billed",
        "6.08 h: no route to the function",
        "Synthetics canary, every 5 min",
    ],
}


def _shows(notebook: Any) -> str:
    return "\n".join(notebooks.outputs_text(notebook))


def _figures(notebook: Any) -> list[str]:
    return [
        cell.source
        for cell in notebook.cells
        if cell.cell_type == "code"
        and any("image/png" in output.get("data", {}) for output in cell.outputs)
    ]


def _check(notebook: Any, stem: str) -> None:
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not [cell.source for cell in code if not cell.outputs], "cells that show nothing"
    drawing = _figures(notebook)
    expected = FIGURES[stem]
    assert len(drawing) == len(expected), drawing
    for piece, source in zip(expected, drawing, strict=True):
        assert piece in source
    shown = _shows(notebook)
    missing = [key for key in KEY_OUTPUTS[stem] if key not in shown.replace(">", "&gt;")]
    assert not missing, f"{stem}: the outputs do not show {missing}"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_shows_its_figures(path: Path) -> None:
    """Executed (a copy, python3 kernel, cwd notebooks/): every code cell shows something,
    the plotting cells, and only they, show a figure, and the key numbers are there."""
    _check(notebooks.execute(path), path.stem)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_carries_its_outputs_without_run_metadata(path: Path) -> None:
    """The file itself shows the outputs (figures, key numbers), numbered 1..n, with no
    timings, kernel versions or per-cell metadata: what `make notebooks-refresh` writes."""
    notebook = nbformat.read(path, as_version=4)
    _check(notebook, path.stem)
    assert notebook.metadata == notebooks.NOTEBOOK_METADATA
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert all(set(cell.metadata) <= {"tags"} for cell in notebook.cells)
    assert nbformat.writes(notebooks.strip(notebook)) + "\n" == path.read_text()


def test_strip_removes_what_changes_from_run_to_run() -> None:
    """Timings, cell metadata and kernel versions go; tags and outputs stay."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": {"name": "python3"}, "language_info": {"version": "3.11"}}
    cell = nbformat.v4.new_code_cell("1 + 1", execution_count=7)
    cell.metadata = {"execution": {"iopub.status.busy": "2026-12-03T10:00:00"}, "tags": ["t"]}
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"},
                                           execution_count=7)]  # fmt: skip
    notebook.cells = [nbformat.v4.new_markdown_cell("# title"), cell]
    stripped = notebooks.strip(notebook)
    assert stripped.metadata == notebooks.NOTEBOOK_METADATA
    assert stripped.cells[1].metadata == {"tags": ["t"]}
    assert stripped.cells[1].execution_count == 1
    assert stripped.cells[1].outputs[0]["execution_count"] == 1
    assert stripped.cells[1].outputs[0]["data"] == {"text/plain": "2"}


def test_there_are_the_guides_notebooks() -> None:
    """The notebooks of the guide are present."""
    assert [p.stem for p in NOTEBOOKS] == [
        "01_estimate_a_bill",
        "02_sync_async_split_workflow",
        "03_bill_from_logs",
        "04_what_resilience_saves",
        "05_hedging",
        "06_keep_warm",
    ]
