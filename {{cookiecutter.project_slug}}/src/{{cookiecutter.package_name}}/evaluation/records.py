"""Evaluation runs in the project's database (tables ``eval_runs`` and ``eval_results``)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..feedback.schema import eval_results, eval_runs, inserted_id
from ..feedback.store import FeedbackStore
from .runner import EvalRun

RUNS_SEARCHED = 200  # for the last run of one configuration among other experiments' runs


@dataclass(frozen=True)
class SavedRun:
    id: int
    created_at: str
    digest: str
    config: dict[str, Any]
    figures: dict[str, float]


COLUMNS = (
    eval_runs.c.id,
    eval_runs.c.created_at,
    eval_runs.c.digest,
    eval_runs.c.config,
    eval_runs.c.figures,
)


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
                        "similarity": result.similarity,
                    }
                    for result in run.results
                ],
            )
        return run_id

    def last(
        self, digest: str, config: dict[str, Any] | None = None, before: int | None = None
    ) -> SavedRun | None:
        """The newest saved run over the same question file (and with the same ``config``, if
        given), older than run ``before`` if given."""
        query = (
            select(*COLUMNS)
            .where(eval_runs.c.digest == digest)
            .order_by(eval_runs.c.id.desc())
            .limit(RUNS_SEARCHED)
        )
        if before is not None:
            query = query.where(eval_runs.c.id < before)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        for row in rows:
            if config is None or row.config == config:
                return SavedRun(row.id, row.created_at.isoformat(), *row[2:])
        return None

    def get(self, run_id: int) -> SavedRun:
        with self.engine.connect() as connection:
            row = connection.execute(select(*COLUMNS).where(eval_runs.c.id == run_id)).one()
        return SavedRun(row.id, row.created_at.isoformat(), *row[2:])
