"""Turn each supported file format into Markdown-style text, so one header-aware chunker serves all.

HTML keeps its headings, lists and code blocks but loses navigation, scripts and page chrome;
Markdown and MDX lose their front matter (whose title names the page), imports and component tags;
reStructuredText section titles become ``#`` headings; notebooks keep their Markdown and code cells;
PDF pages become "Page N" sections; source code becomes one fenced block.
"""

import io
import json
import re
import tomllib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

# Part of every chunk's "pipeline" tag: raise it when a converter changes what it makes of a file, and
# the next run re-reads and re-embeds every document.
FORMATS_VERSION = 3
SUFFIX_FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "mdx",
    ".ipynb": "notebook",
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
    if fmt == "notebook":
        return notebook_to_markdown(text)
    return markdown_page(text, mdx=fmt == "mdx")


_ANY_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_TOP_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


def first_heading(markdown: str, *, top_only: bool = False) -> str | None:
    match = (_TOP_HEADING if top_only else _ANY_HEADING).search(markdown)
    return match.group(1).strip() if match else None


_FRONT_MATTER = re.compile(r"\A(---|\+\+\+)[ \t]*\n(.*?)\n\1[ \t]*(\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict[str, object], str]:
    """YAML (``---``) or TOML (``+++``) front matter, as Docusaurus, MkDocs, Hugo and Jekyll write
    it, and the text after it. Front matter that does not parse is dropped all the same."""
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        return {}, text
    body = text.lstrip("\ufeff")[match.end() :]
    try:
        if match.group(1) == "+++":
            meta: object = tomllib.loads(match.group(2))
        else:
            import yaml

            meta = yaml.safe_load(match.group(2))
    except Exception:  # YAML and TOML errors, and whatever a hostile file makes a parser raise
        meta = {}
    return (meta if isinstance(meta, dict) else {}), body


def markdown_page(text: str, *, mdx: bool = False) -> tuple[str, str | None]:
    """Markdown (or MDX) as text to embed, and its title: the front matter's, else the first ``#``.

    The front matter's description opens the text. A heading below the top level is a section,
    not the page's name, so it is never taken as the title.
    """
    meta, body = split_front_matter(text)
    body = clean_markdown(body, mdx=mdx).strip()
    title = _meta_text(meta, "title") or first_heading(body, top_only=True)
    title = title or _meta_text(meta, "sidebar_label") or _meta_text(meta, "linkTitle")
    if description := _meta_text(meta, "description"):
        body = f"{description}\n\n{body}"
    return body + "\n", title


def _meta_text(meta: dict[str, object], key: str) -> str | None:
    value = meta.get(key)
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


_MDX_STATEMENT = re.compile(r"^(import|export)\s")
_MDX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.DOTALL)
_COMPONENT_TAG = re.compile(r"</?[A-Z][\w.]*(\s[^<>]*?)?/?>", re.DOTALL)
_ANY_TAG = re.compile(r"</?[A-Za-z][\w.:-]*(\s[^<>]*?)?/?>", re.DOTALL)
_HEADING_ID = re.compile(r"^(#{1,6}\s.*?)\s*[{]#[\w-]+\}\s*$")
_ADMONITION = re.compile(r"^\s*:::+\s*(\w+)?\s*(?:\[(.*?)\]|(.*))$")


def clean_markdown(text: str, *, mdx: bool = False) -> str:
    """Markdown without what a docs site renders away: custom heading ids, admonition fences, and,
    in MDX, ``import``/``export`` statements, ``{/* comments */}`` and JSX tags (their text stays).
    Code blocks are left exactly as written."""
    out: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    statement_depth = 0  # open brackets of a multi-line MDX import or export

    def flush() -> None:
        if prose:
            out.append(_clean_prose("\n".join(prose), mdx))
            prose.clear()

    for line in text.splitlines():
        marker = re.match(r"^\s*(`{3,}|~{3,})", line)
        if fence is not None:
            out.append(line)
            if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                fence = None
            continue
        if marker:
            flush()
            fence = marker.group(1)
            out.append(line)
            continue
        if mdx and (statement_depth or _MDX_STATEMENT.match(line)):
            statement_depth = max(0, statement_depth + _depth(line))
            continue
        prose.append(line)
    flush()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))


