"""Questions grouped into topics: clustered by meaning, named by their most telling words (c-TF-IDF),
and counted: how many asked, how their answers were rated, how often the docs did not cover them.

Agglomerative clustering (the default) merges questions while they are closer than a distance; it
keeps every pair's distance in memory (about 0.45 GB for 10,000 questions). HDBSCAN finds dense
groups in linear memory, but split questions about one subject by their phrasing: on questions whose
subject is known it agreed with the subjects far less (``scripts/benchmark_topics.py`` compares the
two). HDBSCAN works on vectors reduced to ``REDUCED_DIMENSIONS``: density-based clustering is slow
and less reliable in a few hundred dimensions.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import HDBSCAN, AgglomerativeClustering
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from ..security.redaction import redact
from .asked import Asked

REDUCED_DIMENSIONS = 32
MIN_ASKERS = 3  # a topic fewer distinct people asked about is never shown: it could name them
EXAMPLES = 3
KEYWORDS = 5
DOCUMENTS = 3
NOISE = -1
AGGLOMERATIVE_DISTANCE = 0.6
# English stop words, and what people say around a question: no topic is named "thanks".
POLITENESS = {"hi", "hello", "hey", "thanks", "thank", "please", "help", "sorry", "question"}
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | POLITENESS)


@dataclass(frozen=True)
class Topic:
    label: str
    keywords: list[str]
    questions: int
    askers: int
    helpful: int  # questions whose answers were rated helpful, on balance
    unhelpful: int
    weak: int  # questions the documentation did not seem to cover
    examples: list[str]  # the questions nearest the topic's centre, redacted
    documents: list[str] = field(default_factory=list)  # shown most by its answers

    @property
    def weak_rate(self) -> float:
        return self.weak / self.questions

    @property
    def unhelpful_rate(self) -> float:
        rated = self.helpful + self.unhelpful
        return self.unhelpful / rated if rated else 0.0

    @property
    def helpful_rate(self) -> float | None:
        rated = self.helpful + self.unhelpful
        return self.helpful / rated if rated else None

    @property
    def gap_score(self) -> float:
        """How much this topic needs documentation: the share of its questions the docs did not
        cover or whose answers did not help, weighed by how many asked (a gap many hit comes first)."""
        return max(self.weak_rate, self.unhelpful_rate) * np.log1p(self.askers)


def unit_length(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def reduced(vectors: np.ndarray) -> np.ndarray:
    """Unit-length vectors in at most ``REDUCED_DIMENSIONS`` dimensions."""
    unit = unit_length(vectors)
    dimensions = min(REDUCED_DIMENSIONS, unit.shape[0] - 1, unit.shape[1])
    if dimensions < unit.shape[1] and dimensions >= 2:
        unit = PCA(n_components=dimensions, random_state=0).fit_transform(unit)
    return np.asarray(unit, dtype=np.float64)


def cluster(vectors: np.ndarray, min_size: int, method: str = "agglomerative") -> np.ndarray:
    """A topic number per vector (``NOISE`` for none) by ``method``: ``hdbscan``, or
    ``agglomerative`` (average linkage, merging while groups are closer than
    ``AGGLOMERATIVE_DISTANCE`` by cosine; groups under ``min_size`` become noise)."""
    if len(vectors) < max(min_size, 2):
        return np.full(len(vectors), NOISE)
    if method == "agglomerative":  # on the model's own vectors: PCA's centring distorts cosines
        unit = unit_length(vectors)
        labels = AgglomerativeClustering(
            n_clusters=None,
            distance_threshold=AGGLOMERATIVE_DISTANCE,
            metric="cosine",
            linkage="average",
        ).fit_predict(unit)
        labels[np.bincount(labels)[labels] < min_size] = NOISE
        return np.asarray(labels)
    if method != "hdbscan":
        raise ValueError(f"unknown clustering method {method!r}: hdbscan or agglomerative")
    clusterer = HDBSCAN(min_cluster_size=min_size, min_samples=min(min_size, 5), copy=True)
    return np.asarray(clusterer.fit_predict(reduced(vectors)))


def keywords(groups: Sequence[Sequence[str]], top: int = KEYWORDS) -> list[list[str]]:
    """Each group's most telling words by class-based TF-IDF (as BERTopic names its topics): words
    frequent in the group and rare in the others; single words and pairs, English stop words left out."""
    joined = [" ".join(group) for group in groups]
    if not any(text.strip() for text in joined):
        return [[] for _ in groups]
    vectorizer = CountVectorizer(
        stop_words=STOP_WORDS, ngram_range=(1, 2), token_pattern=r"(?u)\b[a-zA-Z][\w-]+\b"
    )
    try:
        counts = vectorizer.fit_transform(joined).toarray().astype(np.float64)
    except ValueError:  # nothing but stop words
        return [[] for _ in groups]
    words = vectorizer.get_feature_names_out()
    frequency = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    average_words = counts.sum() / len(groups)
    rarity = np.log1p(average_words / np.maximum(counts.sum(axis=0), 1))
    scores = frequency * rarity
    named = []
    for row in scores:
        best = [str(words[i]) for i in np.argsort(-row) if row[i] > 0]
        # A pair makes its two words redundant: keep "airflow dag", drop "airflow" and "dag" after it.
        chosen: list[str] = []
        for word in best:
            if not any(word in other.split() or other in word.split() for other in chosen):
                chosen.append(word)
            if len(chosen) == top:
                break
        named.append(chosen)
    return named


def describe(asked: Sequence[Asked], vectors: np.ndarray, labels: np.ndarray) -> list[Topic]:
    """The topics that ``labels`` (one per question) form, most asked first; noise is no topic, and
    nor is a group fewer than ``MIN_ASKERS`` distinct people asked about."""
    members = [
        [int(i) for i in np.flatnonzero(labels == label)]
        for label in sorted(set(labels.tolist()) - {NOISE})
    ]
    members = [m for m in members if len({asked[i].asker for i in m}) >= MIN_ASKERS]
    named = keywords([[asked[i].question for i in m] for m in members])
    topics = []
    for indices, words in zip(members, named, strict=True):
        group = [asked[i] for i in indices]
        points = vectors[indices]
        nearest = [indices[int(k)] for k in np.argsort(-(points @ points.mean(axis=0)))]
        examples = list(dict.fromkeys(redact(asked[i].question)[0] for i in nearest))[:EXAMPLES]
        shown = Counter(doc for item in group for doc in item.documents[:DOCUMENTS] if doc)
        topics.append(
            Topic(
                label=" / ".join(words[:3]) or examples[0][:60],
                keywords=words,
                questions=len(group),
                askers=len({item.asker for item in group}),
                helpful=sum(1 for item in group if item.rating > 0),
                unhelpful=sum(1 for item in group if item.rating < 0),
                weak=sum(1 for item in group if item.weak),
                examples=examples,
                documents=[doc for doc, _ in shown.most_common(DOCUMENTS)],
            )
        )
    return sorted(topics, key=lambda topic: (-topic.questions, topic.label))


def gaps(topics: Sequence[Topic], at_least: float, limit: int) -> list[Topic]:
    """The topics whose weak-evidence or unhelpful rate is ``at_least``, the most needed first."""
    needing = [t for t in topics if max(t.weak_rate, t.unhelpful_rate) >= at_least]
    return sorted(needing, key=lambda topic: -topic.gap_score)[:limit]
