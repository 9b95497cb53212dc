import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.answers import Answer, Source, Trace
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import Account, Settings
from {{ cookiecutter.package_name }}.feedback.sharing import Bar
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.web.accounts import verify_password


def test_ingest_then_ask_from_the_command_line(settings: Settings, docs: Path) -> None:
    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", str(docs)])
    assert ingested.exit_code == 0, ingested.output
    assert "added 7, changed 0, deleted 0" in ingested.output

    asked = runner.invoke(app, ["ask", "How do I choose a chunking strategy?"])
    assert asked.exit_code == 0, asked.output
    assert "chunking.rst" in asked.output

{%- if cookiecutter.embeddings == "local" %}


def test_an_ingest_that_fails_documents_exits_with_an_error(
    settings: Settings, docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For scripts and `make ingest`: a model that cannot load is a failure, not an empty index."""
    (tmp_path / "no-model").mkdir()
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", str(tmp_path / "no-model"))
    result = CliRunner().invoke(app, ["ingest", str(docs)])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())  # as the terminal's width wrapped it
    assert "skipped 0, failed 7" in said and "chunking failed" in said
{%- endif %}


def test_an_empty_question_exits_at_once_with_a_message(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from {{ cookiecutter.package_name }}.answering import live_index

    def no_model(*args: object) -> None:
        raise AssertionError("the question should be refused before anything loads")

    monkeypatch.setattr(live_index, "embedding_model", no_model)
    result = CliRunner().invoke(app, ["ask", " "])
    assert result.exit_code == 2 and "type a question" in result.output


def test_sources_are_listed_and_removed(settings: Settings, docs: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    other = tmp_path / "runbooks"
    other.mkdir()
    (other / "oncall.md").write_text("# On call\n\nPage the database team first.\n")
    assert runner.invoke(app, ["ingest", str(other)]).exit_code == 0
    listed = runner.invoke(app, ["sources"])
    assert "local: 0 documents (configured)" in listed.output
    assert "folder-runbooks-" in listed.output and "1 documents (not configured" in listed.output
    name = next(w for w in listed.output.split() if w.startswith("folder-runbooks-")).rstrip(":")
    removed = runner.invoke(app, ["remove-source", name])
    assert removed.exit_code == 0 and "deleted 1 documents" in removed.output


def test_answers_print_no_terminal_control_sequences(settings: Settings, docs: Path) -> None:
    (docs / "evil.md").write_text(
        "# Pager duty\n\nThe pager rotates weekly.\x1b]0;pwned\x07\x1b[2J\x9b31m Ask the SRE team.\n"
    )
    runner = CliRunner()
    assert runner.invoke(app, ["ingest"]).exit_code == 0
    asked = runner.invoke(app, ["ask", "How often does the pager rotate?"])
    assert asked.exit_code == 0 and "rotates weekly" in asked.output
    assert not any(ch in asked.output for ch in "\x1b\x07\x9b")


def test_a_maintainer_reviews_approves_and_rejects_answers(settings: Settings) -> None:
    feedback = FeedbackStore(settings.feedback_url)
    source = Source(
        1, "Guide", "guide.md", "", "Use pip.", "Use pip.", 0.8, "local:guide.md", "public"
    )
    answer = Answer("How to install?", "Use pip [1].", [source], "llm", "m", None, 5)
    interaction = feedback.record_interaction(answer)
    feedback.record_rating(interaction, 1, rater="client:a")
    runner = CliRunner()
    listed = runner.invoke(app, ["review"])
    assert f"{interaction} net +1, 1 raters How to install?" in " ".join(listed.output.split())
    assert runner.invoke(app, ["approve", str(interaction)]).exit_code == 0
    assert feedback.recent_good_questions(bar=Bar(min_raters=3)) == ["How to install?"]
    assert runner.invoke(app, ["reject", str(interaction)]).exit_code == 0
    assert feedback.recent_good_questions() == []
    missing = runner.invoke(app, ["approve", "999"])
    assert missing.exit_code == 2 and "no interaction with id 999" in missing.output


def test_report_prints_a_periods_figures_as_text_or_json(settings: Settings) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["report"])
    assert empty.exit_code == 0 and "no questions yet" in empty.output
    store = FeedbackStore(settings.feedback_url)
    source = Source(1, "Guide", "guide.md", "", "Text.", "Text.", 0.9, "local:guide.md", "public")
    answered = Answer("How?", "Use it [1].", [source], "llm", "m", None, 200)
    answered.trace = Trace({"embed": 5.0, "llm_total": 150.0}, 900, 100, price=(1.0, 2.0))
    store.record_rating(store.record_interaction(answered), 1)

    text = runner.invoke(app, ["report", "--since", "1d"])
    assert text.exit_code == 0, text.output
    assert "1 questions (llm 1)" in text.output and "cited: local:guide.md (1)" in text.output
    as_json = runner.invoke(app, ["report", "--since", "1h", "--format", "json"])
    figures = json.loads(as_json.output)
    assert (figures["questions"], figures["helpful_rate"]) == (1, 1.0)
    assert figures["cost"] == pytest.approx(0.0011)
    assert figures["stage_ms"]["llm_total"] == {"p50": 150.0, "p95": 150.0}
    bad = runner.invoke(app, ["report", "--since", "last tuesday"])
    assert bad.exit_code == 2 and "neither a period" in bad.output


def test_hash_password_prints_a_hash_the_settings_take(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["hash-password"], input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0 and "long enough pw" not in result.output
    password_hash = result.output.strip().splitlines()[-1]
    assert verify_password("long enough pw", password_hash)
    Account(password_hash=password_hash)  # accepted by RAG_AUTH_USERS
    short = CliRunner().invoke(app, ["hash-password"], input="short\nshort\n")
    assert short.exit_code == 2 and "a password needs 10 to 1024 characters" in short.output
    piped = CliRunner().invoke(app, ["hash-password", "--password-stdin"], input="long enough pw\n")
    assert piped.exit_code == 0 and verify_password("long enough pw", piped.output.strip())
