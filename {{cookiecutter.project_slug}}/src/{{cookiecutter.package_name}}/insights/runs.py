"""A run of question topics: the period's questions clustered, named and counted, then kept in the
feedback database, where the dashboard, ``topics`` and ``gaps`` read the latest run."""

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from ..feedback.schema import inserted_id, topic_runs, topics
from .asked import Embed, asked_since, question_matrix
from .topics import NOISE, Topic, cluster, describe

Labeller = Callable[[Sequence[Topic]], list[Topic]]


@dataclass(frozen=True)
class TopicRun:
    since: datetime
    questions: int
    topics: list[Topic]
    figures: dict[str, Any] = field(default_factory=dict)  # method, seconds, noise, hidden, ...
    id: int | None = None
    created_at: datetime | None = None

    def as_text(self, gaps: Sequence[Topic] | None = None) -> str:
        since = self.since.isoformat(timespec="minutes")
        if not self.questions:
            return f"since {since}: no questions yet"
        lines = [
            f"since {since}: {self.questions} questions, {len(self.topics)} topics "
            f"({self.figures.get('noise', 0)} questions in none)"
        ]
        for topic in self.topics if gaps is None else gaps:
            helpful = (
                "unrated" if topic.helpful_rate is None else f"{topic.helpful_rate:.0%} helpful"
            )
            lines.append(
                f"- {topic.label}: {topic.questions} questions from {topic.askers} people, "
                f"{helpful}, {topic.weak_rate:.0%} not covered by the docs"
            )
            lines += [f"    e.g. {example}" for example in topic.examples]
            if gaps is not None and topic.documents:
                lines.append(f"    closest documents: {', '.join(topic.documents)}")
        return "\n".join(lines)


def find_topics(
    engine: Engine,
    since: datetime,
    *,
    model: str,
    embed: Embed,
    weak_below: float,
    min_size: int,
    max_questions: int,
    method: str = "agglomerative",
    label: Labeller | None = None,
) -> TopicRun:
    """The topics of the questions asked since ``since`` (the newest ``max_questions``)."""
    started = time.perf_counter()
    with engine.connect() as connection:
        asked = asked_since(connection, since, weak_below, max_questions)
    vectors = question_matrix(engine, asked, model, embed)
    embedded = time.perf_counter()
    labels = cluster(vectors, min_size, method)
    found = describe(asked, vectors, labels)
    clustered = time.perf_counter()
    named = label(found) if label and found else found
    grouped = len(set(labels.tolist()) - {NOISE})
    figures = {
        "method": method,
        "min_size": min_size,
        "noise": int((labels == NOISE).sum()),
        "hidden": grouped - len(found),  # too few distinct askers to be shown
        "labelled_by": "language model" if label and found else "keywords",
        "embed_s": round(embedded - started, 2),
        "cluster_s": round(clustered - embedded, 2),
        "label_s": round(time.perf_counter() - clustered, 2),
    }
    return TopicRun(since, len(asked), named, figures)


def save_run(connection: Connection, run: TopicRun) -> int:
    run_id = inserted_id(
        connection.execute(
            topic_runs.insert().values(
                since=run.since, questions=run.questions, figures=run.figures
            )
        )
    )
    if run.topics:
        connection.execute(
            topics.insert(), [asdict(topic) | {"run_id": run_id} for topic in run.topics]
        )
    return run_id


def latest_run(connection: Connection) -> TopicRun | None:
    """The last run kept, its topics most asked first; None before the first run."""
    run = connection.execute(
        select(topic_runs).order_by(topic_runs.c.id.desc()).limit(1)
    ).one_or_none()
    if run is None:
        return None
    rows = connection.execute(
        select(topics).where(topics.c.run_id == run.id).order_by(topics.c.questions.desc())
    ).all()
    fields = Topic.__dataclass_fields__
    found = [Topic(**{name: getattr(row, name) for name in fields}) for row in rows]
    return TopicRun(run.since, run.questions, found, run.figures, run.id, run.created_at)
