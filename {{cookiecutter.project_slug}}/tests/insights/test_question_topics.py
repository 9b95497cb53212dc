"""Question topics over a real feedback database and the real embedding model: from the questions
people asked to the topics, the gaps, ``topics`` and ``gaps`` on the command line."""

{% if cookiecutter.llm != "none" -%}
import json
{% endif -%}
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
{%- if cookiecutter.llm != "none" %}
from typing import Any, ClassVar
{%- endif %}

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.answers import Answer, Source, Trace
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.feedback.schema import question_vectors
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.insights.question_topics import current_gaps, run_question_topics
{# a blank line between the project's imports and the tests' #}
{%- if cookiecutter.llm != "none" %}
from ..answering.test_engine import RephrasingServer
from ..conftest import PROJECT, stub_llm
{%- else %}
from ..conftest import PROJECT
{%- endif %}

pytestmark = pytest.mark.slow

SUBJECTS = {
    "passwords": [
        "How do I reset my password?",
        "I forgot my password, what now?",
        "Where can I change my password?",
        "The password reset email never arrives",
        "Can an admin reset a user's password?",
        "How long must a password be?",
        "My password reset link has expired",
        "How often do passwords have to be changed?",
    ],
    "backups": [
        "How do I back up the database?",
        "Where are the nightly backups stored?",
        "How do I restore a backup?",
        "Can backups be encrypted?",
        "How long are database backups kept?",
        "How do I restore the database from last night's backup?",
        "Do backups include uploaded files?",
        "How do I schedule a backup every hour?",
    ],
    "invoices": [
        "How do I download an invoice?",
        "Can I get my invoices as PDF?",
        "Where do I change the billing address on invoices?",
        "Why is my invoice amount wrong?",
        "How do I pay an invoice by bank transfer?",
        "Are invoices sent by email every month?",
        "Can I add a VAT number to my invoices?",
        "Where can I see past invoices?",
    ],
}
# Below this similarity the docs do not seem to cover a question. Embeddings from an API default to
# no bar at all (their similarities run in another range), so the tests set one for every project.
WEAK_BAR = 0.2


@pytest.fixture
def settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The project's test settings with ``WEAK_BAR``, for the command line too."""
    monkeypatch.setenv("RAG_MIN_SIMILARITY", str(WEAK_BAR))
    return settings.model_copy(update={"min_similarity": WEAK_BAR})


GUIDE = Source(1, "Guide", "guide.md", "", "Text.", "Text.", 0.9, "local:guide.md", "public")


def seed(settings: Settings) -> FeedbackStore:
    """Each subject's questions, each from someone else: passwords answered well, backups not
    covered by the docs (low similarity), invoices rated not helpful."""
    store = FeedbackStore(settings.feedback_url)
    for subject, questions in SUBJECTS.items():
        for n, question in enumerate(questions):
            trace = Trace()
            trace.similarity = 0.05 if subject == "backups" else 0.7
            answered = Answer(question, "See [1].", [GUIDE], "passages", None, None, 9, trace=trace)
            interaction = store.record_interaction(answered, asker=f"client:{subject}{n}")
            score = {"passwords": 1, "backups": 0, "invoices": -1}[subject]
            if score:
                store.record_rating(interaction, score, rater=f"client:{subject}{n}")
    return store


def test_the_periods_questions_make_topics_and_the_uncovered_ones_gaps(settings: Settings) -> None:
    store = seed(settings)
    run = run_question_topics(settings, datetime.now(UTC) - timedelta(days=1))
    assert run.id is not None and run.questions == 24
    by_subject = {
        subject: next(t for t in run.topics if set(t.examples) <= set(questions))
        for subject, questions in SUBJECTS.items()
    }
    assert len(run.topics) == 3, run.as_text()
    passwords, backups, invoices = by_subject.values()
    assert (passwords.helpful_rate, passwords.weak_rate) == (1.0, 0.0)
    assert backups.weak_rate == 1.0 and invoices.unhelpful_rate == 1.0
    assert any("password" in word for word in passwords.keywords)
    assert all(t.askers == 8 and len(t.examples) == 3 for t in run.topics)

    latest, found = current_gaps(settings)
    assert latest is not None and latest.id == run.id
    assert {t.label for t in found} == {backups.label, invoices.label}
    # The vectors are kept: the next run embeds nothing again.
    with store.engine.connect() as connection:
        kept = connection.execute(select(func.count()).select_from(question_vectors)).scalar()
    assert kept == 24
    again = run_question_topics(settings, datetime.now(UTC) - timedelta(days=1))
    assert [t.questions for t in again.topics] == [t.questions for t in run.topics]


def test_topics_and_gaps_on_the_command_line(settings: Settings) -> None:
    runner = CliRunner()
    assert "no topics yet" in runner.invoke(app, ["gaps"]).output
    empty = runner.invoke(app, ["topics", "--since", "1d"])
    assert empty.exit_code == 0 and "no questions yet" in empty.output
    seed(settings)
    shown = runner.invoke(app, ["topics", "--since", "1d"])
    assert shown.exit_code == 0, shown.output
    assert "24 questions, 3 topics" in shown.output and "from 8 people" in shown.output
    listed = runner.invoke(app, ["gaps"])
    assert "100% not covered by the docs" in listed.output
    assert "closest documents: local:guide.md" in listed.output
    bad = runner.invoke(app, ["topics", "--since", "soon"])
    assert bad.exit_code == 2 and "neither a period" in bad.output


def test_the_seeding_script_writes_traffic_that_reports_and_topics_read(
    settings: Settings, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'seeded.db'}"
    script = PROJECT / "scripts" / "seed_interactions.py"
    options = ["--count", "600", "--days", "3", "--topics", "12", "--database", database]
    seeded = subprocess.run([sys.executable, str(script), *options], capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr
    assert "wrote 600 interactions" in seeded.stdout
    usage = FeedbackStore(database).usage(datetime.now(UTC) - timedelta(days=4))
    assert usage.questions == 600 and len(usage.days) >= 3 and usage.cost > 0
    assert {"embed", "llm_total"} <= set(usage.stage_ms)
    seeded_settings = settings.model_copy(update={"feedback_db_url": database})
    run = run_question_topics(seeded_settings, datetime.now(UTC) - timedelta(days=4))
    assert len(run.topics) >= 6 and all(topic.askers >= 3 for topic in run.topics)
    assert any(topic.weak_rate > 0.5 for topic in run.topics)  # the seeded gaps show
{%- if cookiecutter.llm != "none" %}


class NamingServer(RephrasingServer):
    """A language model that names every topic the same way."""

    requests: ClassVar[list[dict[str, Any]]] = []
    reply = "Account questions\nThese are all about accounts."


def test_a_language_model_names_each_topic_from_its_key_words_and_examples(
    settings: Settings,
) -> None:
    seed(settings)
    with stub_llm(settings, NamingServer) as named:
        run = run_question_topics(named, datetime.now(UTC) - timedelta(days=1))
    assert [t.label for t in run.topics] == ["Account questions"] * 3  # its first line only
    assert run.figures["labelled_by"] == "language model"
    prompts = [json.dumps(request["messages"]) for request in NamingServer.requests]
    assert len(prompts) == 3 and all("<questions>" in prompt for prompt in prompts)
    assert any("How do I reset my password?" in prompt for prompt in prompts)
{%- endif %}
