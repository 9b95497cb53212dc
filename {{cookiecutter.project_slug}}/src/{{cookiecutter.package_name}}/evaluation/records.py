"""Evaluation runs in the project's database (tables ``eval_runs`` and ``eval_results``)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..feedback import FeedbackStore, eval_results, eval_runs, inserted_id
from .runner import EvalRun


@dataclass(frozen=True)
class SavedRun:
    id: int
    created_at: str
    config: dict[str, Any]
    figures: dict[str, float]


class EvalRecords:
    def __init__(self, url: str) -> None:
        self.engine = FeedbackStore(url).engine  # created and migrated like the feedback tables

    def save(self, run: EvalRun) -> int:
        with self.engine.begin() as connection:
            run_id = inserted_id(
                connection.execute(
                    eval_runs.insert().values(
                        question_set=run.question_set,
                        digest=run.digest,
                        config=run.config,
                        figures=run.figures(),
                    )
                )
            )
            connection.execute(
                eval_results.insert(),
                [
                    {
                        "run_id": run_id,
                        "case_id": result.case_id,
                        "kind": result.kind,
                        "rank": result.rank,
                        "latency_ms": round(result.latency_ms),
                        "retrieved": result.retrieved,
                    }
                    for result in run.results
                ],
            )
        return run_id

    def last(self, digest: str) -> SavedRun | None:
        """The newest saved run over the same question file."""
        query = (
            select(eval_runs.c.id, eval_runs.c.created_at, eval_runs.c.config, eval_runs.c.figures)
            .where(eval_runs.c.digest == digest)
            .order_by(eval_runs.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        return SavedRun(row.id, row.created_at.isoformat(), row.config, row.figures)
