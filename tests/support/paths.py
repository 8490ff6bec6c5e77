"""Where things are in the checkout the tests run from."""

from __future__ import annotations

from pathlib import Path

#: The checkout's root folder.
ROOT = Path(__file__).resolve().parents[2]
#: The example files (links into ``costmodel/examples``, the copies that ship).
EXAMPLES = ROOT / "examples"
#: Log files in the formats the platforms print, written for the tests (not copied lines).
LOG_FIXTURES = ROOT / "tests" / "fixtures" / "logs"
README = ROOT / "README.md"
