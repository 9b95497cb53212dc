"""Several sources in one index, configured in sources.toml: a folder, a git repository and a
website on loopback. Deletions stay within a source, and a failing source deletes nothing."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.index.store import open_store
from {{ cookiecutter.package_name }}.ingestion.pipeline import run_ingest
from {{ cookiecutter.package_name }}.ingestion.sources import select_sources

from ..site import Site, serve
from .test_git_source import commit, repo  # noqa: F401 (a fixture)
from .test_pipeline import SAMPLE_COUNT
from .test_website_source import page


@pytest.fixture
def site() -> Iterator[Site]:
    pages = {
        "/robots.txt": "User-agent: *\n",
        "/kb/": page("Knowledge base", "Start here.", ("reset.html",)),
        "/kb/reset.html": page("Reset a password", "Use the reset link we e-mail you."),
    }
    with serve(Site(pages)) as served:
        yield served


def write_sources(settings: Settings, text: str) -> None:
    settings.sources_file.write_text(text)


@pytest.fixture
def three_sources(settings: Settings, docs: Path, repo: Path, site: Site) -> Settings:  # noqa: F811
    write_sources(
        settings,
        f"""
[[sources]]
name = "local"
type = "folder"
path = "{docs}"

[[sources]]
name = "handbook"
type = "git"
url = "{repo}"
paths = ["docs"]
access = "internal"

[[sources]]
name = "kb"
type = "website"
url = "{site.url}/kb/"
delay_s = 0
""",
    )
    return settings


def by_source(settings: Settings) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for document_id, document in open_store(settings).documents().items():
        found.setdefault(document.source, set()).add(document_id)
    return found


def test_every_source_is_ingested_with_its_access_label(three_sources: Settings) -> None:
    summary = run_ingest(three_sources)
    assert (summary.added, summary.failed_sources, summary.failed) == (SAMPLE_COUNT + 4, [], [])
    stored = by_source(three_sources)
    assert stored["handbook"] == {"handbook:docs/install.md", "handbook:docs/guide/usage.rst"}
    assert len(stored["kb"]) == 2 and len(stored["local"]) == SAMPLE_COUNT


def test_a_failing_source_deletes_nothing_and_the_others_go_on(
    three_sources: Settings,
    repo: Path,  # noqa: F811
    site: Site,
) -> None:
    run_ingest(three_sources)
    site.status["/robots.txt"] = 500  # the site is down
    commit(repo, {"docs/guide/usage.rst": None})
    summary = run_ingest(three_sources)
    assert [failure["source"] for failure in summary.failed_sources] == ["kb"]
    assert "source kb FAILED" in summary.as_text()
    assert summary.deleted == 1  # the file removed from the repository, and nothing of the site
    assert len(by_source(three_sources)["kb"]) == 2


def test_a_rebuild_that_misses_a_source_stays_off_until_a_run_completes_it(
    three_sources: Settings,
    site: Site,
) -> None:
    run_ingest(three_sources)
    live = open_store(three_sources).version
    site.status["/robots.txt"] = 500  # the site is down while the index is rebuilt
    failed = run_ingest(three_sources, full_refresh=True)
    assert failed.rebuild == "full refresh" and failed.version != live
    assert failed.released.startswith("not live, it lacks what failed")
    assert open_store(three_sources).version == live  # readers still see every source
    assert len(by_source(three_sources)["kb"]) == 2

    site.status["/robots.txt"] = 200
    finished = run_ingest(three_sources, full_refresh=True)
    # The same new version, finished: what the first run wrote is not written again.
    assert finished.version == failed.version and finished.released.startswith("live")
    assert (finished.unchanged, finished.added + finished.changed) == (SAMPLE_COUNT + 2, 2)
    assert open_store(three_sources).version == finished.version
    assert {source: len(ids) for source, ids in by_source(three_sources).items()} == {
        "local": SAMPLE_COUNT,
        "handbook": 2,
        "kb": 2,
    }


def test_a_run_can_read_some_sources_only(three_sources: Settings, docs: Path) -> None:
    run_ingest(three_sources)
    (docs / "faq.txt").unlink()
    only_kb = run_ingest(three_sources, sources=["kb"])
    assert (only_kb.unchanged, only_kb.deleted) == (2, 0)  # local's deletion waits for its run
    assert run_ingest(three_sources, sources=["local"]).deleted == 1


def test_a_full_refresh_of_one_source_keeps_the_others(three_sources: Settings) -> None:
    run_ingest(three_sources)
    refreshed = run_ingest(three_sources, sources=["handbook"], full_refresh=True)
    assert refreshed.added == 2
    assert len(by_source(three_sources)["local"]) == SAMPLE_COUNT


def test_sources_file_mistakes_are_clear_errors(settings: Settings) -> None:
    write_sources(settings, '[[sources]]\nname = "a"\ntype = "folder"\npath = "."\npaht = "x"\n')
    with pytest.raises(ValueError, match="paht"):
        select_sources(settings)
    write_sources(settings, '[[sources]]\nname = "a"\ntype = "ftp"\n')
    with pytest.raises(ValueError, match="not a valid sources file"):
        select_sources(settings)
    write_sources(settings, '[[sources]]\nname = "a"\ntype = "folder"\npath = "."\n')
    with pytest.raises(ValueError, match=r"unknown sources \['b'\]; configured: \['a'\]"):
        select_sources(settings, ["b"])


def test_disabled_sources_run_only_when_named(settings: Settings, docs: Path) -> None:
    write_sources(
        settings,
        f'[[sources]]\nname = "off"\ntype = "folder"\npath = "{docs}"\nenabled = false\n',
    )
    assert select_sources(settings) == []
    assert [source.name for source in select_sources(settings, ["off"])] == ["off"]
