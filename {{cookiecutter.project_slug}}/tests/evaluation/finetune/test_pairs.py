"""The pair builder: what a model is trained on, what is kept out of training to score it on, and
what is refused, over a real feedback database."""

from collections.abc import Sequence
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.answers import Answer, Source
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.evaluation.cases import EvalCase
from {{ cookiecutter.package_name }}.evaluation.finetune.negatives import BM25, hard_negative
from {{ cookiecutter.package_name }}.evaluation.finetune.pairs import (
    Pair,
    Passage,
    held_out_documents,
    shuffled,
    training_data,
)
from {{ cookiecutter.package_name }}.evaluation.finetune.training import batches
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore

DOCUMENTS = [f"local:page-{n}.md" for n in range(10)]
HELD = held_out_documents(DOCUMENTS, 0.3)
TRAIN = [d for d in DOCUMENTS if d not in HELD]


def source(number: int, document_id: str, text: str) -> Source:
    title = document_id.split(":")[1]
    return Source(number, title, title, "Setup", text, text[:40], 0.5, document_id, "public")


def answered(
    feedback: FeedbackStore,
    question: str,
    sources: Sequence[Source],
    *,
    raters: int = 3,
    complete: bool = True,
    text: str = "Do this [1].",
) -> int:
    """An answer citing its first source, recorded as the UI records it, rated helpful by ``raters``
    distinct people."""
    interaction = feedback.record_interaction(
        Answer(question, text, list(sources), "llm", "model-x", None, 500, complete=complete)
    )
    for rater in range(raters):
        feedback.record_rating(interaction, 1, rater=f"visitor-{rater}")
    return interaction


