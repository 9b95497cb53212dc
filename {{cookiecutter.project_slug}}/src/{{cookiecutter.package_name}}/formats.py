"""Turn each supported file format into Markdown-style text, so one header-aware chunker serves all.

HTML keeps its headings, lists and code blocks but loses navigation, scripts and page chrome;
reStructuredText section titles become ``#`` headings; PDF pages become "Page N" sections; source
code becomes one fenced block.
"""

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

# Part of every chunk's "pipeline" tag: raise it when a converter changes what it makes of a file, and
# the next run re-reads and re-embeds every document.
FORMATS_VERSION = 1
SUFFIX_FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".pdf": "pdf",
}
CODE_LANGUAGES = {
    ".py": "python",
    ".js": "javascript",
    ".ts": "typescript",
    ".go": "go",
    ".java": "java",
    ".rs": "rust",
    ".rb": "ruby",
    ".sh": "bash",
    ".sql": "sql",
    ".c": "c",
    ".cpp": "cpp",
    ".h": "c",
}


def format_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return "code" if suffix in CODE_LANGUAGES else SUFFIX_FORMATS.get(suffix)


def to_markdown(text: str, fmt: str) -> tuple[str, str | None]:
    """Return (markdown text, title if the document names one)."""
    if fmt == "html":
        return html_to_markdown(text)
    if fmt == "rst":
        text = rst_to_markdown(text)
    return text, first_heading(text)


def first_heading(markdown: str) -> str | None:
    match = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", markdown, flags=re.MULTILINE)
    return match.group(1).strip() if match else None


_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")


def rst_to_markdown(text: str) -> str:
    """Turn underlined (and over-and-underlined) section titles into Markdown headings.

    reStructuredText ranks heading styles by the order they first appear in the file.
    """
    lines = text.splitlines()
    styles: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        overlined = (
            _RST_ADORNMENT.match(line)
            and i + 2 < len(lines)
            and lines[i + 1].strip()
            and lines[i + 2].strip() == line.strip()
        )
        underlined = (
            line.strip()
            and not _RST_ADORNMENT.match(line)
            and i + 1 < len(lines)
            and _RST_ADORNMENT.match(lines[i + 1])
            and len(lines[i + 1].strip()) >= len(line.strip())
        )
        if overlined or underlined:
            title = lines[i + 1] if overlined else line
            adornment = lines[i + 1 if underlined else i].strip()[0]
            style = ("over" if overlined else "under") + adornment
            if style not in styles:
                styles.append(style)
            level = min(styles.index(style) + 1, 6)
            out.append("#" * level + " " + title.strip())
            i += 3 if overlined else 2
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


_BOILERPLATE = re.compile(
    r"(^|[\s_-])(nav|navbar|navheader|navfooter|navigation|menu|sidebar|breadcrumbs?|footer|"
    r"site-header|cookie-banner|skip-link|toc-sidebar)($|[\s_-])",
    re.IGNORECASE,
)


