"""mypy on every accepted combination, in one environment holding the dependencies of them all.

The combinations that the generated suites install run mypy in their own `make lint`; not again here.
"""

import os
import subprocess
from pathlib import Path

import pytest

from .conftest import combination_id, combinations
from .test_generated_suites import FULL_RUNS

IDS = [
    combination_id(options)
    for options in combinations()
    if combination_id(options) not in FULL_RUNS
]


@pytest.mark.slow
@pytest.mark.parametrize("name", IDS)
def test_bake_type_checks(bakes: dict[str, Path], union_python: Path, name: str) -> None:
    cache = union_python.parents[2] / "mypy-cache"  # shared: third-party analysis is done once
    env = {**os.environ, "MYPY_CACHE_DIR": str(cache)}
    result = subprocess.run(
        [str(union_python), "-m", "mypy"],
        check=False,
        cwd=bakes[name],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
