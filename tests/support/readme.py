"""The README's examples, for the tests that run them and check what they print."""

from __future__ import annotations

import re

from .paths import README


def readme_examples(section: str) -> list[str]:
    """The ```python blocks of one README section (``## section`` up to the next ``## ``)."""
    text = README.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start : end if end > 0 else None], re.S)
