"""Retrieval evaluation: the question format, the scoring rule, and the ``eval`` command."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.answers import Source
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.evaluation.cases import CaseError, load_cases, parse_case
from {{ cookiecutter.package_name }}.evaluation.records import EvalRecords
from {{ cookiecutter.package_name }}.evaluation.runner import CaseResult, EvalRun
from {{ cookiecutter.package_name }}.evaluation.scoring import (
    Scores,
    first_relevant,
    paired_changes,
    percentile,
    sign_test,
)

from ..conftest import PROJECT

QUESTIONS = PROJECT / "tests" / "fixtures" / "questions.jsonl"
CASE = parse_case(
    {
        "id": "q1",
        "question": "How do I raise the file size limit?",
        "expected_files": ["guide/limits.html"],
        "keywords": ["MAX_FILE  BYTES"],
        "kind": "howto",
    }
)


def source(number: int, document_id: str, text: str) -> Source:
    return Source(number, "t", document_id, "", text, text[:50], 0.5, document_id, "public")


def test_a_chunk_counts_only_from_an_expected_page_and_with_a_keyword() -> None:
    ranked = [
        source(1, "local:other.html", "max_file bytes is set here"),  # wrong page
        source(2, "local:guide/limits.html", "nothing about it"),  # right page, no keyword
        source(3, "web:https://docs.example.com/guide/limits.html", "Set\n MAX_FILE bytes."),
    ]
    assert first_relevant(ranked, CASE) == 3  # case and whitespace do not matter
    assert first_relevant(ranked[:2], CASE) is None
    by_id = parse_case(
        {"question": "q", "expected_documents": ["local:other.html"], "keywords": ["max_file"]}
    )
    assert first_relevant(ranked, by_id) == 1
    assert first_relevant([source(1, "local:limits.html", "MAX_FILE BYTES")], CASE) is None


def test_scores_follow_the_rule() -> None:
    scores = Scores.of([1, 3, None, 10, 11])  # rank 11 is past the top 10: a miss
    assert scores.hits == {1: 0.2, 3: 0.4, 5: 0.4, 10: 0.6}
    assert scores.mrr == pytest.approx((1 + 1 / 3 + 1 / 10) / 5)
    assert percentile([5, 1, 4, 2, 3], 0.5) == 3 and percentile([5, 1, 4, 2, 3], 0.95) == 5


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2"),
        ('{"question": "q", "keywords": ["k"]}', "expected_files"),
        ('{"question": "q", "expected_files": ["a.md"], "keywords": []}', "keywords"),
        ('{"question": " ", "expected_files": ["a.md"], "keywords": ["k"]}', "question"),
        ('{"id": "s01", "question": "q", "expected_files": ["a.md"], "keywords": ["k"]}', "twice"),
    ],
)
def test_a_bad_question_file_names_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text(QUESTIONS.read_text().splitlines()[0] + "\n" + line + "\n")
    with pytest.raises(CaseError, match=message):
        load_cases(path)


def test_eval_scores_the_shipped_questions_and_compares_with_the_last_run(
    settings: Settings, docs: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["ingest"]).exit_code == 0
    first = runner.invoke(app, ["eval", str(QUESTIONS)])
    assert first.exit_code == 0, first.output
    assert "questions: 16 questions" in first.output and "MRR@10" in first.output
    assert "saved as evaluation run 1" in first.output
    assert "closest chunk's similarity: lowest 0." in first.output
    (run,) = [line.split() for line in first.output.splitlines() if line.startswith("all ")]
    hit_at_10 = float(run[4])
    assert hit_at_10 >= 0.9  # the sample questions are answerable from the sample docs

    second = runner.invoke(app, ["eval", str(QUESTIONS), "--no-save"])
    assert second.exit_code == 0, second.output
    assert "since the run of" in second.output and "hit@5" in second.output
    assert "saved as" not in second.output


def test_eval_fails_on_a_regression_and_on_a_bad_file(
    settings: Settings, docs: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["ingest"]).exit_code == 0
    digest = load_cases(QUESTIONS).digest
    better = EvalRun("questions", digest, {}, [CaseResult("s01", "fact", 1, 1.0, [])])
    EvalRecords(settings.feedback_url).save(better)  # a perfect earlier run: this one regressed
    result = runner.invoke(app, ["eval", str(QUESTIONS), "--no-save"])
    assert result.exit_code == 1, result.output
    assert "REGRESSION" in result.output

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "no answer key"}\n')
    refused = runner.invoke(app, ["eval", str(broken)])
    assert refused.exit_code == 2 and "broken.jsonl, line 1:" in " ".join(refused.output.split())


def test_an_experiment_changes_only_retrieval_settings_and_chunks_into_its_own_index(
    settings: Settings,
) -> None:
    from {{ cookiecutter.package_name }}.evaluation.experiments import ConfigurationError, configured

    assert configured(settings, {"top_k": 8}).collection == settings.collection
    rechunked = configured(settings, {"chunk_size": 128})
    assert rechunked.chunk_size == 128 and rechunked.collection.startswith(
        f"{settings.collection}_eval_"
    )
    with pytest.raises(ConfigurationError, match="cannot change collection"):
        configured(settings, {"collection": "docs", "top_k": 3})
    with pytest.raises(ConfigurationError, match="invalid configuration"):
        configured(settings, {"top_k": 0})


def test_answers_rated_helpful_become_proposed_cases_once(
    settings: Settings, tmp_path: Path
) -> None:
    from {{ cookiecutter.package_name }}.answers import Answer
    from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore

    store = FeedbackStore(settings.feedback_url)
    cited = source(
        1, "local:chunking.rst", "The code strategy keeps functions whole: use it for code."
    )
    other = source(2, "local:faq.txt", "Ratings are stored with the question.")
    question = "Which chunking strategy suits a repository of code?"
    helpful = store.record_interaction(
        Answer(question, "The code strategy [1].", [cited, other], "llm", "m", None, 90)
    )
    store.record_rating(helpful, 1)
    store.record_rating(helpful, 1)
    once = store.record_interaction(
        Answer(
            "Where are ratings kept?", "In the database [2].", [cited, other], "llm", "m", None, 90
        )
    )
    store.record_rating(once, 1)  # one vote: below the default bar of two

    output = tmp_path / "proposed.jsonl"
    result = CliRunner().invoke(app, ["propose-eval-cases", "--output", str(output)])
    assert result.exit_code == 0 and "1 new proposals" in result.output
    (case,) = load_cases(output).cases
    assert case.question == question and case.expected_documents == ("local:chunking.rst",)
    assert "strategy" in case.keywords and first_relevant([cited], case) == 1
    again = CliRunner().invoke(app, ["propose-eval-cases", "--output", str(output)])
    assert "0 new proposals" in again.output


def test_two_runs_are_compared_question_by_question() -> None:
    before = {"a": 2, "b": None, "c": 1, "d": 3, "e": 11}
    after = {"a": 1, "b": 4, "c": 2, "d": 3, "e": None}  # e: beyond the depth both times
    assert paired_changes(before, after) == (2, 1)
    # Ten questions up and none down cannot be chance; two up and one down can.
    assert sign_test(10, 0) == pytest.approx(1 / 1024)
    assert sign_test(2, 1) == pytest.approx(0.5)
    assert sign_test(0, 3) == 1.0
    assert sign_test(0, 0) == 1.0
