"""Run a question set through retrieval, report the figures, and compare with an earlier run."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..answers import Source
from .cases import EvalCase, QuestionSet
from .scoring import CUTOFFS, DEPTH, Scores, first_relevant, percentile, scores_by_kind

# The figures a regression is judged on, and how far each may fall before a run fails.
GATED = ("hit@5", "mrr@10")
MAX_DROP = 0.02


@dataclass(frozen=True)
class CaseResult:
    case_id: str
    kind: str
    rank: int | None  # of the first relevant chunk, within the top 10
    latency_ms: float
    retrieved: list[str]  # "document_id › section" of the top results, for reading misses
    similarity: float | None = None  # of the closest chunk, by meaning: calibrates min_similarity


@dataclass
class EvalRun:
    question_set: str
    digest: str
    config: dict[str, Any]
    results: list[CaseResult]
    # The language model's answers to some of the questions, when they were checked too
    # (``answer_quality.answer_figures``): saved and compared with the retrieval figures.
    answers: dict[str, float] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def scores(self) -> Scores:
        return Scores.of([result.rank for result in self.results])

    @property
    def by_kind(self) -> dict[str, Scores]:
        return scores_by_kind([r.kind for r in self.results], [r.rank for r in self.results])

    def latency_ms(self, share: float) -> float:
        return percentile([result.latency_ms for result in self.results], share)

    def figures(self) -> dict[str, float]:
        return {
            **self.scores.as_dict(),
            "latency_ms_p50": round(self.latency_ms(0.5), 1),
            "latency_ms_p95": round(self.latency_ms(0.95), 1),
            **self.answers,
        }


def run_eval(
    search: Callable[[str], tuple[Sequence[Source], float | None]],
    question_set: QuestionSet,
    config: dict[str, Any],
    progress: Callable[[int], None] | None = None,
) -> EvalRun:
    """Ask every question of the set; ``search`` returns the ranked sources for a question and the
    closest chunk's similarity."""
    results = []
    for case in question_set.cases:
        started = time.perf_counter()
        sources, similarity = search(case.question)
        elapsed_ms = (time.perf_counter() - started) * 1000
        results.append(_result(case, list(sources), elapsed_ms, similarity))
        if progress:
            progress(1)
    return EvalRun(question_set.name, question_set.digest, config, results)


def _result(
    case: EvalCase, sources: list[Source], latency_ms: float, similarity: float | None
) -> CaseResult:
    retrieved = [
        f"{source.document_id} › {source.section}" if source.section else source.document_id
        for source in sources[:DEPTH]
    ]
    rank = first_relevant(sources, case)
    return CaseResult(case.id, case.kind, rank, latency_ms, retrieved, similarity)


def report(run: EvalRun, questions: dict[str, str], misses: int = 10) -> str:
    """The figures, by kind, and the first ``misses`` questions answered from elsewhere."""
    header = "            " + "  ".join(f"hit@{k:<2}" for k in CUTOFFS) + "  MRR@10   n"
    rows = [("all", run.scores), *run.by_kind.items()]
    lines = [
        f"{run.question_set}: {len(run.results)} questions, "
        f"retrieval p50 {run.latency_ms(0.5):.0f} ms, p95 {run.latency_ms(0.95):.0f} ms",
        header,
    ]
    for name, scores in rows:
        figures = "  ".join(f"{scores.hits[k]:6.2f}" for k in CUTOFFS)
        lines.append(f"{name[:11]:<11} {figures}  {scores.mrr:6.3f}  {scores.questions:>3}")
    similarities = [r.similarity for r in run.results if r.similarity is not None]
    if similarities:
        lines.append(
            f"closest chunk's similarity: lowest {min(similarities):.2f}, 5th percentile "
            f"{percentile(similarities, 0.05):.2f}, median {percentile(similarities, 0.5):.2f} "
            "(below RAG_MIN_SIMILARITY a question counts as not covered)"
        )
    missed = [result for result in run.results if result.rank is None]
    if missed and misses:
        lines.append(f"\nnot in the top {DEPTH} ({len(missed)}):")
        for result in missed[:misses]:
            lines.append(f"  {result.case_id}: {questions.get(result.case_id, '')[:90]}")
            lines += [f"      got {item}" for item in result.retrieved[:3]]
    return "\n".join(lines)


def compare(run: EvalRun, previous: dict[str, float], max_drop: float = MAX_DROP) -> list[str]:
    """A line per figure since ``previous``; those that fell beyond ``max_drop`` say so."""
    figures = run.figures()
    fallen = _regressions(figures, previous, max_drop)
    return [
        f"{name:<15} {previous[name]:8.3f} -> {value:8.3f} ({value - previous[name]:+.3f})"
        + ("  REGRESSION" if name in fallen else "")
        for name, value in figures.items()
        if name in previous
    ]


def regressed(figures: dict[str, float], previous: dict[str, float], max_drop: float) -> bool:
    return bool(_regressions(figures, previous, max_drop))


def _regressions(
    figures: dict[str, float], previous: dict[str, float], max_drop: float
) -> set[str]:
    return {
        name
        for name in GATED
        if name in previous and name in figures and figures[name] - previous[name] < -max_drop
    }
