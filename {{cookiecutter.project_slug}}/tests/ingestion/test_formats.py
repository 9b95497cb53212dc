"""Markdown, MDX and notebooks as docs sites write them: front matter, imports, components, cells."""

import json
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.ingestion.formats import to_markdown
from {{ cookiecutter.package_name }}.ingestion.sources import LocalFolderSource, SkippedFile, SourceDocument

pytestmark = pytest.mark.unit  # pure logic: no server, no model

HEADING_ID = (
    "{" + "#usage}"
)  # Docusaurus's custom heading id (kept apart from the template's markup)
DOCUSAURUS_PAGE = """---
title: Deploy with Docker
description: Run the whole stack on one machine.
sidebar_position: 3
---
import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';
export const versions = {
  stable: '2.1',
};

## Usage HEADING_ID

{/* maintainers: keep this page short */}
<Tabs groupId="os">
  <TabItem value="linux" label="Linux">

Run `docker compose up` and open the <Link to="/ui">UI</Link>.

  </TabItem>
</Tabs>

:::tip[Good to know]
The stack restarts on failure.
:::

```jsx
import Tabs from '@theme/Tabs';
<Tabs groupId="os" />
```
""".replace("HEADING_ID", HEADING_ID)


def test_front_matter_names_the_page_and_is_not_text() -> None:
    text, title = to_markdown(DOCUSAURUS_PAGE, "mdx")
    assert title == "Deploy with Docker"
    assert text.startswith("Run the whole stack on one machine.")  # the description opens it
    assert "sidebar_position" not in text and "---" not in text


def test_mdx_imports_exports_comments_and_component_tags_are_dropped_and_their_text_kept() -> None:
    text, _ = to_markdown(DOCUSAURUS_PAGE, "mdx")
    prose = text[: text.index("```jsx")]
    for markup in (
        "import ",
        "export ",
        "stable:",
        "maintainers",
        "<Tabs",
        "TabItem",
        "<Link",
        ":::",
    ):
        assert markup not in prose, markup
    assert "Run `docker compose up` and open the UI." in prose
    assert "## Usage\n" in prose  # the custom heading id is gone
    assert "Tip: Good to know\nThe stack restarts on failure." in prose
    # Code blocks are kept exactly as written, imports and tags included.
    assert "```jsx\nimport Tabs from '@theme/Tabs';\n<Tabs groupId=\"os\" />\n```" in text


def test_inline_code_keeps_the_tags_it_talks_about() -> None:
    text, _ = to_markdown("# Tabs\n\nWrap choices in `<Tabs>` and `<TabItem>`.\n", "mdx")
    assert "Wrap choices in `<Tabs>` and `<TabItem>`." in text


def test_a_section_heading_is_not_taken_for_the_title() -> None:
    """Docusaurus pages name themselves in front matter; their first heading is often "Usage"."""
    assert to_markdown("## Usage\n\nText.\n", "markdown")[1] is None  # the file name is used then
    assert to_markdown("# Guide\n\n## Usage\n", "markdown")[1] == "Guide"
    assert to_markdown("---\nsidebar_label: Install\n---\n## Steps\n", "markdown")[1] == "Install"


def test_toml_front_matter_and_broken_front_matter() -> None:
    text, title = to_markdown('+++\ntitle = "Hugo page"\ndraft = false\n+++\nBody.\n', "markdown")
    assert (text, title) == ("Body.\n", "Hugo page")
    text, title = to_markdown("---\ntitle: [unclosed\n---\nBody.\n", "markdown")
    assert (text, title) == ("Body.\n", None)  # dropped all the same, never embedded
    text, _ = to_markdown("Intro\n\n---\n\nAfter a rule.\n", "markdown")
    assert "Intro" in text and "After a rule." in text  # a rule further down is not front matter


def notebook(cells: list[dict[str, object]], language: str = "python") -> str:
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"language": language}}})


def test_notebooks_keep_markdown_and_code_cells_and_drop_outputs() -> None:
    text, title = to_markdown(
        notebook(
            [
                {"cell_type": "markdown", "source": ["# Quick start\n", "Load the data."]},
                {
                    "cell_type": "code",
                    "source": "df = load()\ndf.head()",
                    "outputs": [{"output_type": "stream", "text": ["SECRET OUTPUT"]}],
                },
                {"cell_type": "raw", "source": "raw cell"},
            ]
        ),
        "notebook",
    )
    assert title == "Quick start"
    assert "Load the data." in text and "```python\ndf = load()\ndf.head()\n```" in text
    assert "SECRET OUTPUT" not in text and "raw cell" not in text


def test_a_folder_reads_mdx_and_notebooks_and_reports_a_broken_notebook(tmp_path: Path) -> None:
    (tmp_path / "deploy.mdx").write_text(DOCUSAURUS_PAGE)
    (tmp_path / "intro.ipynb").write_text(
        notebook([{"cell_type": "markdown", "source": "# Intro\nHello."}])
    )
    (tmp_path / "broken.ipynb").write_text('{"cells": ')
    items = {
        item.path if isinstance(item, SkippedFile) else item.id: item
        for item in LocalFolderSource(tmp_path).scan()
    }
    deploy, intro = items["local:deploy.mdx"], items["local:intro.ipynb"]
    assert isinstance(deploy, SourceDocument) and deploy.title == "Deploy with Docker"
    assert isinstance(intro, SourceDocument) and intro.title == "Intro"
    broken = items["broken.ipynb"]
    assert isinstance(broken, SkippedFile) and "not a Jupyter notebook" in broken.reason
