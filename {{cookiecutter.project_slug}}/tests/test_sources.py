from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.formats import html_to_markdown, rst_to_markdown
from {{ cookiecutter.package_name }}.sources import LocalFolderSource, SkippedFile, SourceDocument


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


@pytest.fixture
def messy_folder(tmp_path: Path) -> Path:
    root = tmp_path / "messy"
    write(root, "good.md", "# Good\n\nFine text.")
    write(root, "nested/page.html", "<title>Page</title><p>Hello</p>")
    write(root, "empty.md", "")
    write(root, "blank.txt", "   \n\n")
    write(root, "binary.txt", b"abc\x00\x01\x02")
    write(root, "latin1.md", "caf\xe9".encode("latin-1"))
    write(root, "big.md", "x" * 2_000)
    write(root, "image.png", b"\x89PNG")
    write(root, "only-chrome.html", "<nav>menu</nav><footer>foot</footer>")
    write(root, ".hidden.md", "# Hidden")
    (root / "nested" / "loop").symlink_to(root, target_is_directory=True)
    return root


def test_bad_files_are_reported_with_reasons_and_good_ones_read(messy_folder: Path) -> None:
    items = list(LocalFolderSource(messy_folder, max_bytes=1_000).scan())
    documents = {item.id: item for item in items if isinstance(item, SourceDocument)}
    skipped = {item.path: item.reason for item in items if isinstance(item, SkippedFile)}

    assert set(documents) == {"local:good.md", "local:nested/page.html"}
    assert documents["local:nested/page.html"].title == "Page"
    assert skipped == {
        "empty.md": "empty file",
        "blank.txt": "empty file",
        "binary.txt": "binary content",
        "latin1.md": "not valid UTF-8 (byte 3)",
        "big.md": "larger than the 1,000-byte limit (2,000 bytes)",
        "image.png": "unsupported file type '.png'",
        "only-chrome.html": "no text left after removing markup",
    }


def test_ids_are_stable_and_load_reads_one_document(messy_folder: Path) -> None:
    source = LocalFolderSource(messy_folder)
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
