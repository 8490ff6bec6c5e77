"""Architecture files: the example loads; every mistake names the file, field and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import EXAMPLES

from costmodel import InvalidFile
from costmodel.architectures.compositions import (
    AsyncChain,
    FanOut,
    Monolith,
    SyncChain,
    Workflow,
    functions_of,
)
from costmodel.architectures.distributions import Empirical, Fixed, LogNormal
from costmodel.architectures.file import load_architectures

EXAMPLE = EXAMPLES / "video_pipeline.toml"

GOOD = """
title = "t"
invocations = 1000

[functions.a]
memory_mb = 256
p50_ms = 100
p99_ms = 300

[functions.b]
memory_mb = 512
duration_ms = 50

[functions.c]
memory_mb = 128
samples_ms = [10, 20, 30]

[architectures.pair]
type = "fan_out"
steps = ["b", "c"]

[architectures.chain]
type = "sync_chain"
steps = ["a", "pair"]
retries = 1
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "arch.toml"
    path.write_text(text)
    return path


def test_video_pipeline_example_loads_the_four_designs() -> None:
    """The shipped example holds a monolith, a sync chain, a storage-triggered async
    chain and a workflow of the article's pipeline."""
    arch = load_architectures(EXAMPLE)
    assert list(arch) == ["monolith", "sync_chain", "async_storage", "workflow"]
    assert isinstance(arch["monolith"], Monolith)
    assert isinstance(arch["sync_chain"], SyncChain)
    storage = arch["async_storage"]
    assert isinstance(storage, AsyncChain) and storage.call.via == "storage_trigger"
    assert storage.call.on_failure is not None and storage.call.on_failure.name == "alert"
    assert isinstance(arch["workflow"], Workflow)
    assert isinstance(arch["sync_chain"].steps[1], FanOut)  # type: ignore[union-attr]
    names = {f.name for f in functions_of(arch["workflow"])}
    assert names == {
        "upload",
        "transcode_480p",
        "transcode_720p",
        "transcode_1080p",
        "thumbnail",
        "notify",
    }
    assert arch.invocations == 100_000
    assert "transcodes" in arch.architectures and "transcodes" not in arch


def test_duration_forms_and_default_compared_set(tmp_path: Path) -> None:
    """Fixed, lognormal and empirical durations; unreferenced architectures are compared."""
    arch = load_architectures(write(tmp_path, GOOD))
    assert list(arch) == ["chain"]
    assert isinstance(arch.functions["a"].duration, LogNormal)
    assert isinstance(arch.functions["b"].duration, Fixed)
    assert isinstance(arch.functions["c"].duration, Empirical)
    assert arch.title == "t" and arch.invocations == 1000


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        (
            "retries = 1",
            "retries = 1\ncolour = 'red'",
            "architectures.chain.colour",
            "unknown field",
        ),
        ("duration_ms = 50", "duration_ms = 50\nspeed = 3", "functions.b.speed", "unknown field"),
        (
            'steps = ["a", "pair"]',
            'steps = ["a", "pear"]',
            "architectures.chain.steps[1]",
            "'pear'",
        ),
        ("p99_ms = 300", "p99_ms = 30", "functions.a.p99_ms", "below p50_ms=100"),
        (
            "retries = 1",
            "retries = 1\ncache_hit_ratio = 1.5",
            "architectures.chain.cache_hit_ratio",
            "probability",
        ),
        (
            "duration_ms = 50",
            "duration_ms = 50\nerror_rate = -0.1",
            "functions.b.error_rate",
            "probability",
        ),
        ('type = "fan_out"', 'type = "mesh"', "architectures.pair.type", "must be one of"),
        ("memory_mb = 512", "memory_mb = -5", "functions.b.memory_mb", "memory_mb=-5"),
        ("retries = 1", "retries = 'two'", "architectures.chain.retries", "retries='two'"),
        ('title = "t"', 'title = "t"\nowner = "me"', "owner", "unknown field"),
        ("duration_ms = 50", "", "functions.b", "give the duration"),
    ],
)
def test_bad_files_name_file_field_and_reason(
    tmp_path: Path, old: str, new: str, field: str, reason: str
) -> None:
    """Each mistake raises InvalidFile(path, field, reason)."""
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(InvalidFile) as info:
        load_architectures(path)
    assert info.value.path == str(path)
    assert info.value.field == field
    assert reason in info.value.reason


def test_a_cycle_of_architectures_is_refused(tmp_path: Path) -> None:
    """pair -> chain -> pair is a cycle, reported with its path."""
    text = GOOD.replace('steps = ["b", "c"]', 'steps = ["b", "chain"]')
    with pytest.raises(InvalidFile) as info:
        load_architectures(write(tmp_path, text))
    assert info.value.field.endswith(".steps")
    assert "cycle" in info.value.reason and "pair -> chain -> pair" in info.value.reason


def test_syntax_errors_and_missing_files(tmp_path: Path) -> None:
    """Invalid TOML and a missing path are InvalidFile too."""
    with pytest.raises(InvalidFile, match="not valid TOML"):
        load_architectures(write(tmp_path, "functions = [\n"))
    with pytest.raises(InvalidFile, match="no such file"):
        load_architectures(tmp_path / "nope.toml")
    with pytest.raises(InvalidFile, match="compare\\[0\\]"):
        load_architectures(write(tmp_path, 'compare = ["zzz"]\n' + GOOD))
