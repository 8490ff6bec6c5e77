"""What ships: the sdist and the wheel carry every module and data file of both packages,
and the installed package works from a folder that is not the checkout.

The build runs once per session (``python -m build`` without isolation: the dev
environment has setuptools and build). CI also installs the wheel into a clean virtual
environment and runs this whole suite against it (``make test-installed``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from support.paths import ROOT

import costmodel
import resilience

PACKAGES = ("resilience", "costmodel")


def _package_files() -> set[str]:
    """Every file git tracks inside the two packages (what the wheel must hold)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *PACKAGES],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return {name for name in listed.split("\0") if name}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The sdist and the wheel built from it, as CI builds them, and what the build printed."""
    if not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout the packages are built from")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return out, done.stdout + done.stderr


def test_wheel_holds_every_module_and_data_file(dist: tuple[Path, str]) -> None:
    """Every tracked file of both packages is in the wheel; nothing from tests or benchmarks."""
    (wheel,) = dist[0].glob("callwise-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert sorted(_package_files() - names) == []
    assert not [n for n in names if n.split("/")[0] in ("tests", "benchmarks", "examples")]
    assert "resilience/invokers/http.py" in names  # the package a hand-written list once lost
    assert any(n.endswith(".toml") and "prices/" in n for n in names)
    assert any(n.endswith("lambda_report.log") for n in names)


def test_sdist_holds_every_module_and_data_file(dist: tuple[Path, str]) -> None:
    """The sdist carries the same files (a wheel built from it is the one tested above)."""
    (sdist,) = dist[0].glob("callwise-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert sorted(_package_files() - names) == []


def test_build_prints_no_setuptools_warning(dist: tuple[Path, str]) -> None:
    """Building warns about nothing (data folders are packages found, not guessed)."""
    # "byte-compiling is disabled" is distutils reporting PYTHONDONTWRITEBYTECODE, not a
    # warning about the project; setuptools' own warnings say WARNING/Warning and draw "!!".
    warned = [
        line
        for line in dist[1].splitlines()
        if re.search(r"warning|^!!", line, re.I) and "byte-compiling is disabled" not in line
    ]
    assert warned == []


def _run_outside(code: str, tmp_path: Path) -> str:
    """Run Python code in a folder that is not the checkout, with no checkout on the path."""
    done = subprocess.run(
        [sys.executable, "-P", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_module_imports(tmp_path: Path) -> None:
    """Each module of both packages imports (every extra is installed in the test env)."""
    code = (
        "import importlib, json, pkgutil\n"
        "names = []\n"
        f"for top in {PACKAGES!r}:\n"
        "    package = importlib.import_module(top)\n"
        "    names.append(top)\n"
        "    for info in pkgutil.walk_packages(package.__path__, top + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "        names.append(info.name)\n"
        "print(json.dumps(names))\n"
    )
    names = json.loads(_run_outside(code, tmp_path))
    expected = {
        path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for path in _package_files()
        if path.endswith(".py") and path.rsplit("/", 1)[-1] != "__main__.py"
    }
    assert sorted(expected - set(names)) == []


def test_smoke_each_half_from_the_installed_package(tmp_path: Path) -> None:
    """A breaker call, an HttpFunction, an estimate and a shipped log read, outside the checkout."""
    code = """
import resilience, costmodel
from importlib import resources
from resilience.invokers import HttpFunction

breaker = resilience.CircuitBreaker(name="smoke")
print(breaker(lambda: "ok")())
print(HttpFunction("https://example.com/fn").url)
bill = costmodel.estimate("aws-lambda", invocations=1_000_000, duration_ms=100, memory_mb=128)
print(f"{bill.total:.4f} {bill.currency}")
log = resources.files("costmodel") / "examples" / "logs" / "lambda_report.log"
print(len(costmodel.read_logs(str(log))))
print(resilience.__file__)
"""
    lines = _run_outside(code, tmp_path).splitlines()
    assert lines[:3] == ["ok", "https://example.com/fn", "0.4083 USD"]
    assert int(lines[3]) > 0
    assert Path(lines[4]).resolve().is_relative_to(Path(resilience.__file__).resolve().parent)


def test_cli_runs_and_knows_its_version(tmp_path: Path) -> None:
    """The `costmodel` executable answers --version and lists the shipped catalog."""
    executable = Path(sys.executable).parent / "costmodel"
    done = subprocess.run(
        [str(executable), "--version"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout == f"costmodel {costmodel.__version__}\n"
    done = subprocess.run(
        [str(executable), "prices", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(json.loads(done.stdout)["rows"]) >= 14


def test_versions_come_from_the_installed_metadata() -> None:
    """Both packages report the distribution's version."""
    from importlib.metadata import version

    assert resilience.__version__ == costmodel.__version__ == version("callwise")
