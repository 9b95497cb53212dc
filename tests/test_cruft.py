"""Keeping a project current with cruft, as the docs promise: a project created from one template
commit takes the next commit's changes with `cruft update`, and keeps its owner's own edits."""

import json
import subprocess
import sys
from pathlib import Path

from .conftest import TEMPLATE, run

NEW_SECTION = "\n## Upgrading\n\nRun `cruft update` to take the template's latest changes.\n"
NEW_FILE = "{{cookiecutter.project_slug}}/docs/UPGRADING.md"


def git(cwd: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args]
    return run(command, cwd).stdout.strip()


def template_repository(folder: Path) -> tuple[Path, str, str]:
    """A copy of the template's committed files as a repository of two commits: the template as it
    is, then a change to it (a README section and a new file). Returns the folder and both commits."""
    folder.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=TEMPLATE, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x"], input=archive, cwd=folder, check=True)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "the template")
    before = git(folder, "rev-parse", "HEAD")
    readme = folder / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + NEW_SECTION)
    (folder / NEW_FILE).parent.mkdir(parents=True, exist_ok=True)
    (folder / NEW_FILE).write_text("# Upgrading {{ cookiecutter.project_name }}\n")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "a change to the template")
    return folder, before, git(folder, "rev-parse", "HEAD")


def test_cruft_update_takes_template_changes_and_keeps_the_owners_edits(tmp_path: Path) -> None:
    template, before, after = template_repository(tmp_path / "template")
    cruft = [str(Path(sys.executable).with_name("cruft"))]
    # cookiecutter leaves its hook scripts in the temporary folder: keep them in this test's own.
    hook_scripts = {"TMPDIR": str(tmp_path / "hook-scripts")}
    (tmp_path / "hook-scripts").mkdir()
    run(
        [
            *cruft,
            "create",
            str(template),
            "--checkout",
            before,
            "--no-input",
            "--output-dir",
            str(tmp_path),
        ],
        tmp_path,
        env=hook_scripts,
    )
    project = tmp_path / "ask-docs"
    assert json.loads((project / ".cruft.json").read_text())["commit"] == before

    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "generated")
    faq = project / "sample_docs" / "faq.txt"
    faq.write_text(faq.read_text() + "\nWho maintains this project?\nThe platform team.\n")
    git(project, "commit", "-q", "-am", "our own answer")

    run([*cruft, "update", "--skip-apply-ask", "--checkout", after], project, env=hook_scripts)

    assert NEW_SECTION.strip() in (project / "README.md").read_text()
    assert (project / "docs" / "UPGRADING.md").read_text() == "# Upgrading Ask Docs\n"
    assert "The platform team." in faq.read_text()  # the owner's edit survives
    assert json.loads((project / ".cruft.json").read_text())["commit"] == after
    assert not list(project.rglob("*.rej")), "the update left rejected hunks"
    status = git(project, "status", "--porcelain")
    assert "UU" not in status and "AA" not in status, status
    # Only the template's change is pending: nothing else was touched.
    changed = {line.split(maxsplit=1)[1] for line in status.splitlines()}
    assert changed == {"README.md", "docs/UPGRADING.md", ".cruft.json"}, changed
