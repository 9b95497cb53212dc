"""`make test` checks the machine first: a missing program is named at once with its install command.

The template's and a generated project's Makefile run the same script (the project's
``scripts/preflight.py``), and each README lists the requirements in the script's own words.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import TEMPLATE, bake, run

# The template's own checks need make, python3, uv, git and a compiler; a fresh machine may lack the rest.
PRESENT = ("make", "python3", "uv", "git", "c++", "sh", "bash")
ABSENT = {  # what the message must name, and the Debian package it must offer
    "Chromium or Chrome": "chromium",
    "redis-server": "redis-server",
    "curl": "curl",
}


@pytest.fixture
def bare_path(tmp_path: Path) -> str:
    """A PATH with only the programs in PRESENT: Chromium, Redis and curl are missing."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in PRESENT:
        if found := shutil.which(name):
            (folder / name).symlink_to(found)
    return str(folder)


def preflight(cwd: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CHROMIUM_PATH"}
    return subprocess.run(
        ["make", "preflight"],
        cwd=cwd,
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,  # the bound: it must not take the suite's 35 minutes to say so
        check=False,
    )


def test_make_test_names_each_missing_program_with_its_install_command(bare_path: str) -> None:
    result = preflight(TEMPLATE, bare_path)
    assert result.returncode != 0
    message = result.stderr
    assert message.startswith("make test needs what this machine lacks:"), message
    for title in ABSENT:
        assert f"  - {title}" in message, message
    apt = re.search(r"Debian/Ubuntu: sudo apt-get install -y (.*)", message)
    assert apt and set(apt.group(1).split()) == set(ABSENT.values()), message
    assert "brew install --cask chromium" in message and "brew install redis" in message
    for present in ("git", "make", "a C++ compiler"):
        assert f"  - {present}:" not in message, message


def test_make_test_stops_before_installing_anything() -> None:
    """The check runs before the Python environments are synced: `make -n` shows it first."""
    plan = run(["make", "-n", "--no-print-directory", "test"], cwd=TEMPLATE).stdout.splitlines()
    assert "preflight.py" in plan[0] and "--for" in plan[0], plan[:3]


def test_a_project_given_an_llm_server_needs_no_compiler() -> None:
    needs = run(["make", "-s", "requirements"], cwd=TEMPLATE, env={"LLM_BASE_URL": ""}).stdout
    given = run(
        ["make", "-s", "requirements"], cwd=TEMPLATE, env={"LLM_BASE_URL": "http://127.0.0.1:1/v1"}
    ).stdout
    assert "C++ compiler" in needs and "C++ compiler" not in given


def test_the_readme_lists_the_requirements_in_the_preflights_words() -> None:
    listed = run(["make", "-s", "requirements"], cwd=TEMPLATE, env={"LLM_BASE_URL": ""}).stdout
    assert listed.count("\n- ") >= 6
    assert listed.strip() in (TEMPLATE / "README.md").read_text()


def test_a_generated_projects_make_test_checks_its_own_requirements(
    tmp_path: Path, bare_path: str
) -> None:
    project = bake(tmp_path / "bake")
    needs = re.search(r"^TEST_NEEDS := (.*)$", (project / "Makefile").read_text(), re.MULTILINE)
    assert needs is not None
    listed = run(
        ["python3", "scripts/preflight.py", "--markdown", *needs.group(1).split()], cwd=project
    ).stdout
    assert listed.strip() in (project / "README.md").read_text()
    result = preflight(project, bare_path)
    assert result.returncode != 0
    assert "  - Chromium or Chrome" in result.stderr and "  - redis-server" in result.stderr
    assert "  - git" not in result.stderr
