"""Ingestion benchmark: prints figures, asserts nothing.

    make benchmark DOCS=path/to/docs [QUESTIONS=questions.jsonl] [INCLUDE='*.html'] [SCALE=4]

On a copy of the corpus, in collections of its own (the project's index is not touched):
1. the pure embedding time of the corpus's chunks: the model already loaded, one batched call,
   nothing else. This is the limit an ingestion run can approach;
2. the end-to-end time of a real `airflow dags test ingest_docs` run, and its ratio to (1);
3. a re-run with nothing changed, as a share of (2); then a run with 1 % of the pages changed;
4. peak memory (RSS) of the DAG run at 1x and SCALE x the corpus;
5. with QUESTIONS, retrieval quality scored as the ``eval`` command scores it, one row per stage of
   the retrieval pipeline (each adds one thing to the one before), then for each chunking strategy:
   hit@1/3/5/10, MRR@10 and retrieval latency.
"""

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llama_index.core.schema import MetadataMode

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.evaluation.cases import QuestionSet, load_cases
from {{ cookiecutter.package_name }}.evaluation.experiments import run_experiment
from {{ cookiecutter.package_name }}.evaluation.retrieval import evaluate_retrieval
from {{ cookiecutter.package_name }}.evaluation.runner import EvalRun, report
from {{ cookiecutter.package_name }}.index.embeddings import embedding_model
from {{ cookiecutter.package_name }}.index.store import open_store
from {{ cookiecutter.package_name }}.ingestion.chunking import STRATEGIES
from {{ cookiecutter.package_name }}.ingestion.pipeline import document_nodes, run_ingest
from {{ cookiecutter.package_name }}.ingestion.sources import LocalFolderSource, SourceDocument

PROJECT = Path(__file__).resolve().parent.parent
# The retrieval pipeline stage by stage, each row adding one thing to the row before it.
VECTORS = {"hybrid_search": False}
PLAIN = {**VECTORS, "passage_window": 0, "max_chunks_per_document": 50, "demote_documents": []}
STAGES: list[tuple[str, dict[str, Any]]] = [
    ("chunks as embedded", PLAIN),
    ("+ passages", {**PLAIN, "passage_window": 1}),
    ("+ ranking rules", VECTORS),
    ("+ hybrid search", {"hybrid_search": True}),
    ("+ rerank", {"hybrid_search": True, "rerank": True}),
]
COLLECTION_PREFIX = "{% if cookiecutter.vector_store == 'weaviate' %}Bench_{% else %}bench_{% endif %}"
# Runs the command and prints the peak RSS (KiB) of it and its children, as the kernel counts it.
PEAK_RSS = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=Path, required=True, help="Folder of documents.")
    parser.add_argument("--questions", type=Path, help="questions.jsonl to score retrieval.")
    parser.add_argument("--include", default="*", help="Glob of the files to ingest.")
    parser.add_argument("--scale", type=int, default=4, help="Copies for the memory run; 0: none.")
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="For retrieval.")
    parser.add_argument("--workdir", type=Path, help="Default: a temporary folder, removed.")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ingest-benchmark-"))
    try:
        Benchmark(args, workdir.resolve()).run()
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


