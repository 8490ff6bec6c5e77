"""The notebooks of notebooks/: execute them, strip what changes from run to run, write them.

``make notebooks-refresh`` runs ``python -m support.notebooks --refresh FILE...`` (from
``tests/``): each notebook is executed top to bottom (python3 kernel, working directory
``notebooks/``, the checkout on the path, matplotlib's Agg backend), then written back with
its outputs and with the metadata that changes from run to run stripped: execution timings,
cell metadata other than tags, the kernel's versions. Two refreshes of the same code write
the same bytes, so a diff shows only what the outputs say.

The tests (``tests/test_notebooks.py``) execute a copy in memory with :func:`execute`, and
check the key numbers of its outputs; images are checked for presence, never byte for byte.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbclient
import nbformat

from .paths import ROOT

#: What a stripped notebook keeps as its metadata.
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
TIMEOUT_S = 300


def execute(path: Path) -> Any:
    """A copy of the notebook at ``path``, executed (raises ``CellExecutionError`` naming the
    cell on any error); the file is not touched."""
    notebook = nbformat.read(path, as_version=4)
    env = {
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "MPLBACKEND": "Agg",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the kernel inherits them
    try:
        client = nbclient.NotebookClient(
            copy.deepcopy(notebook),
            kernel_name="python3",
            timeout=TIMEOUT_S,
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        return client.execute()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def strip(notebook: Any) -> Any:
    """``notebook`` without what changes from run to run: timings, cell metadata other
    than tags, output metadata other than image sizes, the kernel's versions."""
    notebook.metadata = copy.deepcopy(NOTEBOOK_METADATA)
    count = 0
    for cell in notebook.cells:
        tags = cell.metadata.get("tags")
        cell.metadata = {"tags": tags} if tags else {}
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        for output in cell.outputs:
            output.pop("transient", None)
            if "execution_count" in output:
                output["execution_count"] = count
    return notebook


def refresh(path: Path) -> None:
    """Execute the notebook at ``path`` and write it back, outputs in, metadata stripped."""
    nbformat.write(strip(execute(path)), path)


def outputs_text(notebook: Any) -> Iterator[str]:
    """The text of every output of every code cell: streams, plain text and HTML."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            if output.get("output_type") == "stream":
                yield str(output.get("text", ""))
            for kind in ("text/plain", "text/html"):
                data = output.get("data", {}).get(kind)
                if data:
                    yield data if isinstance(data, str) else "".join(data)


def main(argv: list[str]) -> int:
    """``--refresh FILE...``: execute the notebooks and write them with their outputs."""
    if not argv or argv[0] != "--refresh":
        print(__doc__)
        return 2
    for name in argv[1:]:
        refresh(Path(name).resolve())
        print(f"{name}: executed and written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
