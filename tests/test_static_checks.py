"""mypy and the import layers on every accepted combination, and the generated unit tests of one
project per vector store, in one environment holding the dependencies of them all (kept in build/
between runs)."""

import os
import queue
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import combination_id, combinations, run

IDS = [combination_id(options) for options in combinations()]
PARALLEL = 2  # mypy processes at once: the machines this runs on have two cores
# The default, and one with every other option changed; `make test` runs four whole suites too.
UNIT_RUNS = ["chroma-local-openai", "weaviate-openai-none"]


def check(
    command: list[str], project: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """A checker's result, passing or not, with its output kept for the assertion's message."""
    return subprocess.run(
        command,
        check=False,
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def mypy_results(
    bakes: dict[str, Path], union_python: Path
) -> dict[str, subprocess.CompletedProcess[str]]:
    """mypy's result for every bake, two at a time (one per core), each with a cache of its own:
    the third-party analysis is done once per cache and reused by the next runs."""
    caches: queue.Queue[Path] = queue.Queue()
    for number in range(PARALLEL):
        caches.put(union_python.parents[2] / f"mypy-cache-{number}")

    def mypy(project: Path) -> subprocess.CompletedProcess[str]:
        cache = caches.get()
        try:
            command = [str(union_python), "-m", "mypy"]
            return check(command, project, {"MYPY_CACHE_DIR": str(cache)}, timeout=1200)
        finally:
            caches.put(cache)

    with ThreadPoolExecutor(PARALLEL) as pool:
        return dict(zip(bakes, pool.map(mypy, bakes.values()), strict=True))


@pytest.mark.parametrize("name", IDS)
def test_bake_type_checks(
    mypy_results: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    result = mypy_results[name]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.mark.parametrize("name", UNIT_RUNS)
def test_generated_unit_tests_pass(bakes: dict[str, Path], union_python: Path, name: str) -> None:
    # Only the modules that hold unit tests are collected: importing the others costs 20 s.
    modules = [
        str(path.relative_to(bakes[name]))
        for path in sorted((bakes[name] / "tests").rglob("test_*.py"))
        if "pytestmark = pytest.mark.unit" in path.read_text()
    ]
    assert modules
    result = run(
        [str(union_python), "-m", "pytest", "-m", "unit", "-q", "-p", "no:cacheprovider", *modules],
        cwd=bakes[name],
        env={"PYTHONPATH": "src", "PYTEST_ADDOPTS": ""},
    )
    assert " passed" in result.stdout and "failed" not in result.stdout, result.stdout[-2000:]


@pytest.mark.parametrize("name", IDS)
def test_bake_keeps_its_import_layers(
    bakes: dict[str, Path], union_python: Path, name: str
) -> None:
    command = [str(union_python.parent / "lint-imports"), "--no-cache"]
    result = check(command, bakes[name], {"PYTHONPATH": "src"}, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


def test_make_lint_names_a_layer_broken_on_purpose(
    bakes: dict[str, Path], union_python: Path, tmp_path: Path
) -> None:
    """The index importing the web UI, and a module placed in no layer: `make lint` fails on both and
    says which rule each breaks. The tools come from the union environment (no `make setup`)."""
    project = tmp_path / "project"
    shutil.copytree(bakes["chroma-local-openai"], project, ignore=shutil.ignore_patterns(".venv"))
    package = project / "src" / "ask_docs"
    with (package / "index" / "store_base.py").open("a") as module:
        module.write("\n\nfrom ..web import limits  # noqa: E402, F401\n")
    (package / "helpers.py").write_text('"""Belongs to no stage."""\n')
    env = {
        "PYTHONPATH": "src",
        "UV_PROJECT_ENVIRONMENT": str(union_python.parents[1]),
        "UV_NO_SYNC": "1",
    }
    result = check(["make", "lint", "SYNC=true"], project, env, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-4000:]
    assert "Layers: front ends > evaluation > answering" in output, output[-4000:]
    assert "ask_docs.index is not allowed to import ask_docs.web" in output, output[-4000:]
    assert "ask_docs.index.store_base -> ask_docs.web.limits" in output
    assert "- ask_docs.helpers" in output  # "not listed as layers"
    assert "0 kept, 1 broken" in output