class Benchmark:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.corpus = workdir / "corpus"
        self.airflow_home = workdir / "airflow"
        os.environ.update(self.env("setup"))  # this process's settings, as the DAG will see them

    def env(self, collection: str) -> dict[str, str]:
        return {
            "RAG_COLLECTION": COLLECTION_PREFIX + collection,
            "RAG_DATA_DIR": str(self.workdir / "data"),  # where the backend keeps files, if any
            "RAG_SOURCES_FILE": str(self.workdir / "no-sources.toml"),
            "RAG_SOURCE_DIR": str(self.corpus),
            "RAG_SOURCE_INCLUDE": json.dumps([self.args.include]),
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }

    def run(self) -> None:
        shutil.copytree(self.args.docs, self.corpus)
        settings = Settings(_env_file=None)
        print(
            f"corpus {self.args.docs} ({self.args.include}); model {settings.embedding_model}; "
            f"chunking {settings.chunking}, {settings.chunk_size} tokens, "
            f"overlap {settings.chunk_overlap}; {os.cpu_count()} cores"
        )
        pages, chunks, pure_s = self.pure_embedding(settings)
        print(f"pages {pages:,}; chunks {chunks:,}")
        print(f"pure embedding: {pure_s:.1f} s ({chunks / pure_s:.0f} chunks/s)")

        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=os.environ | self.env("setup"),
            check=True,
            capture_output=True,
        )
        first = self.dag_run("e2e")
        print(f"end to end through the DAG: {first.describe()}; chunks written {first.chunks:,}")
        print(
            f"  ratio to pure embedding: {first.run_s / pure_s:.3f} (DAG run), "
            f"{first.wall_s / pure_s:.3f} (whole command)"
        )
        again = self.dag_run("e2e")
        print(
            f"re-run, nothing changed: {again.describe()}; "
            f"{again.run_s / first.run_s:.1%} of the first run ({again.wall_s / first.wall_s:.1%} "
            f"whole command); chunks written {again.chunks}"
        )
        changed = self.change_pages(0.01)
        third = self.dag_run("e2e")
        print(
            f"re-run, {changed} pages (1 %) changed: {third.describe()}; "
            f"{third.run_s / first.run_s:.1%} of the first run; changed {third.summary['changed']}, "
            f"chunks written {third.chunks:,}"
        )
        if self.args.scale > 1:
            self.restore_pages()
            self.scale_corpus(self.args.scale)
            scaled = self.dag_run("scaled")
            print(
                f"{self.args.scale}x corpus through the DAG: {scaled.describe()}; "
                f"peak memory {scaled.peak_mb:,.0f} MB vs {first.peak_mb:,.0f} MB at 1x "
                f"({scaled.peak_mb / first.peak_mb:.2f}x)"
            )
            self.unscale_corpus()
        if self.args.questions:
            self.retrieval(settings)

    def pure_embedding(self, settings: Settings) -> tuple[int, int, float]:
        pages, texts = chunk_texts(settings, self.corpus, self.args.include)
        return pages, len(texts), pure_embedding_s(settings, texts)

    def dag_run(self, collection: str) -> "DagRun":
        command = [sys.executable, "-m", "airflow", "dags", "test", "ingest_docs"]
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, *command],
            env=os.environ | self.env(collection),
            capture_output=True,
            text=True,
        )
        wall_s = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"the DAG run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        peak_kib = int(result.stdout.strip().splitlines()[-1])
        with sqlite3.connect(self.airflow_home / "airflow.db") as db:
            start, end, run_id = db.execute(
                "SELECT start_date, end_date, run_id FROM dag_run WHERE dag_id = 'ingest_docs' "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
            (value,) = db.execute(
                "SELECT value FROM xcom WHERE run_id = ? AND task_id = 'report' AND key = 'return_value'",
                (run_id,),
            ).fetchone()
        summary = json.loads(value)
        if isinstance(summary, str):
            summary = json.loads(summary)
        run_s = (parse_time(end) - parse_time(start)).total_seconds()
        return DagRun(wall_s, run_s, peak_kib / 1024, summary)

    def html_files(self) -> list[Path]:
        return sorted(
            p for p in self.corpus.rglob("*") if p.is_file() and p.match(self.args.include)
        )

    def change_pages(self, share: float) -> int:
        files = self.html_files()
        step = max(1, round(1 / share))
        for path in files[::step]:
            shutil.copy2(path, path.with_name(path.name + ".orig"))
            path.write_text(path.read_text() + "\n<p>Edited for the benchmark.</p>\n")
        return len(files[::step])

    def restore_pages(self) -> None:
        for original in self.corpus.rglob("*.orig"):
            original.replace(original.with_suffix(""))

    def scale_corpus(self, copies: int) -> None:
        """The corpus, and copies 2..N of it in sub-folders (hard links: no extra disk)."""
        for number in range(2, copies + 1):
            shutil.copytree(self.args.docs, self.corpus / f"copy-{number}", copy_function=os.link)

    def unscale_corpus(self) -> None:
        for copy in self.corpus.glob("copy-*"):
            shutil.rmtree(copy)

    def retrieval(self, settings: Settings) -> None:
        questions = load_cases(self.args.questions)
        print(
            f"\nretrieval on {len(questions.cases)} questions (chunk size {settings.chunk_size} "
            f"tokens, overlap {settings.chunk_overlap})"
        )
        self.stages(questions)
        for strategy in self.args.strategies.split(","):
            # The DAG run's index serves its own strategy; the last run's edits are undone first.
            name = "e2e" if strategy == settings.chunking else strategy
            tuned = Settings(
                _env_file=None, chunking=strategy, collection=self.env(name)["RAG_COLLECTION"]
            )
            run_ingest(tuned, folder=self.corpus)
            self.score(strategy, tuned, questions)

    def stages(self, questions: QuestionSet) -> None:
        """One row per stage, on the DAG run's index (stages that chunk otherwise get their own)."""
        base = Settings(_env_file=None, collection=self.env("e2e")["RAG_COLLECTION"])
        print(f"\n{'stage':<22} hit@1  hit@5  hit@10  MRR@10  p50 ms  p95 ms")
        for name, overrides in STAGES:
            run, _ = run_experiment(base, overrides, questions)
            print(stage_row(name, run))

    def score(self, strategy: str, settings: Settings, questions: QuestionSet) -> None:
        run = evaluate_retrieval(settings, questions)
        chunks = open_store(settings).count()
        print(f"\n{strategy}: {chunks:,} chunks")
        print(report(run, {case.id: case.question for case in questions.cases}, misses=0))


def chunk_texts(settings: Settings, corpus: Path, include: str) -> tuple[int, list[str]]:
    """The number of pages in ``corpus`` and their chunks as the model reads them."""
    source = LocalFolderSource(corpus, include=[include])
    documents = [item for item in source.scan() if isinstance(item, SourceDocument)]
    nodes = [
        node
        for document in documents
        for node in document_nodes(settings, document, "now", "benchmark")
    ]
    return len(documents), [node.get_content(metadata_mode=MetadataMode.EMBED) for node in nodes]


def pure_embedding_s(settings: Settings, texts: list[str]) -> float:
    """Seconds to embed ``texts`` in one batched call, the model loaded and warmed up."""
    model = embedding_model(settings)
    model.get_text_embedding_batch(texts[:8])  # load and warm up outside the clock
    started = time.perf_counter()
    model.get_text_embedding_batch(texts)
    return time.perf_counter() - started


class DagRun:
    def __init__(
        self, wall_s: float, run_s: float, peak_mb: float, summary: dict[str, Any]
    ) -> None:
        self.wall_s = wall_s
        self.run_s = run_s
        self.peak_mb = peak_mb
        self.summary = summary
        self.chunks = summary["chunks"]

    def describe(self) -> str:
        return (
            f"{self.run_s:.1f} s DAG run, {self.wall_s:.1f} s whole command, "
            f"peak {self.peak_mb:,.0f} MB"
        )


def stage_row(name: str, run: EvalRun) -> str:
    figures = run.figures()
    hits = "  ".join(f"{figures[f'hit@{k}']:5.2f}" for k in (1, 5, 10))
    return (
        f"{name:<22} {hits}  {figures['mrr@10']:6.3f}  {figures['latency_ms_p50']:6.0f}  "
        f"{figures['latency_ms_p95']:6.0f}"
    )


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


if __name__ == "__main__":
    main()
