from pathlib import Path

from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import Settings


def test_ingest_then_ask_from_the_command_line(settings: Settings, docs: Path) -> None:
    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", str(docs)])
    assert ingested.exit_code == 0, ingested.output
    assert "added 7, changed 0, deleted 0" in ingested.output

    asked = runner.invoke(app, ["ask", "How do I choose a chunking strategy?"])
    assert asked.exit_code == 0, asked.output
    assert "chunking.rst" in asked.output


def test_an_empty_question_exits_with_a_message(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["ask", " "])
    assert result.exit_code == 2 and "type a question" in result.output
