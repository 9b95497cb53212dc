"""A fine-tuning experiment, step by step. The finetune_embeddings DAG runs one task per step;
``run_experiment`` runs them in one process for the command line.

1. ``prepare``: training pairs and held-out questions (see ``pairs``), saved in the experiment's
   folder; refused with fewer than ``finetune_min_pairs`` pairs, or without held-out questions.
2. ``train_model``: the configured model trained on the pairs, saved with its lineage.
3. ``build_candidate``: a new index version of every source, embedded with the tuned model, beside
   the live one, which keeps answering{% if cookiecutter.llm != "none" %}; the verified answers are written into it, as into any new
   version before it goes live{% endif %}.
4. ``compare``: the live version and the candidate scored on the held-out questions, saved as two
   evaluation runs.
5. ``decide``: the candidate goes live if its MRR@10 beats the live one's by more than
   ``finetune_margin`` and it ranks more questions better than worse beyond chance (a sign test);
   otherwise it is dropped with its model. Either way the experiment is a row
   of the ``experiments`` table (``ask_docs experiments``).
"""

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...config import Settings
from ...feedback.store import FeedbackStore
from ...index.store import open_store
from ...index.versions import finish_build
from ..candidates import ExperimentError, compare_versions, judge
from ..candidates import build_candidate as build_candidate_version
from ..cases import EvalCase, load_cases
from ..records import EvalRecords, ExperimentRecord
from .pairs import Pair, Passage, TrainingData, shuffled, training_data
from .training import Hyperparameters, remove_models, train

PAIRS, HELD_OUT, DATA = "pairs.jsonl", "held_out.jsonl", "data.json"
Say = Callable[[str], None]


@dataclass
class Experiment:
    """Where an experiment stands; plain values, so that DAG tasks can hand it on."""

    folder: str
    baseline: str  # the live index version when it started
    negative_control: bool
    pairs: int
    held_out: int
    model: str = ""
    lineage: dict[str, Any] = field(default_factory=dict)  # the model's (see training.save)
    candidate: str = ""
    reembed_s: float = 0.0
    runs: dict[str, int] = field(default_factory=dict)  # "baseline"/"candidate" -> eval run id
    figures: dict[str, dict[str, float]] = field(default_factory=dict)


def models_dir(settings: Settings) -> Path:
    return settings.finetune_dir / "models"


def prepare(settings: Settings, *, negative_control: bool = False) -> Experiment:
    from ...answering.engine import QueryEngine  # loads the embedding model

    store = open_store(settings)
    baseline = store.live_version()
    engine = QueryEngine(settings.pinned(baseline))
    data = training_data(
        FeedbackStore(settings.feedback_url),
        settings,
        _accepted_cases(settings.eval_questions),
        list(store.documents()),
        search=lambda text: engine.search(text)[0],
    )
    _check_enough(settings, data)
    # Absolute: the next steps may run in other processes, from other folders.
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    folder = (settings.finetune_dir / "experiments" / stamp).resolve()
    folder.mkdir(parents=True)
    pairs = shuffled(data.pairs) if negative_control else data.pairs
    _write_lines(folder / PAIRS, [asdict(pair) for pair in pairs])
    _write_lines(folder / HELD_OUT, [asdict(case) for case in data.held_out])
    lineage = {**data.lineage(), "negative_control": negative_control}
    (folder / DATA).write_text(json.dumps(lineage, indent=2) + "\n", encoding="utf-8")
    return Experiment(str(folder), baseline, negative_control, len(pairs), len(data.held_out))


def train_model(settings: Settings, experiment: Experiment) -> Experiment:
    folder = Path(experiment.folder)
    hyperparameters = Hyperparameters(
        epochs=settings.finetune_epochs,
        batch_size=settings.finetune_batch_size,
        learning_rate=settings.finetune_learning_rate,
        time_budget_s=settings.finetune_time_budget_s,
    )
    tuned = train(
        settings.embedding_model,
        _read_pairs(folder / PAIRS),
        hyperparameters,
        device=settings.embedding_device,
        models_dir=models_dir(settings),
        data=json.loads((folder / DATA).read_text(encoding="utf-8")),
    )
    experiment.model, experiment.lineage = str(tuned.path), tuned.lineage
    return experiment