class _HtmlToMarkdown(HTMLParser):
    """Markdown from HTML: page chrome is dropped and, where the page marks its main content
    (``<main>``, ``<article>``, ``role="main"``), only that is kept."""

    SKIP: ClassVar[set[str]] = {
        "script",
        "style",
        "nav",
        "footer",
        "header",
        "aside",
        "noscript",
        "svg",
        "form",
        "template",
    }
    BLOCK: ClassVar[set[str]] = {
        "p",
        "div",
        "section",
        "article",
        "main",
        "table",
        "tr",
        "ul",
        "ol",
        "dl",
        "blockquote",
    }
    HEADINGS: ClassVar[dict[str, int]] = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
    VOID: ClassVar[set[str]] = {"br", "hr", "img", "input", "link", "meta", "wbr", "source", "col"}

    def __init__(self, main_only: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: str | None = None
        self.canonical: str | None = None
        self.links: list[str] = []
        self._main_only = main_only
        self._open: dict[str, int] = {}  # how deeply each tag is nested right now
        self._skipping: list[tuple[str, int]] = []  # (tag, depth) of open boilerplate elements
        self._main: list[tuple[str, int]] = []  # (tag, depth) of open main-content elements
        self._in_title = False
        self._in_pre = False

    @property
    def _hidden(self) -> bool:
        return bool(self._skipping) or (self._main_only and not self._main)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        elif tag == "link" and "canonical" in attributes.get("rel", "").split():
            self.canonical = attributes.get("href") or None
        if tag in self.VOID:
            if tag == "br" and not self._hidden:
                self.parts.append("\n")
            return
        depth = self._open[tag] = self._open.get(tag, 0) + 1
        if is_boilerplate(tag, attributes):
            self._skipping.append((tag, depth))
        elif is_main_content(tag, attributes):
            self._main.append((tag, depth))
        if tag == "title":
            self._in_title = True
        elif self._hidden:
            return
        elif tag in self.HEADINGS:
            self.parts.append("\n\n" + "#" * self.HEADINGS[tag] + " ")
        elif tag == "pre":
            self._in_pre = True
            self.parts.append("\n\n```\n")
        elif tag in {"li", "dt"}:
            self.parts.append("\n- ")
        elif tag in {"dd", "td", "th"}:
            self.parts.append("\n" if tag == "dd" else " | ")
        elif tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        depth = self._open.get(tag, 0)
        if not depth:
            return  # a stray end tag in broken HTML
        self._open[tag] = depth - 1
        if tag == "title":
            self._in_title = False
        elif not self._hidden:
            if tag == "pre":
                self._in_pre = False
                self.parts.append("\n```\n\n")
            elif tag in self.HEADINGS or tag in self.BLOCK:
                self.parts.append("\n\n")
        for regions in (self._skipping, self._main):
            if regions and regions[-1] == (tag, depth):
                regions.pop()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = (self.title or "") + data
        elif not self._hidden:
            self.parts.append(data if self._in_pre else re.sub(r"\s+", " ", data))


def is_boilerplate(tag: str, attributes: dict[str, str]) -> bool:
    """Navigation, headers, footers and sidebars, by tag, ARIA role, or class and id names."""
    if tag in _HtmlToMarkdown.SKIP:
        return True
    if attributes.get("role") in {"navigation", "banner", "contentinfo", "complementary"}:
        return True
    names = f"{attributes.get('class', '')} {attributes.get('id', '')}"
    return bool(_BOILERPLATE.search(names))


def is_main_content(tag: str, attributes: dict[str, str]) -> bool:
    return tag in {"main", "article"} or attributes.get("role") == "main"


_MAIN_MARKER = re.compile(r"<(main|article)[\s>]|role\s*=\s*[\"']?main\b", re.IGNORECASE)


@dataclass(frozen=True)
class HtmlPage:
    text: str
    title: str | None
    canonical: str | None  # as the page gives it, maybe relative
    links: list[str]


def parse_html(html: str) -> HtmlPage:
    parser = _HtmlToMarkdown(main_only=bool(_MAIN_MARKER.search(html)))
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    title = " ".join(parser.title.split()) if parser.title else None
    return HtmlPage(text, title or first_heading(text), parser.canonical, parser.links)


def html_to_markdown(html: str) -> tuple[str, str | None]:
    page = parse_html(html)
    return page.text, page.title


def code_to_markdown(code: str, name: str, language: str) -> str:
    """A source file as one fenced block under its file name, so the chunkers see code as code."""
    fence = "~~~~" if "```" in code else "```"
    return f"# {name}\n\n{fence}{language}\n{code.rstrip()}\n{fence}\n"


def pdf_to_markdown(raw: bytes) -> tuple[str, str | None]:
    """Text of each page under a "Page N" heading, so chunks can cite their page.

    Raises ``ValueError`` for a file that is not a readable PDF.
    """
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except Exception as error:  # pypdf raises many kinds of error on broken files
        raise ValueError(f"not a readable PDF ({error})") from error
    text = "\n\n".join(
        f"## Page {number}\n\n{page.strip()}"
        for number, page in enumerate(pages, 1)
        if page.strip()
    )
    return text, (title or "").strip() or None
