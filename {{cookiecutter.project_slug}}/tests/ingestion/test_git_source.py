"""The git source against real local repositories: clone, pull, sub-paths, URL mapping, failures."""

import subprocess
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.ingestion.sources import SourceDocument
from {{ cookiecutter.package_name }}.ingestion.sources.git import GitError, GitSource, default_uri_pattern


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def commit(repo: Path, files: dict[str, str | None], message: str = "update") -> None:
    """Write (or, for None, delete) files and commit them."""
    for name, content in files.items():
        path = repo / name
        if content is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-qm", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "upstream"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit(
        path,
        {
            "docs/install.md": "# Install\n\nRun the installer.\n",
            "docs/guide/usage.rst": "Usage\n=====\n\nCall it.\n",
            "src/app.py": "def main():\n    return 0\n",
            "README.md": "# Repo\n",
        },
    )
    return path


def source(repo: Path, tmp_path: Path, **options: Any) -> GitSource:
    return GitSource(
        "handbook",
        str(repo),
        checkout_dir=tmp_path / "checkout",
        paths=["docs"],
        uri_pattern="https://docs.example.com/{stem}.html",
        **options,
    )


def documents(source: GitSource) -> dict[str, SourceDocument]:
    return {item.id: item for item in source.scan() if isinstance(item, SourceDocument)}


def test_a_clone_reads_the_sub_paths_and_maps_paths_to_public_urls(
    repo: Path, tmp_path: Path
) -> None:
    handbook = source(repo, tmp_path)
    handbook.sync()
    found = documents(handbook)
    assert set(found) == {"handbook:docs/install.md", "handbook:docs/guide/usage.rst"}
    assert found["handbook:docs/install.md"].uri == "https://docs.example.com/docs/install.html"
    assert found["handbook:docs/guide/usage.rst"].title == "Usage"


def test_a_pull_sees_changes_and_deletions(repo: Path, tmp_path: Path) -> None:
    handbook = source(repo, tmp_path)
    handbook.sync()
    before = documents(handbook)
    commit(repo, {"docs/install.md": "# Install\n\nUse pip.\n", "docs/guide/usage.rst": None})
    handbook.sync()
    after = documents(handbook)
    assert set(after) == {"handbook:docs/install.md"}
    assert (
        after["handbook:docs/install.md"].content_hash
        != before["handbook:docs/install.md"].content_hash
    )


def test_a_branch_is_followed(repo: Path, tmp_path: Path) -> None:
    git(repo, "checkout", "-q", "-b", "next")
    commit(repo, {"docs/new.md": "# New\n\nOnly on next.\n"})
    git(repo, "checkout", "-q", "main")
    assert "handbook:docs/new.md" in documents(synced(source(repo, tmp_path, branch="next")))
    assert "handbook:docs/new.md" not in documents(synced(source(repo, tmp_path / "m")))


def synced(handbook: GitSource) -> GitSource:
    handbook.sync()
    return handbook


def test_an_unreachable_repository_fails_with_the_url_and_no_credentials(tmp_path: Path) -> None:
    handbook = GitSource(
        "handbook",
        "https://user:hunter2@127.0.0.1:9/repo.git",
        checkout_dir=tmp_path / "c",
        retry_wait_s=0,
    )
    with pytest.raises(
        GitError, match=r"git clone of https://127\.0\.0\.1:9/repo\.git failed"
    ) as error:
        handbook.sync()
    assert "hunter2" not in str(error.value)
    assert not (tmp_path / "c").exists()


def test_default_urls_link_to_the_file_on_github() -> None:
    pattern = default_uri_pattern("https://github.com/org/repo.git")
    assert pattern.format(path="docs/a.md", stem="docs/a", branch="main") == (
        "https://github.com/org/repo/blob/main/docs/a.md"
    )
    assert default_uri_pattern("/srv/repos/handbook") == "{path}"
