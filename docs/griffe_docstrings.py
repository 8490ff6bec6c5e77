"""A griffe extension: read callwise's docstrings, written for Sphinx's napoleon, as Markdown.

The docstrings are Google style with a few reStructuredText habits that griffe (the parser
behind mkdocstrings) does not know. Before griffe parses a docstring, :func:`to_markdown`
rewrites, in the docstring only as the docs site sees it:

- an ``Example:`` section title to ``Examples:`` (napoleon takes both, griffe the plural);
- a doctest (``>>>`` lines and their output) outside an Examples section to a fenced
  ``pycon`` block, instead of a paragraph whose ``>>>`` Markdown reads as quotes;
- a paragraph ending in ``::`` (a reStructuredText literal block follows) to one ending in
  ``:``; the indented block after it is a Markdown code block already;
- the roles ``:class:`x```, ``:func:`x```, ``:meth:`x```, ``:attr:`x```, ``:data:`x```,
  ``:exc:`x``` and ``:mod:`x``` to code spans (``~a.b.x`` shows as ``x``).

``tests/test_docs.py`` tests the rewrite; ``mkdocs.yml`` loads the extension.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|attr|data|exc|mod|obj):`(?P<short>~?)(?P<target>[^`]+)`")
_SECTION = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")


def _role(match: re.Match[str]) -> str:
    target = match["target"]
    return f"`{target.rsplit('.', 1)[-1] if match['short'] else target}`"


def to_markdown(text: str) -> str:
    """The docstring ``text`` (dedented, as griffe holds it) with the rewrites above."""
    lines = text.splitlines()
    out: list[str] = []
    in_examples = False  # inside an (indented) Examples section, griffe reads doctests
    i = 0
    while i < len(lines):
        line = lines[i]
        section = _SECTION.match(line)
        if section:
            title = "Examples" if section[1] == "Example" else section[1]
            in_examples = title == "Examples"
            out.append(f"{title}:")
            i += 1
            continue
        if line and not line[0].isspace():
            in_examples = False
        if line.startswith(">>>") and not in_examples:
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += ["```pycon", *block, "```"]
            continue
        if line.rstrip().endswith("::") and not line.lstrip().startswith(">>>"):
            line = line.rstrip()[:-1]
        out.append(_ROLE.sub(_role, line))
        i += 1
    return "\n".join(out)


class SphinxDocstrings(griffe.Extension):
    """Rewrite each docstring with :func:`to_markdown` as griffe loads the object."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """griffe event: an object (module, class, function, attribute) was loaded."""
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
