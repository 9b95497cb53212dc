"""mypy on every accepted combination, and the generated unit tests of one project per vector store,
in one environment holding the dependencies of them all (kept in build/ between runs)."""

import os
import queue
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import combination_id, combinations, run

IDS = [combination_id(options) for options in combinations()]
PARALLEL = 2  # mypy processes at once: the machines this runs on have two cores
# The default, and one with every other option changed; `make test` runs four whole suites too.
UNIT_RUNS = ["chroma-local-openai", "weaviate-openai-none"]


@pytest.fixture(scope="session")
def mypy_results(
    bakes: dict[str, Path], union_python: Path
) -> dict[str, subprocess.CompletedProcess[str]]:
    """mypy's result for every bake, two at a time (one per core), each with a cache of its own:
    the third-party analysis is done once per cache and reused by the next runs."""
    caches: queue.Queue[Path] = queue.Queue()
    for number in range(PARALLEL):
        caches.put(union_python.parents[2] / f"mypy-cache-{number}")

    def check(project: Path) -> subprocess.CompletedProcess[str]:
        cache = caches.get()
        try:
            return subprocess.run(
                [str(union_python), "-m", "mypy"],
                check=False,
                cwd=project,
                capture_output=True,
                text=True,
                env={**os.environ, "MYPY_CACHE_DIR": str(cache)},
                timeout=1200,
            )
        finally:
            caches.put(cache)

    with ThreadPoolExecutor(PARALLEL) as pool:
        return dict(zip(bakes, pool.map(check, bakes.values()), strict=True))


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
        for path in sorted((bakes[name] / "tests").glob("test_*.py"))
        if "pytestmark = pytest.mark.unit" in path.read_text()
    ]
    assert modules
    result = run(
        [str(union_python), "-m", "pytest", "-m", "unit", "-q", "-p", "no:cacheprovider", *modules],
        cwd=bakes[name],
        env={"PYTHONPATH": "src", "PYTEST_ADDOPTS": ""},
    )
    assert " passed" in result.stdout and "failed" not in result.stdout, result.stdout[-2000:]