@pytest.fixture
def feedback(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The default sharing bar: three distinct people found an answer helpful.
    return Settings(finetune_dir=tmp_path, finetune_held_out=0.3, _env_file=None)


def no_search(text: str) -> list[Source]:
    raise AssertionError(f"nothing should be searched for, got {text!r}")


def test_the_split_holds_out_a_share_of_the_documents_the_same_way_every_time() -> None:
    assert len(HELD) == 3
    assert HELD.issubset(DOCUMENTS)
    assert held_out_documents(list(reversed(DOCUMENTS)), 0.3) == HELD
    assert len(held_out_documents(DOCUMENTS[:2], 0.1)) == 1  # never none
    assert held_out_documents([], 0.3) == set()


def test_helpful_shared_answers_become_pairs_and_held_out_questions(
    feedback: FeedbackStore, settings: Settings
) -> None:
    trained = answered(
        feedback,
        "How do I rotate the signing keys?",
        [
            source(1, TRAIN[0], "Rotate the signing keys with keyctl rotate."),
            source(2, TRAIN[1], "keys"),
        ],
    )
    answered(
        feedback,
        "Which port does the scheduler listen on?",
        [source(1, sorted(HELD)[0], "The scheduler listens on port 8793 by default.")],
        text="On port 8793 [1].",
    )
    data = training_data(feedback, settings, [], DOCUMENTS, no_search)

    assert [(p.question, p.positive.document_id, p.origin) for p in data.pairs] == [
        ("How do I rotate the signing keys?", TRAIN[0], f"feedback:{trained}")
    ]  # the cited source only
    assert data.pairs[0].positive.text.startswith("title: page-")
    assert [case.question for case in data.held_out] == ["Which port does the scheduler listen on?"]
    assert data.held_out[0].expected_documents == (sorted(HELD)[0],)
    assert "scheduler" in data.held_out[0].keywords
    assert data.feedback_through == trained + 1


def test_the_pair_builder_refuses_what_must_not_train_the_model(
    feedback: FeedbackStore, settings: Settings
) -> None:
    page = [source(1, TRAIN[0], "Restart the worker with worker restart.")]
    answered(feedback, "An answer cut off mid-sentence?", page, complete=False)
    feedback.record_interaction(  # never rated
        Answer("Unrated?", "Restart it [1].", page, "llm", "model-x", None, 500)
    )
    answered(feedback, "Rated by two people only?", page, raters=2)  # below the bar of three
    one_person = answered(feedback, "Rated three times by one person?", page, raters=0)
    for _ in range(3):
        feedback.record_rating(one_person, 1, rater="visitor-0")
    answered(feedback, "Drawn on a hidden page?", [source(1, TRAIN[1], "Old advice.")])
    feedback.set_override(TRAIN[1], "hide")
    answered(
        feedback,
        "Drawn on pages on both sides of the split?",
        [source(1, TRAIN[2], "a"), source(2, sorted(HELD)[0], "b")],
        text="Both [1] [2].",
    )
    answered(feedback, "The one that passes?", page)

    data = training_data(feedback, settings, [], DOCUMENTS, no_search)

    assert [pair.question for pair in data.pairs] == ["The one that passes?"]
    assert data.held_out == []
    assert data.left_out == {
        "it cites a hidden document": 1,
        "it cites documents on both sides of the split": 1,
    }


def test_an_approved_answer_passes_the_bar_without_ratings(
    feedback: FeedbackStore, settings: Settings
) -> None:
    page = [source(1, TRAIN[0], "Restart the worker with worker restart.")]
    approved = answered(feedback, "Approved by a maintainer?", page, raters=0)
    feedback.review(approved, "approve", "maintainer")
    data = training_data(feedback, settings, [], DOCUMENTS, no_search)
    assert [pair.question for pair in data.pairs] == ["Approved by a maintainer?"]


def test_accepted_cases_train_on_the_passage_their_keywords_find(
    feedback: FeedbackStore, settings: Settings
) -> None:
    passage = source(1, TRAIN[3], "Set max_workers to 8 in the pool section.")
    elsewhere = source(2, TRAIN[4], "Every pool lists how many workers it has.")
    cases = [
        EvalCase("c1", "How many workers at most?", (), (TRAIN[3],), ("max_workers",), "fact", ""),
        EvalCase("c2", "Scored, not trained on?", (), (sorted(HELD)[1],), ("x",), "fact", ""),
        EvalCase("c3", "Lost passage?", (), (TRAIN[5],), ("nowhere",), "fact", ""),
        EvalCase("c4", "Not in the index?", ("gone.md",), (), ("gone",), "fact", ""),
    ]
    searched: list[str] = []

    def search(text: str) -> list[Source]:
        searched.append(text)
        return [elsewhere, passage]

    data = training_data(feedback, settings, cases, DOCUMENTS, search)

    assert [(p.origin, p.positive.document_id) for p in data.pairs] == [("case:c1", TRAIN[3])]
    negative = data.pairs[0].negative
    assert negative is not None and negative.document_id == TRAIN[4]  # other page, shared words
    assert [case.id for case in data.held_out] == ["c2"]
    assert searched[0] == "max_workers"  # found by its keyword first
    assert data.left_out == {
        "its passage was not found": 1,
        "it cites no document of the index": 1,
    }


def test_a_hard_negative_shares_the_questions_words_on_another_page() -> None:
    pool = [
        Passage("local:a.md", "Rotate the signing keys every month."),
        Passage("local:b.md", "Signing keys live in the vault; rotate them with keyctl."),
        Passage("local:c.md", "The scheduler runs every minute."),
    ]
    ranker = BM25([p.text for p in pool])
    question = "How do I rotate signing keys with keyctl?"
    assert hard_negative(question, pool, ranker, {"local:b.md"}) == pool[0]
    assert hard_negative(question, pool, ranker, {"local:a.md", "local:b.md"}) is None


def test_shuffled_pairs_keep_their_questions_and_trade_passages() -> None:
    pairs = [Pair(f"q{n}", Passage(f"local:{n}", f"p{n}"), "case:x") for n in range(20)]
    control = shuffled(pairs)
    assert [p.question for p in control] == [p.question for p in pairs]
    assert sorted(p.positive.text for p in control) == sorted(p.positive.text for p in pairs)
    assert sum(a.positive != b.positive for a, b in zip(pairs, control, strict=True)) >= 15


def test_a_training_batch_never_holds_one_question_twice() -> None:
    import random

    pairs = [Pair(f"q{n % 4}", Passage("local:a", f"p{n}"), "case:x") for n in range(12)]
    made = list(batches(pairs, 4, random.Random(1)))
    assert sorted(p.positive.text for batch in made for p in batch) == sorted(
        p.positive.text for p in pairs
    )
    for batch in made:
        assert len(batch) <= 4
        assert len({p.question for p in batch}) == len(batch)
