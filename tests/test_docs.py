"""The documentation site: it builds with strict checks, and its settings reference matches the code."""

import re
import subprocess
import sys
from pathlib import Path

from .conftest import TEMPLATE

sys.path.insert(0, str(TEMPLATE / "docs" / "hooks"))
import settings_reference

SETTINGS_CLASS = re.compile(
    r"^class Settings\(BaseSettings\):\n(.*?)(?=^\S|\Z)", re.MULTILINE | re.DOTALL
)
FIELD = re.compile(r"^    (\w+): ", re.MULTILINE)


def mkdocs_build(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def baked_setting_names(project: Path) -> set[str]:
    config = next(project.glob("src/*/config.py")).read_text()
    body = SETTINGS_CLASS.search(config)
    assert body, "no class Settings in config.py"
    return {name for name in FIELD.findall(body.group(1)) if name != "model_config"}


def test_the_reference_lists_each_setting_of_each_generated_project_with_what_it_does(
    bakes: dict[str, Path],
) -> None:
    rows = {row.setting.name: row for row in settings_reference.rows()}
    for name, project in bakes.items():
        missing = baked_setting_names(project) - set(rows)
        assert not missing, f"{name}: not in the settings reference: {sorted(missing)}"
    undescribed = [name for name, row in rows.items() if not all(row.descriptions)]
    assert not undescribed, f"settings without a description or comment: {undescribed}"


def test_the_reference_says_which_options_a_setting_needs() -> None:
    rows = {row.setting.name: row for row in settings_reference.rows()}
    assert settings_reference.condition(rows["top_k"].combos) == ""
    assert settings_reference.condition(rows["chroma_url"].combos) == "vector_store: chroma"
    assert (
        settings_reference.condition(rows["llm_model"].combos) == "llm: openai or openai_compatible"
    )
    assert settings_reference.condition(rows["openai_api_key"].combos) == (
        "embeddings: openai, or llm: openai or openai_compatible"
    )
    assert rows["openai_api_key"].setting.env == "RAG_OPENAI_API_KEY or OPENAI_API_KEY"


def test_the_site_builds_with_strict_checks(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = mkdocs_build(TEMPLATE, "--site-dir", str(site))
    assert result.returncode == 0, result.stderr[-4000:]
    reference = (site / "settings" / "index.html").read_text()
    assert "RAG_RERANK_CANDIDATES" in reference and "RAG_UI_TRUSTED_PROXIES" in reference
    assert "Who can reach what" in (site / "security" / "index.html").read_text()


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the missing page](missing.md).\n")
    (tmp_path / "mkdocs.yml").write_text(
        (TEMPLATE / "mkdocs.yml").read_text().split("nav:")[0]
        + "validation:\n  links:\n    not_found: warn\n"
    )
    result = mkdocs_build(tmp_path)
    assert result.returncode != 0
    assert "missing.md" in result.stderr