def _depth(line: str) -> int:
    return sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")


def _clean_prose(text: str, mdx: bool) -> str:
    if mdx:
        text = _MDX_COMMENT.sub("", text)
    # Inline code keeps its tags: `<Tabs>` in a sentence is about the tag.
    parts = re.split(r"(`[^`\n]*`)", text)
    tags = _ANY_TAG if mdx else _COMPONENT_TAG
    text = "".join(part if part.startswith("`") else tags.sub("", part) for part in parts)
    lines = []
    for line in text.splitlines():
        if heading := _HEADING_ID.match(line):
            line = heading.group(1)
        elif admonition := _ADMONITION.match(line):
            kind, label = admonition.group(1), admonition.group(2) or admonition.group(3)
            line = (
                f"{kind.capitalize()}: {label.strip()}" if kind and label and label.strip() else ""
            )
            line = line or (f"{kind.capitalize()}:" if kind else "")
        lines.append(line.rstrip() if line.strip() else "")
    return "\n".join(lines)


def notebook_to_markdown(raw: str) -> tuple[str, str | None]:
    """A Jupyter notebook's Markdown cells as they are and its code cells fenced; outputs are left
    out (they are results, often large, and rarely what a reader searches for).

    Raises ``ValueError`` for a file that is not a notebook.
    """
    try:
        notebook = json.loads(raw)
        cells = notebook["cells"]
        meta = notebook.get("metadata") or {}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"not a Jupyter notebook ({error})") from error
    if not isinstance(cells, list):
        raise ValueError("not a Jupyter notebook (its cells are not a list)")
    language = str((meta.get("kernelspec") or {}).get("language") or "python")
    parts = []
    for cell in cells:
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        text = "".join(source) if isinstance(source, list) else str(source)
        if not text.strip():
            continue
        if cell.get("cell_type") == "markdown":
            parts.append(clean_markdown(text))
        elif cell.get("cell_type") == "code":
            fence = "~~~~" if "```" in text else "```"
            parts.append(f"{fence}{language}\n{text.rstrip()}\n{fence}")
    body = "\n\n".join(parts)
    title = _meta_text(meta, "title") or first_heading(body, top_only=True)
    return body + "\n", title


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


# Callout boxes, by a class of their own (DocBook's "note", Sphinx's and MkDocs' "admonition note").
# Some generators, DocBook's among them, title a box with a heading element: read as a heading,
# "Note" would become the section of all the text after the box.
CALLOUT_CLASSES = frozenset(
    {"admonition", "callout", "note", "tip", "hint", "important", "warning", "caution", "danger"}
)

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
        self._boxes: list[tuple[str, int]] = []  # (tag, depth) of open callout boxes
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
        elif is_callout(attributes):
            self._boxes.append((tag, depth))
        if tag == "title":
            self._in_title = True
        elif self._hidden:
            return
        elif tag in self.HEADINGS:
            # A callout's title is bold text: the section goes on after the box.
            self.parts.append("\n\n**" if self._boxes else "\n\n" + "#" * self.HEADINGS[tag] + " ")
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
            elif tag in self.HEADINGS and self._boxes:
                self.parts.append("**\n\n")
            elif tag in self.HEADINGS or tag in self.BLOCK:
                self.parts.append("\n\n")
        for regions in (self._skipping, self._main, self._boxes):
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


def is_callout(attributes: dict[str, str]) -> bool:
    """A note, tip or warning box: one of its own class names (whole names: a "release-note"
    wrapper is no box) is a callout class."""
    return bool(CALLOUT_CLASSES & set(attributes.get("class", "").lower().split()))


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