def build_candidate(settings: Settings, experiment: Experiment) -> Experiment:
    experiment.candidate, experiment.reembed_s = build_candidate_version(
        settings, tuned_model=experiment.model, run_id="finetune"
    )
    return experiment


def compare(settings: Settings, experiment: Experiment) -> Experiment:
    question_set = load_cases(Path(experiment.folder) / HELD_OUT)
    comparison = compare_versions(settings, experiment.baseline, experiment.candidate, question_set)
    experiment.runs, experiment.figures = comparison.runs, comparison.figures
    return experiment


def decide(settings: Settings, experiment: Experiment) -> ExperimentRecord:
    store = open_store(settings)
    promoted, reason = judge(
        experiment.figures,
        settings.finetune_margin,
        f"{experiment.held_out} held-out questions",
        live_now=store.live_version(),
        baseline=experiment.baseline,
    )
    if promoted:
        finish_build(store, experiment.candidate, settings.keep_versions)
    else:
        store.drop_version(experiment.candidate)
    # A refused model goes with its version, and a promoted one with the last version using it.
    in_use = {str(v.embedding_model) for v in store.versions() if v.embedding_model}
    remove_models(models_dir(settings), in_use)
    record = ExperimentRecord(
        kind="finetune",
        decision="promoted" if promoted else "refused",
        reason=reason,
        baseline=experiment.baseline,
        candidate=experiment.candidate,
        model=experiment.model if promoted else None,
        baseline_run=experiment.runs.get("baseline"),
        candidate_run=experiment.runs.get("candidate"),
        figures=experiment.figures,
        costs=_costs(experiment),
        lineage=experiment.lineage,
    )
    return EvalRecords(settings.feedback_url).save_experiment(record)


def run_experiment(
    settings: Settings, *, negative_control: bool = False, say: Say = print
) -> ExperimentRecord:
    """Every step in this process, saying what each did."""
    experiment = prepare(settings, negative_control=negative_control)
    say(f"{experiment.pairs} training pairs, {experiment.held_out} held-out questions")
    experiment = train_model(settings, experiment)
    say(f"trained {experiment.model}")
    experiment = build_candidate(settings, experiment)
    say(f"built {experiment.candidate} in {experiment.reembed_s:.0f} s")
    record = decide(settings, compare(settings, experiment))
    say(record.as_text())
    return record


def _costs(experiment: Experiment) -> dict[str, Any]:
    return {
        "pairs": experiment.pairs,
        "train_s": experiment.lineage.get("train_s"),
        "reembed_s": experiment.reembed_s,
        "model_mb": experiment.lineage.get("size_mb"),
    }


def _check_enough(settings: Settings, data: TrainingData) -> None:
    if len(data.pairs) < settings.finetune_min_pairs:
        raise ExperimentError(
            f"{len(data.pairs)} training pairs, fewer than RAG_FINETUNE_MIN_PAIRS "
            f"({settings.finetune_min_pairs}): pairs come from helpful answers that passed the "
            "sharing bar and from the accepted evaluation cases"
        )
    if not data.held_out:
        raise ExperimentError(
            f"no question about the {len(data.held_out_documents)} held-out documents to score "
            "the model on: raise RAG_FINETUNE_HELD_OUT, or wait for more rated answers"
        )


def _accepted_cases(path: Path) -> list[EvalCase]:
    """The project's question set, if it has one (a malformed one is an error)."""
    return load_cases(path).cases if path.is_file() else []


def _write_lines(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _read_pairs(path: Path) -> list[Pair]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        negative = record["negative"]
        pairs.append(
            Pair(
                record["question"],
                Passage(**record["positive"]),
                record["origin"],
                Passage(**negative) if negative else None,
            )
        )
    return pairs
