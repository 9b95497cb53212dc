from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.ingestion.chunking import split_sections
from {{ cookiecutter.package_name }}.ingestion.formats import html_to_markdown, parse_html, rst_to_markdown
from {{ cookiecutter.package_name }}.ingestion.sources import (
    LocalFolderSource,
    SkippedFile,
    SourceDocument,
    Unchanged,
    base,
)

from ..documents import minimal_pdf, write_bad_input_corpus

pytestmark = pytest.mark.unit  # pure logic: no server, no model


def test_main_content_is_kept_and_boilerplate_by_class_is_dropped() -> None:
    html = """<html><head><link rel="canonical" href="/docs/install/"></head><body>
    <div class="navheader">Prev Up Next</div><div class="sidebar"><p>Menu</p></div>
    <div role="main"><h1>Install</h1><div class="section"><p>Run it.</p></div></div>
    <div class="site-footer"><div><p>(c) us</p></div></div><p>Outside main</p></body></html>"""
    page = parse_html(html)
    assert page.text == "# Install\n\nRun it."
    assert page.canonical == "/docs/install/"
    assert parse_html("<div class='navfooter'><div>a</div>b</div><p>kept</p>").text == "kept"


def test_html_keeps_headings_and_code_and_drops_page_chrome() -> None:
    html = """<html><head><title>Install &amp; run</title><script>track()</script></head><body>
    <nav>Home | Blog</nav><main><h1>Install</h1><p>Run   this:</p><pre>pip install x
    x --help</pre><h2>Next</h2><ul><li>One</li><li>Two</li></ul></main><footer>(c) us</footer>"""
    text, title = html_to_markdown(html)
    assert title == "Install & run"
    assert "# Install" in text and "## Next" in text
    assert "```\npip install x\n    x --help\n```" in text
    assert "- One" in text
    for chrome in ("Home | Blog", "(c) us", "track()"):
        assert chrome not in text


def test_a_callout_title_is_not_a_section_heading() -> None:
    # DocBook (the PostgreSQL manual, among others) titles a note box with a heading element.
    html = """<h2>Where to Log</h2><p>Logs go to stderr.</p>
    <div class="note"><h3 class="title">Note</h3><p>Syslog needs setup.</p></div>
    <p>The collector rotates files.</p>"""
    text, _ = html_to_markdown(html)
    assert "**Note**\n\nSyslog needs setup." in text
    sections = split_sections(text)
    assert [section.path for section in sections] == [("Where to Log",)]
    assert "The collector rotates files." in sections[0].text
    # Only a callout's own class counts: a release's box keeps its heading.
    assert parse_html('<div class="release-note"><h2>v2.0</h2><p>New.</p></div>').text == (
        "## v2.0\n\nNew."
    )


def test_broken_html_still_yields_its_text() -> None:
    text, _ = html_to_markdown("<h1>Title<p>unclosed <b>bold <div>more")
    assert "Title" in text and "unclosed bold" in text and "more" in text


def test_rst_titles_become_headings_ranked_by_first_use() -> None:
    rst = "=====\nGuide\n=====\n\nIntro\n\nPart\n----\n\ntext\n\nOther\n-----\n"
    assert rst_to_markdown(rst).split("\n\n")[:4] == ["# Guide", "Intro", "## Part", "text"]
    assert "## Other" in rst_to_markdown(rst)


def write(folder: Path, name: str, content: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def test_bad_files_are_reported_with_reasons_and_good_ones_read(tmp_path: Path) -> None:
    root = tmp_path / "messy"
    write(root, "good.md", "# Good\n\nFine text.")
    write(root, "nested/page.html", "<title>Page</title><p>Hello</p>")
    write(root, "manual.pdf", minimal_pdf([["Vacuum reclaims storage."]], "Maintenance"))
    write(root, ".hidden.md", "# Hidden")
    expected = write_bad_input_corpus(root, max_bytes=1_000)

    items = list(LocalFolderSource(root, max_bytes=1_000).scan())
    documents = {item.id: item for item in items if isinstance(item, SourceDocument)}
    skipped = {item.path: item.reason for item in items if isinstance(item, SkippedFile)}

    assert set(documents) == {"local:good.md", "local:nested/page.html", "local:manual.pdf"}
    assert documents["local:nested/page.html"].title == "Page"
    assert documents["local:manual.pdf"].title == "Maintenance"
    assert documents["local:manual.pdf"].text == "## Page 1\n\nVacuum reclaims storage."
    assert set(skipped) == set(expected)
    for path, reason in skipped.items():
        assert reason.startswith(expected[path]), path


def test_source_code_is_read_as_a_fenced_block_under_its_path(tmp_path: Path) -> None:
    write(tmp_path, "pkg/tool.py", "def run():\n    return 1\n")
    (document,) = LocalFolderSource(tmp_path).scan()
    assert isinstance(document, SourceDocument)
    assert document.title == "pkg/tool.py"
    assert document.text == "# pkg/tool.py\n\n```python\ndef run():\n    return 1\n```\n"


def test_ids_are_stable_and_load_reads_one_document(tmp_path: Path) -> None:
    write(tmp_path, "good.md", "# Good\n\nFine text.")
    write(tmp_path, "nested/page.html", "<title>Page</title><p>Hello</p>")
    source = LocalFolderSource(tmp_path)
    first = [i.id for i in source.scan() if isinstance(i, SourceDocument)]
    assert first == [i.id for i in source.scan() if isinstance(i, SourceDocument)]
    loaded = source.load("local:good.md")
    assert isinstance(loaded, SourceDocument)
    assert loaded.title == "Good" and loaded.uri == "good.md"
    with pytest.raises(ValueError, match="does not belong"):
        source.load("web:good.md")


def test_content_hash_follows_the_text(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "one")
    source = LocalFolderSource(tmp_path)
    before = source.read(path)
    path.write_text("two")
    after = source.read(path)
    assert isinstance(before, SourceDocument) and isinstance(after, SourceDocument)
    assert before.content_hash != after.content_hash


def test_files_whose_bytes_hash_as_known_are_not_converted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "same.md", "# Same\n\ntext")
    write(tmp_path, "edited.md", "# Edited\n\nold")
    source = LocalFolderSource(tmp_path)
    first = {item.id: item for item in source.scan() if isinstance(item, SourceDocument)}
    known = {doc_id: document.content_hash for doc_id, document in first.items()}
    write(tmp_path, "edited.md", "# Edited\n\nnew")

    converted: list[str] = []

    def counting_to_markdown(text: str, fmt: str) -> tuple[str, str | None]:
        converted.append(text)
        return text, None

    monkeypatch.setattr(base, "to_markdown", counting_to_markdown)
    again = list(source.scan(known))
    assert again[1] == Unchanged("local:same.md")
    assert isinstance(again[0], SourceDocument)
    assert again[0].content_hash != known["local:edited.md"]
    assert converted == ["# Edited\n\nnew"]


def test_missing_folder_is_an_error_not_an_empty_source(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(LocalFolderSource(tmp_path / "nope").scan())


def test_include_and_exclude_globs_choose_the_files(tmp_path: Path) -> None:
    for name in ("guide.md", "api/ref.md", "api/old/v1.md", "notes.txt", "drafts/wip.md"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {name}\n\ntext\n")
    source = LocalFolderSource(tmp_path, include=["*.md"], exclude=["drafts/*", "*/old/*"])
    found = [item.uri for item in source.scan() if isinstance(item, SourceDocument)]
    assert found == ["guide.md", "api/ref.md"]
