"""Fine-tuning benchmark: does training the embedding model on the feedback help, and what does it
cost? Prints figures, asserts nothing.

    make benchmark-finetune DOCS=path/to/docs QUESTIONS=questions.jsonl [INCLUDE='*.html']

(also the last part of ``make benchmark`` when QUESTIONS is given). In a data folder of its own, so the
project's index and feedback are not touched:
1. the corpus is ingested with the configured model: the blue version;
2. a simulated feedback history: every question of the set is answered with the passage its keywords
   find (``case_source``), as a visitor who got the right answer would see it, and rated helpful by
   three people; the set is also the accepted evaluation cases;
3. the documents are split in half (``RAG_FINETUNE_HELD_OUT=0.5``): the questions about one half make
   the training pairs, those about the other half are scored, never trained on;
4. experiments, each building a green version with its model beside blue and scoring both on the
   held-out questions: the project's hyperparameters, a longer run (``--epochs``, ``--rate``), and the
   negative control (the pairs shuffled) trained as long.
"""

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

from {{ cookiecutter.package_name }}.answering.engine import QueryEngine
from {{ cookiecutter.package_name }}.answers import Answer
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.evaluation.cases import load_cases
from {{ cookiecutter.package_name }}.evaluation.finetune.experiment import run_experiment
from {{ cookiecutter.package_name }}.evaluation.finetune.pairs import case_source
from {{ cookiecutter.package_name }}.evaluation.records import ExperimentRecord
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.index.store import open_store
from {{ cookiecutter.package_name }}.index.versions import promote
from {{ cookiecutter.package_name }}.ingestion.pipeline import run_ingest

COLLECTION = "{% if cookiecutter.vector_store == 'weaviate' %}Bench_finetune{% else %}bench_finetune{% endif %}"
FIGURES = ("hit@1", "hit@5", "hit@10", "mrr@10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=Path, required=True, help="Folder of documents.")
    parser.add_argument("--questions", type=Path, required=True, help="questions.jsonl")
    parser.add_argument("--include", default="*", help="Glob of the files to ingest.")
    parser.add_argument("--epochs", type=int, default=3, help="Of the longer run.")
    parser.add_argument("--rate", type=float, default=1e-4, help="Learning rate of the longer run.")
    parser.add_argument("--workdir", type=Path, help="Default: a temporary folder, removed.")
    args = parser.parse_args()
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="finetune-benchmark-"))).resolve()
    os.environ.update(
        {
            "RAG_COLLECTION": COLLECTION,
            "RAG_DATA_DIR": str(workdir / "data"),
            "RAG_FINETUNE_DIR": str(workdir / "finetune"),
            "RAG_FEEDBACK_DB_URL": f"sqlite:///{workdir / 'feedback.db'}",
            "RAG_SOURCES_FILE": str(workdir / "no-sources.toml"),
            "RAG_SOURCE_DIR": str(args.docs.resolve()),
            "RAG_SOURCE_INCLUDE": json.dumps([args.include]),
            "RAG_EVAL_QUESTIONS": str(args.questions.resolve()),
            "RAG_FINETUNE_HELD_OUT": "0.5",
            "RAG_FINETUNE_MIN_PAIRS": "5",
            "RAG_KEEP_VERSIONS": "2",
        }
    )
    settings = Settings(_env_file=None)
    try:
        benchmark(settings, args)
    finally:
{%- if cookiecutter.vector_store == "chroma" %}
        from {{ cookiecutter.package_name }}.index.chroma_server import stop_server

        stop_server(settings.data_dir)
{%- endif %}
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


def benchmark(settings: Settings, args: argparse.Namespace) -> None:
    summary = run_ingest(settings)
    if not summary.complete or not summary.chunks:
        raise SystemExit(f"the corpus did not ingest, nothing to compare: {summary.as_text()}")
    print(
        f"corpus {args.docs} ({args.include}): {summary.added:,} pages, {summary.chunks:,} chunks; "
        f"model {settings.embedding_model}; {os.cpu_count()} cores"
    )
    answered = simulate_feedback(settings, args.questions)
    print(f"simulated feedback: {answered} of the set's questions answered and rated helpful")
    longer = settings.model_copy(
        update={"finetune_epochs": args.epochs, "finetune_learning_rate": args.rate}
    )
    trained_longer = f"{args.epochs} epochs, rate {args.rate:g}"
    # The control trains as hard as the longer run: what shuffled pairs do at that strength is the
    # size of a change that chance alone makes.
    rows = [
        ("project's settings", settings, False),
        (trained_longer, longer, False),
        (f"control: {trained_longer}", longer, True),
    ]
    records = []
    for name, tuned, control in rows:
        record = run_experiment(tuned, negative_control=control, say=lambda line: None)
        records.append((name, record))
        print(f"\n{name}:\n{record.as_text()}")
        if record.decision == "promoted":  # the next experiment starts from the same blue
            promote(open_store(settings), record.baseline)
    print_table(records)


def simulate_feedback(settings: Settings, questions: Path) -> int:
    """Each question answered with the passage its keywords find (as ``pairs`` finds a case's),
    cited, and rated helpful by three people."""
    engine = QueryEngine(settings)
    feedback = FeedbackStore(settings.feedback_url)
    answered = 0
    for case in load_cases(questions).cases:
        source = case_source(case, lambda text: engine.search(text)[0])
        if source:
            text = f"{source.snippet} [{source.number}]"
            answer = Answer(case.question, text, [source], "passages", None, None, 100)
            interaction = feedback.record_interaction(answer)
            for rater in range(3):
                feedback.record_rating(interaction, 1, rater=f"visitor-{rater}")
            answered += 1
    return answered


def print_table(records: list[tuple[str, ExperimentRecord]]) -> None:
    print(
        f"\n{'experiment':<32} {'version':<9} "
        + " ".join(f"{name:>6}" for name in FIGURES)
        + "  p50 ms  pairs  train s  re-embed s  model MB  better/worse  decision"
    )
    for name, record in records:
        questions = record.figures["questions"]
        for role in ("baseline", "candidate"):
            figures = record.figures[role]
            costs = record.costs if role == "candidate" else {}
            changed = f"{questions['better']}/{questions['worse']}" if role == "candidate" else ""
            print(
                f"{name if role == 'baseline' else '':<32} {'blue' if role == 'baseline' else 'green':<9} "
                + " ".join(f"{figures[f]:6.3f}" for f in FIGURES)
                + f"  {figures['latency_ms_p50']:6.0f}"
                + f"  {costs.get('pairs', ''):>5}  {costs.get('train_s', ''):>7}"
                + f"  {costs.get('reembed_s', ''):>10}  {costs.get('model_mb', ''):>8}"
                + f"  {changed:>12}"
                + ("  " + record.decision if role == "candidate" else "")
            )


if __name__ == "__main__":
    main()
