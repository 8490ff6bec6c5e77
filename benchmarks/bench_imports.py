"""Start-up: ``import resilience`` and ``costmodel --help`` in fresh interpreters.

Each command runs in a new ``python -P`` process (best of 7), against anchors run the same
way in the same run: ``import tenacity`` (one of resilience's own dependencies) and
``import pandas`` (what costmodel's heavy half needs). The packages load their modules on
first use (PEP 562), so ``import resilience`` costs less than its dependency alone, and the
CLI's ``--help`` loads neither pandas nor matplotlib.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks.harness import Row, wall_seconds

TITLE = "Start-up (fresh interpreters)"


def _python(code: str) -> float:
    command = [sys.executable, "-P", "-c", code]
    return wall_seconds(lambda: subprocess.run(command, check=True), repeat=7)


def run() -> list[Row]:
    """Seconds per fresh interpreter, ours and the anchor's."""
    help_code = (
        "import contextlib, io\n"
        "from costmodel.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
    )
    return [
        Row(
            "import resilience vs import tenacity",
            _python("import resilience"),
            _python("import tenacity"),
            "s",
            "<= 1x",
        ),
        Row(
            "costmodel --help vs import pandas",
            _python(help_code),
            _python("import pandas"),
            "s",
            "<= 0.5x",
        ),
    ]
