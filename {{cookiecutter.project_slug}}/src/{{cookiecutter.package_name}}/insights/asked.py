"""The questions of a period as the topics see them: who asked, how the answer was rated, whether the
documentation seemed to cover it, and each question's vector (embedded once, then kept)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, Engine, func, select

from ..feedback.schema import interactions, question_vectors, ratings

Embed = Callable[[list[str]], list[list[float]]]
EMBED_BATCH = 256
IN_LIST = 10_000  # ids per query: databases bound their parameters


@dataclass(frozen=True)
class Asked:
    id: int
    question: str  # as stored: redacted
    asker: str  # a user, a keyed hash of an address, or "unknown" (asked before askers were kept)
    rating: int  # the sum of its ratings: above 0 helpful, below 0 not helpful, 0 unrated
    weak: bool  # the closest chunk was less similar than the bar: the docs did not seem to cover it
    documents: tuple[str, ...]  # the documents its answer showed, best first


def asked_since(
    connection: Connection, since: datetime, weak_below: float, limit: int
) -> list[Asked]:
    """The newest ``limit`` questions asked since ``since``, oldest first."""
    votes = (
        select(ratings.c.interaction_id, func.sum(ratings.c.score).label("net"))
        .group_by(ratings.c.interaction_id)
        .subquery()
    )
    rows = connection.execute(
        select(
            interactions.c.id,
            interactions.c.question,
            interactions.c.asker,
            interactions.c.similarity,
            interactions.c.sources,
            votes.c.net,
        )
        .outerjoin(votes, votes.c.interaction_id == interactions.c.id)
        .where(interactions.c.created_at >= since)
        .order_by(interactions.c.id.desc())
        .limit(limit)
    ).all()
    return [
        Asked(
            id=row.id,
            question=row.question,
            asker=row.asker or "unknown",
            rating=int(row.net or 0),
            weak=row.similarity is not None and row.similarity < weak_below,
            documents=tuple(
                dict.fromkeys(str(s.get("document_id", "")) for s in row.sources or [])
            ),
        )
        for row in reversed(rows)
    ]


def question_matrix(engine: Engine, asked: Sequence[Asked], model: str, embed: Embed) -> np.ndarray:
    """One row per question of ``asked``: its vector by ``model``, embedded now only if no earlier
    run kept it (a weekly run embeds the week's new questions, not the whole period again). Each
    batch is kept in a short transaction of its own: the UI goes on recording answers meanwhile."""
    ids = [item.id for item in asked]
    kept: dict[int, np.ndarray] = {}
    with engine.connect() as connection:
        for start in range(0, len(ids), IN_LIST):
            for interaction_id, blob in connection.execute(
                select(question_vectors.c.interaction_id, question_vectors.c.vector).where(
                    question_vectors.c.model == model,
                    question_vectors.c.interaction_id.in_(ids[start : start + IN_LIST]),
                )
            ):
                kept[interaction_id] = np.frombuffer(blob, dtype=np.float32)
    missing = [item for item in asked if item.id not in kept]
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start : start + EMBED_BATCH]
        vectors = np.asarray(embed([item.question for item in batch]), dtype=np.float32)
        with engine.begin() as connection:
            connection.execute(
                question_vectors.insert(),
                [
                    {"interaction_id": item.id, "model": model, "vector": vector.tobytes()}
                    for item, vector in zip(batch, vectors, strict=True)
                ],
            )
        kept.update({item.id: vector for item, vector in zip(batch, vectors, strict=True)})
    if not ids:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack([kept[i] for i in ids])
