"""Run the ``costmodel`` command line in-process, with streams of its own."""

from __future__ import annotations

import io

from costmodel.cli import main


def run(*argv: str) -> tuple[int, str, str]:
    """main(argv) with its own streams: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue()
