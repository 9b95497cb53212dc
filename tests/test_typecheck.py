"""mypy on every accepted combination, in one environment holding the dependencies of them all."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .conftest import combination_id, combinations, run, uv

IDS = [combination_id(options) for options in combinations()]


@pytest.fixture(scope="session")
def typecheck_python(bakes: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    requirements: set[str] = set()
    for project in bakes.values():
        pyproject = tomllib.loads((project / "pyproject.toml").read_text())
        requirements.update(pyproject["project"]["dependencies"])
        requirements.update(pyproject["dependency-groups"]["dev"])
    venv = tmp_path_factory.mktemp("typecheck") / ".venv"
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=venv.parent)
    # mypy reads no data files, so hard links from uv's cache are safe (and fast) here.
    python = venv / "bin" / "python"
    run(
        [
            uv(),
            "pip",
            "install",
            "--quiet",
            "--link-mode",
            "hardlink",
            "--python",
            str(python),
            *sorted(requirements),
        ],
        cwd=venv.parent,
    )
    return python


@pytest.mark.slow
@pytest.mark.parametrize("name", IDS)
def test_bake_type_checks(bakes: dict[str, Path], typecheck_python: Path, name: str) -> None:
    cache = typecheck_python.parents[2] / "mypy-cache"  # shared: third-party analysis is done once
    env = {**os.environ, "MYPY_CACHE_DIR": str(cache)}
    result = subprocess.run(
        [str(typecheck_python), "-m", "mypy"],
        check=False,
        cwd=bakes[name],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
