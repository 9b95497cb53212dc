"""The default project, installed the way a user installs it, passes its own lint and test commands."""

import re

import pytest

from .conftest import bake, run


@pytest.mark.slow
def test_default_project_passes_its_own_checks_and_tests(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    project = bake(tmp_path_factory.mktemp("default"))
    run(["make", "setup"], cwd=project)
    run(["make", "lint"], cwd=project)
    result = run(["make", "test"], cwd=project)
    summary = re.findall(r"^=+ (.* in [\d.]+s.*?) =+$", result.stdout, flags=re.MULTILINE)[-1]
    print(f"default project: {summary}")
    assert " passed" in summary and "failed" not in summary and "error" not in summary
    assert "skipped" not in summary, (
        "every test of the default project runs on this machine:\n" + result.stdout[-3000:]
    )
