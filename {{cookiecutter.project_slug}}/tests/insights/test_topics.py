"""Topics from questions: clustering, key words, the three-askers rule and the ranking of gaps."""

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.insights.asked import Asked
{%- if cookiecutter.llm != "none" %}
from {{ cookiecutter.package_name }}.insights.labels import cleaned
{%- endif %}
from {{ cookiecutter.package_name }}.insights.topics import NOISE, Topic, cluster, describe, gaps, keywords

pytestmark = pytest.mark.unit


def blobs(centres: int, per_centre: int, dimensions: int = 64, spread: float = 0.05) -> np.ndarray:
    """``per_centre`` vectors around each of ``centres`` random directions, grouped in order."""
    generator = np.random.default_rng(7)
    middles = generator.normal(size=(centres, dimensions))
    noise = generator.normal(scale=spread, size=(centres * per_centre, dimensions))
    return np.repeat(middles, per_centre, axis=0) + noise


@pytest.mark.parametrize("method", ["hdbscan", "agglomerative"])
def test_questions_close_in_meaning_share_a_topic(method: str) -> None:
    labels = cluster(blobs(4, 30), min_size=5, method=method)
    groups = [set(labels[i * 30 : (i + 1) * 30]) for i in range(4)]
    assert all(len(group) == 1 and NOISE not in group for group in groups), groups
    assert len(set(labels)) == 4


def test_too_few_questions_make_no_topic_and_an_unknown_method_is_refused() -> None:
    assert list(cluster(blobs(1, 3), min_size=5)) == [NOISE] * 3
    assert cluster(np.zeros((0, 8)), min_size=5).shape == (0,)
    with pytest.raises(ValueError, match="unknown clustering method 'kmeans'"):
        cluster(blobs(2, 10), min_size=5, method="kmeans")


def test_key_words_are_frequent_in_a_topic_and_rare_in_the_others() -> None:
    named = keywords(
        [
            ["How do I reset my password?", "I forgot my password", "password reset link expired"],
            ["How do I install it?", "install fails on macOS", "Which Python must I install?"],
        ]
    )
    assert named[0][0] in {"password", "password reset", "reset"}
    assert any("install" in word for word in named[1][:2])
    assert not set(named[0]) & set(named[1])
    assert keywords([["the and of", "a the"]]) == [[]]  # nothing but stop words


def asked(n: int, asker: str, question: str, *, rating: int = 0, weak: bool = False) -> Asked:
    return Asked(n, question, asker, rating, weak, ("local:guide.md",))


def test_a_topic_counts_askers_ratings_and_weak_evidence() -> None:
    questions = [
        asked(i, f"client:{i % 4}", f"How do I reset my password {i}?", rating=(-1, 1, 0)[i % 3])
        for i in range(12)
    ] + [asked(100 + i, f"client:{i}", f"Weak {i}", weak=True) for i in range(3)]
    vectors = np.vstack([blobs(1, 12), blobs(1, 3, spread=0.01) + 5])
    labels = np.array([0] * 12 + [1] * 3)
    first, second = describe(questions, vectors, labels)
    assert (first.questions, first.askers, first.helpful, first.unhelpful) == (12, 4, 4, 4)
    assert first.helpful_rate == 0.5 and first.weak_rate == 0.0
    assert len(first.examples) == 3 and first.documents == ["local:guide.md"]
    assert (second.questions, second.weak_rate, second.helpful_rate) == (3, 1.0, None)


def test_one_visitor_asking_a_thousand_times_is_one_asker_and_makes_no_topic() -> None:
    questions = [asked(i, "client:abc", "Where is the admin password?") for i in range(1000)]
    questions += [asked(1000 + i, f"user:{i}", "How do I sign in?") for i in range(2)]
    vectors = np.vstack([blobs(1, 1000), blobs(1, 2) + 5])
    labels = np.array([0] * 1000 + [1] * 2)
    assert describe(questions, vectors, labels) == []  # one person, then two: never shown
    # Two more people asking the first: three askers, and the topic is shown.
    questions[998:1000] = [asked(998, "user:a", "Admin password?"), asked(999, "user:b", "Admin?")]
    (topic,) = describe(questions, vectors, labels)
    assert (topic.questions, topic.askers) == (1000, 3)


def test_examples_are_redacted_even_when_stored_before_redaction_was() -> None:
    questions = [
        asked(i, f"user:{i}", f"Why is ann.lee@example.com locked out, take {i}?") for i in range(5)
    ]
    (topic,) = describe(questions, blobs(1, 5), np.zeros(5, dtype=int))
    assert all("example.com" not in example for example in topic.examples)
    assert all("[REDACTED EMAIL]" in example for example in topic.examples)


def topic(label: str, questions: int, askers: int, weak: int) -> Topic:
    return Topic(label, [label], questions, askers, 0, 0, weak, [label])


def test_gaps_are_the_topics_the_docs_cover_worst_most_asked_first() -> None:
    found = [
        topic("covered", 50, 40, weak=2),
        topic("rare gap", 10, 3, weak=9),
        topic("common gap", 60, 50, weak=30),
    ]
    unhelpful = Topic("unhelpful answers", ["x"], 20, 10, 2, 6, 0, ["x"])
    ranked = gaps([*found, unhelpful], at_least=0.3, limit=10)
    assert [t.label for t in ranked] == ["common gap", "unhelpful answers", "rare gap"]
    assert gaps(found, at_least=0.3, limit=1) == ranked[:1]
    assert gaps([], at_least=0.3, limit=5) == []
{%- if cookiecutter.llm != "none" %}


@pytest.mark.parametrize(
    ("reply", "label"),
    [
        ("Password resets\nBecause the questions...", "Password resets"),
        ('"Installing on macOS."', "Installing on macOS"),
        ("**Billing** <script>", "Billing script"),
        ("x" * 61, ""),  # too long: the key words are kept
        ("Mail ann.lee@example.com", "Mail REDACTED EMAIL"),
        ("", ""),
    ],
)
def test_a_models_label_is_one_short_clean_line(reply: str, label: str) -> None:
    assert cleaned(reply) == label
{%- endif %}
