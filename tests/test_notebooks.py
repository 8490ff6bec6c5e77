"""Every notebook in notebooks/ runs top to bottom and shows its tables and figures."""

from __future__ import annotations

import os
from pathlib import Path

import nbclient
import nbformat
import pytest
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
}


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_shows_its_figures(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Executed (python3 kernel, cwd notebooks/): every code cell shows something, and the
    plotting cells, and only they, show a figure."""
    # The kernel imports callwise from this checkout even when it is not installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not [cell.source for cell in code if not cell.outputs], "cells that show nothing"
    drawing = [
        cell.source
        for cell in code
        if any("image/png" in output.get("data", {}) for output in cell.outputs)
    ]
    expected = FIGURES[path.stem]
    assert len(drawing) == len(expected), drawing
    for piece, source in zip(expected, drawing, strict=True):
        assert piece in source


def test_there_are_four_notebooks() -> None:
    """The four notebooks of the guide are present."""
    assert [p.stem for p in NOTEBOOKS] == [
        "01_estimate_a_bill",
        "02_sync_async_split_workflow",
        "03_bill_from_logs",
        "04_what_resilience_saves",
    ]
