"""Evaluation runs and experiments in the project's database (tables ``eval_runs``, ``eval_results``
and ``experiments``)."""

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from ..feedback.schema import eval_results, eval_runs, experiments, inserted_id
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


@dataclass(frozen=True)
class ExperimentRecord:
    """An experiment that built an index version (``candidate``) and scored it against the live one
    (``baseline``); ``decision`` is "promoted" or "refused", and ``reason`` says why."""

    kind: str
    decision: str
    reason: str
    baseline: str
    candidate: str
    model: str | None
    baseline_run: int | None
    candidate_run: int | None
    figures: dict[str, Any]
    costs: dict[str, Any]
    lineage: dict[str, Any]
    id: int | None = None
    created_at: str = ""

    def as_text(self) -> str:
        """The experiment in a few lines: its decision, both versions' figures, its costs."""
        lines = [
            f"experiment {self.id} ({self.created_at}, {self.kind}): {self.candidate} "
            f"{self.decision} against {self.baseline}: {self.reason}"
        ]
        for role in ("baseline", "candidate"):
            figures = self.figures.get(role, {})
            shown = "  ".join(f"{name} {figures[name]:.3f}" for name in SHOWN if name in figures)
            latency = f"  query p50 {figures['latency_ms_p50']:.0f} ms" if figures else ""
            lines.append(f"  {role:<9}  {shown}{latency}")
        costs = ", ".join(
            f"{label} {self.costs[key]}" for key, label in COST_LABELS.items() if key in self.costs
        )
        return "\n".join([*lines, f"  costs      {costs}"])


SHOWN = ("hit@1", "hit@5", "hit@10", "mrr@10")
COST_LABELS = {
    "pairs": "pairs",
    "train_s": "training s",
    "reembed_s": "re-embedding s",
    "model_mb": "model MB",
}


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

    def save_experiment(self, record: ExperimentRecord) -> ExperimentRecord:
        """Save ``record``; return it as saved, with its id and time."""
        values = {
            key: value for key, value in asdict(record).items() if key not in ("id", "created_at")
        }
        with self.engine.begin() as connection:
            saved = inserted_id(connection.execute(experiments.insert().values(**values)))
        return self.experiments(before=saved + 1, limit=1)[0]

    def experiments(self, limit: int = 20, before: int | None = None) -> list[ExperimentRecord]:
        """The newest experiments first (older than experiment ``before``, if given)."""
        query = select(experiments).order_by(experiments.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(experiments.c.id < before)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            ExperimentRecord(
                **{**row, "created_at": row["created_at"].isoformat(timespec="seconds")}
            )
            for row in rows
        ]
