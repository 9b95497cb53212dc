"""MkDocs hook: the settings reference, generated at build time from the template's own ``Settings``.

``config.py`` of the generated project is rendered for every combination of options and read as
source (no import: the project's dependencies need not be installed). Each field gives a row: its
environment variable, type, default, what it does (its ``Field`` description, else the comment above
it) and the options it exists for. The page can therefore not drift from the code.
"""

import ast
import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # MkDocs loads hooks by path, not as a package
from rendering import OPTIONS, choices, combinations, render

CONFIG = "src/{{cookiecutter.package_name}}/config.py"
MARKER = "<!-- settings-reference -->"


@dataclass
class Setting:
    name: str
    type: str
    default: str
    description: str
    section: str
    env: str


@dataclass
class Row:
    setting: Setting
    defaults: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)  # default -> combos
    descriptions: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    combos: set[tuple[str, ...]] = field(default_factory=set)


def settings_of(source: str) -> Iterator[Setting]:
    """The fields of class ``Settings`` in ``source``, in order, with the section each falls in."""
    lines = source.splitlines()
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    section, shared = "General", ""
    for node in cls.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        name = node.target.id
        comment, header = comment_above(lines, node.lineno - 1)
        if header:
            section, shared, comment = header, comment, ""
        elif comment or not lines[node.lineno - 2].strip():
            shared = comment  # a comment speaks for the fields below it that it names
        default, description, env = field_parts(node)
        trailing = lines[(node.end_lineno or node.lineno) - 1].partition("  # ")[2]
        if trailing and not comment:
            comment = trailing[0].upper() + trailing[1:] + "."
        yield Setting(
            name=name,
            type=ast.unparse(node.annotation),
            default=default,
            description=description or comment or (shared if name in shared else ""),
            section=section,
            env=env or f"RAG_{name.upper()}",
        )


def comment_above(lines: list[str], index: int) -> tuple[str, str | None]:
    """The comment block right above line ``index``, and a section title if a blank line precedes
    it (a comment that opens a group of settings: its first sentence)."""
    block: list[str] = []
    i = index - 1
    while i >= 0 and lines[i].strip().startswith("#"):
        block.insert(0, lines[i].strip().lstrip("#").strip())
        i -= 1
    text = " ".join(block)
    if block and (i < 0 or not lines[i].strip()):
        title = text.split(". ", 1)[0].split(": ", 1)[0].rstrip(".")
        return text, title if len(title) <= 40 else None
    return text, None


def field_parts(node: ast.AnnAssign) -> tuple[str, str, str | None]:
    """Default (as written), description, and environment variable names if aliased."""
    value = node.value
    if value is None:
        return "required", "", None
    if not (isinstance(value, ast.Call) and getattr(value.func, "id", "") == "Field"):
        return ast.unparse(value), "", None
    keywords = {k.arg: k.value for k in value.keywords}
    default = ast.unparse(value.args[0]) if value.args else ""
    if "default_factory" in keywords:
        default = f"{ast.unparse(keywords['default_factory'])}()"
    description = keywords.get("description")
    text = description.value if isinstance(description, ast.Constant) else ""
    alias = keywords.get("validation_alias")
    env = None
    if isinstance(alias, ast.Call):
        env = " or ".join(a.value for a in alias.args if isinstance(a, ast.Constant))
    return default or "required", str(text), env


def rows() -> list[Row]:
    found: dict[str, Row] = {}
    for combo in combinations():
        for setting in settings_of(render(CONFIG, combo)):
            row = found.setdefault(setting.name, Row(setting))
            row.combos.add(combo)
            row.defaults.setdefault(setting.default, set()).add(combo)
            row.descriptions.setdefault(setting.description, set()).add(combo)
    return list(found.values())


def condition(combos: set[tuple[str, ...]]) -> str:
    """The options a set of combinations stands for, such as "vector_store: chroma"; "" for all."""
    everything = combinations()
    if combos >= set(everything):
        return ""
    values = [sorted({combo[i] for combo in combos}) for i in range(len(OPTIONS))]
    options = choices()
    if set(itertools.product(*values)) == combos:  # one value set per option, such as "llm: none"
        return ", ".join(
            f"{option}: {' or '.join(vals)}"
            for option, vals in zip(OPTIONS, values, strict=True)
            if len(vals) < len(options[option])
        )
    # Else a union of single options, such as "llm: openai, or embeddings: openai".
    parts, covered = [], set()
    for i, option in enumerate(OPTIONS):
        whole = [v for v in options[option] if {c for c in everything if c[i] == v} <= combos]
        if whole:
            parts.append(f"{option}: {' or '.join(whole)}")
            covered |= {c for c in everything if c[i] in whole}
    if covered == combos:
        return ", or ".join(parts)
    return "; ".join(sorted(", ".join(combo) for combo in combos))


def cell(text: str) -> str:
    """Text that stays in its table cell and shows as written."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def varying(values: dict[str, set[tuple[str, ...]]], form: str) -> str:
    """One value, or each value with the options it goes with."""
    if len(values) == 1:
        return form.format(cell(next(iter(values))))
    return "<br>".join(
        f"{form.format(cell(value))} ({condition(combos)})" for value, combos in values.items()
    )


def reference() -> str:
    out: list[str] = []
    section = None
    for row in rows():
        setting = row.setting
        if setting.section != section:
            section = setting.section
            out += [
                "",
                f"## {section}",
                "",
                "| variable | type | default | what it does |",
                "|---|---|---|---|",
            ]
        applies = condition(row.combos)
        what = varying(row.descriptions, "{}") + (f" *Only with {applies}.*" if applies else "")
        default = varying(row.defaults, "`{}`")
        out.append(f"| `{setting.env}` | `{cell(setting.type)}` | {default} | {what.strip()} |")
    return "\n".join(out) + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, reference())
    return markdown
