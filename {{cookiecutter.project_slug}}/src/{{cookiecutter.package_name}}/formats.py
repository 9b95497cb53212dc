"""Turn each supported file format into Markdown-style text, so one header-aware chunker serves all.

HTML keeps its headings, lists and code blocks but loses navigation, scripts and page chrome;
reStructuredText section titles become ``#`` headings.
"""

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

SUFFIX_FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
}


def format_of(path: Path) -> str | None:
    return SUFFIX_FORMATS.get(path.suffix.lower())


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


class _HtmlToMarkdown(HTMLParser):
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

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: str | None = None
        self._skip_depth = 0
        self._in_title = False
        self._in_pre = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        roles = {value for name, value in attrs if name == "role"}
        if tag in self.SKIP or roles & {"navigation", "banner", "contentinfo"}:
            self._skip_depth += 1
        elif tag == "title":
            self._in_title = True
        elif self._skip_depth:
            return
        elif tag in self.HEADINGS:
            self.parts.append("\n\n" + "#" * self.HEADINGS[tag] + " ")
        elif tag == "pre":
            self._in_pre = True
            self.parts.append("\n\n```\n")
        elif tag in {"li", "dt"}:
            self.parts.append("\n- ")
        elif tag in {"br", "dd", "td", "th"}:
            self.parts.append("\n" if tag in {"br", "dd"} else " | ")
        elif tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "title":
            self._in_title = False
        elif self._skip_depth:
            return
        elif tag == "pre":
            self._in_pre = False
            self.parts.append("\n```\n\n")
        elif tag in self.HEADINGS or tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = (self.title or "") + data
        elif not self._skip_depth:
            self.parts.append(data if self._in_pre else re.sub(r"\s+", " ", data))


def html_to_markdown(html: str) -> tuple[str, str | None]:
    parser = _HtmlToMarkdown()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    title = " ".join(parser.title.split()) if parser.title else None
    return text, title or first_heading(text)
