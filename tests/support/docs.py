"""The code blocks of the README and of the docs pages: find them, run them, compare outputs.

The convention (also on the docs page "About the examples"):

- A ```` ```python ```` block is a script: it runs alone, as ``python example.py`` in an
  empty folder that holds only ``examples/`` (the shipped example files).
- A ```` ```sh ```` block holds commands. ``costmodel ...`` commands run in that folder too,
  one after the other; ``make TARGET`` and ``pip install '.[EXTRA]'`` are set-up commands:
  the test checks that the target and the extra exist (CI runs ``make test`` itself).
- What a block prints, stdout and stderr together in the order they were written (log
  messages and warnings included), is the ```` ```text title="output" ```` block that
  follows it (only blank lines between). A block that prints nothing has no output block.
- The comparison is exact after a small normalisation: trailing spaces are dropped, a line
  rewritten after a carriage return shows its last version (a progress bar, as a terminal
  shows it once the command is done), and the run folder's path reads ``.``.
- ```` ```toml ```` blocks are parsed; ```` ```text ```` blocks that follow no code block
  and fences without a language are figures (diagrams, measured benchmark results).
- A block that mentions ``REDIS_URL`` gets a private redis-server from the tests' fixture,
  and the variable points at it.
- A block whose title says ``a slow block`` runs for minutes: it is marked ``slow``;
  ``make test`` runs it (CI checks every printed output), ``make test-installed`` leaves it
  out (the same code, already checked), ``make stress`` runs it once more.

``python -m support.docs --update FILE...`` (from ``tests/``) runs the blocks of the files
and writes what they print into their output blocks, adding the ones that are missing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from .paths import ROOT

#: The pages: the README, every docs page, and the files they include with ``--8<--``.
PAGE_GLOBS = ("README.md", "docs/**/*.md")
#: Languages of blocks that run; of blocks that are checked another way.
RUN = ("python", "sh")
OUTPUT_TITLE = 'title="output"'
#: In a block's title: a block too long for ``make test`` (minutes), run by ``make stress``.
SLOW_TITLE = "a slow block"
#: Where a block runs: what it finds there (links to the checkout's files).
RUN_FOLDER_LINKS = ("examples",)
SETUP_COMMANDS = ("make", "pip")
TIMEOUT_S = 900

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_SNIPPET = re.compile(r'^ *--8<-- +"(?P<path>[^"]+)" *$', re.M)


@dataclass(frozen=True)
class Block:
    """One fenced block of a page.

    Attributes:
        page: the file, relative to the checkout.
        line: the line of its opening fence (1-based).
        lang: the first word of the info string ("" without one).
        info: the rest of the info string (``title="output"`` ...).
        body: its text, without the fences and the indentation.
        output: the text of the output block that follows it, or None.
        output_line: the line of that output block's opening fence, or None.
    """

    page: str
    line: int
    lang: str
    info: str
    body: str
    output: str | None = None
    output_line: int | None = None

    @property
    def id(self) -> str:
        """``page:line``, the test id."""
        return f"{self.page}:{self.line}"

    @property
    def slow(self) -> bool:
        """Whether the block runs for minutes (its title says so): marked ``slow``."""
        return SLOW_TITLE in self.info

    @property
    def is_output(self) -> bool:
        """Whether the block is an output block (```` ```text title="output" ````)."""
        return self.lang == "text" and OUTPUT_TITLE in self.info


def pages(root: Path = ROOT) -> list[Path]:
    """The README, every docs page, and every file a page includes (``--8<-- "path"``)."""
    found: list[Path] = []
    for pattern in PAGE_GLOBS:
        found.extend(sorted(root.glob(pattern)))
    for page in list(found):
        for match in _SNIPPET.finditer(page.read_text()):
            included = root / match["path"]
            if included.suffix == ".md" and included not in found:
                found.append(included)
    return found


def _raw_blocks(page: Path, root: Path) -> Iterator[tuple[Block, int]]:
    """Each fenced block of a page, with the line after its closing fence."""
    lines = page.read_text().splitlines()
    name = page.relative_to(root).as_posix()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        lang, _, info = opening["info"].strip().partition(" ")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            line = lines[j]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            j += 1
        if j == len(lines):
            raise ValueError(f"{name}:{i + 1}: the block is never closed")
        text = "\n".join(body) + "\n" if body else ""
        yield Block(name, i + 1, lang, info.strip(), text), j + 1
        i = j + 1


def blocks(page: Path, root: Path = ROOT) -> list[Block]:
    """The blocks of a page, each code block with the output block that follows it."""
    lines = page.read_text().splitlines()
    found: list[Block] = []
    previous_end = -1
    for block, end in _raw_blocks(page, root):
        follows = found and all(not ln.strip() for ln in lines[previous_end : block.line - 1])
        if block.is_output and follows and found[-1].lang in RUN and found[-1].output is None:
            code = found[-1]
            found[-1] = replace(code, output=block.body, output_line=block.line)
        found.append(block)
        previous_end = end
    return found


def all_blocks(root: Path = ROOT) -> list[Block]:
    """Every block of every page."""
    return [block for page in pages(root) for block in blocks(page, root)]


# ---------------------------------------------------------------- running


def normalise(text: str, folder: Path | None = None) -> str:
    r"""What a reader compares: the last version of each line (after ``\r``), no trailing
    spaces, no blank lines at either end, the run folder written ``.``."""
    if folder is not None:
        for spelling in {str(folder), str(folder.resolve())}:
            text = text.replace(spelling + os.sep, "").replace(spelling, ".")
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def commands(body: str) -> list[str]:
    """The commands of a shell block: comments and blank lines dropped, ``\\`` lines joined."""
    joined = re.sub(r"\\\n\s*", " ", body)
    found = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            found.append(shlex.join(words))
    return found


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a block runs in: this Python's scripts first on PATH, unbuffered
    output (so stdout and stderr interleave as written), UTF-8, no display for charts."""
    env = dict(os.environ)
    for name in ("PYTHONWARNINGS", "PYTHONSTARTUP", "COLUMNS", "LINES", "FORCE_COLOR"):
        env.pop(name, None)
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        PATH=os.pathsep.join([bin_dir, env.get("PATH", "")]),
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
        MPLBACKEND="Agg",
        NO_COLOR="1",
        **(extra or {}),
    )
    return env


def prepare_folder(folder: Path, root: Path = ROOT) -> None:
    """Link the shipped example files into an empty run folder."""
    for name in RUN_FOLDER_LINKS:
        (folder / name).symlink_to(root / name, target_is_directory=True)


def run(block: Block, folder: Path, env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """Run a python or sh block in ``folder``; return its exit status and what it printed
    (stdout and stderr, interleaved), normalised."""
    full_env = environment(env)
    if block.lang == "python":
        script = folder / "example.py"
        script.write_text(block.body)
        argv_list = [[sys.executable, "-P", script.name]]
    elif block.lang == "sh":
        argv_list = [shlex.split(command) for command in commands(block.body)]
        for argv in argv_list:
            if argv[0] != "costmodel":
                raise ValueError(f"{block.id}: only costmodel commands run: {shlex.join(argv)}")
    else:
        raise ValueError(f"{block.id}: a {block.lang!r} block does not run")
    printed, status = [], 0
    for argv in argv_list:
        done = subprocess.run(
            argv,
            cwd=folder,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=TIMEOUT_S,
            check=False,
        )
        printed.append(done.stdout.decode("utf-8", errors="replace"))  # keep each \r
        status = status or done.returncode
    return status, normalise("".join(printed), folder)


def is_setup(block: Block) -> bool:
    """Whether a shell block holds only set-up commands (``make ...``, ``pip ...``)."""
    found = commands(block.body)
    return bool(found) and all(shlex.split(c)[0] in SETUP_COMMANDS for c in found)


def check_setup(block: Block, root: Path = ROOT) -> None:
    """The make targets and pip extras a set-up block names exist."""
    makefile = (root / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w.-]*):", makefile, re.M))
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    extras = set(pyproject["project"]["optional-dependencies"])
    for command in commands(block.body):
        argv = shlex.split(command)
        if argv[0] == "make":
            missing = [t for t in argv[1:] if not t.startswith("-") and t not in targets]
            assert not missing, f"{block.id}: no make target {missing} in the Makefile"
        else:
            assert argv[1:2] == ["install"], f"{block.id}: {command}: only pip install"
            for spec in argv[2:]:
                named = re.fullmatch(r"\.?\[(?P<extras>[\w,-]+)\]|callwise\[(?P<e>[\w,-]+)\]", spec)
                if named:
                    wanted = set((named["extras"] or named["e"]).split(","))
                    assert wanted <= extras, f"{block.id}: no extra {wanted - extras}"


def toml_text(block: Block, root: Path = ROOT) -> str:
    """A toml block's text, with ``--8<-- "file"`` lines replaced by the file."""
    return _SNIPPET.sub(lambda m: (root / m["path"]).read_text(), block.body)


# ---------------------------------------------------------------- updating


@contextlib.contextmanager
def _redis_for(block: Block) -> Iterator[dict[str, str]]:
    """The environment of a block: ``REDIS_URL`` of a private server when it reads it."""
    if "REDIS_URL" not in block.body:
        yield {}
        return
    from .redis_server import RedisServer  # needs the redis package: import late

    server = RedisServer(tcp=True)
    server.start()
    try:
        yield {"REDIS_URL": server.url}
    finally:
        server.stop()


def update(page: Path, root: Path = ROOT) -> int:
    """Run every block of a page that runs and write what it prints into its output block
    (adding or removing output blocks as needed). Returns how many blocks changed."""
    lines = page.read_text().splitlines()
    edits: list[tuple[int, int, list[str]]] = []  # (first line, end line, replacement)
    for block in blocks(page, root):
        if block.lang not in RUN or (block.lang == "sh" and is_setup(block)):
            continue
        with tempfile.TemporaryDirectory() as directory, _redis_for(block) as env:
            folder = Path(directory)
            prepare_folder(folder, root)
            _, printed = run(block, folder, env)
        shown = None if block.output is None else normalise(block.output)
        if shown == (printed or None):  # the output block is right, or rightly absent
            continue
        indent = re.match(r" *", lines[block.line - 1])[0]  # type: ignore[index]
        new = [f"{indent}```text {OUTPUT_TITLE}", *(indent + x for x in printed.split("\n"))]
        new = [*new, f"{indent}```"] if printed else []
        if block.output_line is None:
            end = block.line + len(block.body.splitlines()) + 1  # the closing fence
            edits.append((end, end, ["", *new] if new else []))
        else:
            first = block.output_line - 1
            last = first + len(block.output.splitlines()) + 2 if block.output else first + 2
            if not new:
                while first > 0 and not lines[first - 1].strip():
                    first -= 1
            edits.append((first, last, new))
    for first, last, new in sorted(edits, reverse=True):
        lines[first:last] = new
    if edits:
        page.write_text("\n".join(lines) + "\n")
    return len(edits)


def main(argv: list[str]) -> int:
    """``--update FILE...``: rewrite the output blocks of the files."""
    if not argv or argv[0] != "--update":
        print(__doc__)
        return 2
    for name in argv[1:]:
        changed = update(Path(name).resolve())
        print(f"{name}: {changed} output block(s) written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
