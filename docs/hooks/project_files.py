"""MkDocs hook: pages that show a generated project's own documents, such as its SECURITY.md.

A line ``<!-- project-file: SECURITY.md -->`` is replaced by that file as the default project holds it
(its title dropped: the page has its own), and ``<!-- project-file: README.md#Ingestion -->`` by one
``##`` section of it (its heading dropped), so the site and the projects say the same thing.
"""

import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # MkDocs loads hooks by path, not as a package
from rendering import default_combination, render

INCLUDE = re.compile(r"^<!-- project-file: ([^\s#]+)(?:#(.+?))? -->$", re.MULTILINE)
LINK = re.compile(r"\[([^\]]+)\]\(([^)#:]+)\)")  # a relative link, to a file of the project
PAGES = {"SECURITY.md": "security.md"}  # project files the site has as pages of its own


def site_links(text: str) -> str:
    """Links between a project's files, made to work on the site: to its page, or named as a file."""

    def link(match: re.Match[str]) -> str:
        label, target = match.groups()
        if target in PAGES:
            return f"[{label}]({PAGES[target]})"
        return label if label.strip("`") == target else f"{label} (`{target}` in the project)"

    return LINK.sub(link, text)


def project_file(relative: str, section: str | None = None) -> str:
    text = render(relative, default_combination())
    text = site_links(text)
    if section is None:
        return re.sub(r"\A# .*\n", "", text).strip() + "\n"
    found = re.search(
        rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL
    )
    if found is None:
        raise ValueError(f"{relative} has no section '## {section}'")
    return found.group(1).strip() + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return INCLUDE.sub(lambda match: project_file(match.group(1), match.group(2)), markdown)
