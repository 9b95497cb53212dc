"""Embedding backends compared (RAG_EMBEDDING_BACKEND): prints figures, asserts nothing.

    make benchmark-embeddings DOCS=path/to/docs [INCLUDE='*.html'] [QUESTIONS=questions.jsonl]

One row per backend (torch, onnx, onnx-int8), each run in a process of its own, so that its peak
memory is its own; ratios are against torch, measured in the same run:
- load s: the model's load, with its first export to ONNX;
- chunks/s: a fixed sample of the corpus's chunks (every n-th, ``--sample`` of them) embedded in one
  batched call, as ingestion embeds them;
- ingest: a whole ingestion run of the corpus (what the DAG's tasks run) into an index of the
  backend's own, over torch's pure embedding time for the corpus;
- question p50: questions embedded one at a time on one thread, as the UI embeds them;
- peak memory (RSS) of the process;
- with QUESTIONS, hit@1/5/10 and MRR@10 on the backend's index, scored as the ``eval`` command does.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmark_ingest import chunk_texts

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.evaluation.cases import load_cases
from {{ cookiecutter.package_name }}.evaluation.retrieval import evaluate_retrieval
from {{ cookiecutter.package_name }}.index.embeddings import embedding_model, use_model_threads
from {{ cookiecutter.package_name }}.index.local_embedding import LocalEmbedding
from {{ cookiecutter.package_name }}.ingestion.pipeline import run_ingest

BACKENDS = ("torch", "onnx", "onnx-int8")
COLLECTION_PREFIX = "{% if cookiecutter.vector_store == 'weaviate' %}Bench_{% else %}bench_{% endif %}"
QUALITY = ("hit@1", "hit@5", "hit@10", "mrr@10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=Path, required=True, help="Folder of documents.")
    parser.add_argument("--include", default="*", help="Glob of the files to ingest.")
    parser.add_argument("--questions", type=Path, help="questions.jsonl to score retrieval.")
    parser.add_argument("--sample", type=int, default=2000, help="Chunks timed for chunks/s.")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--backend", help=argparse.SUPPRESS)  # one backend's process
    parser.add_argument("--workdir", type=Path, help="Default: a temporary folder, removed.")
    args = parser.parse_args()
    if args.backend:
        print(json.dumps(measure(args, args.backend)))
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="embedding-benchmark-"))
    try:
        rows = [
            run_backend(args, backend, workdir.resolve()) for backend in args.backends.split(",")
        ]
        print_table(rows)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


def run_backend(args: argparse.Namespace, backend: str, workdir: Path) -> dict[str, Any]:
    env = os.environ | {
        "RAG_COLLECTION": COLLECTION_PREFIX + backend.replace("-", "_"),
        "RAG_DATA_DIR": str(workdir / "data"),  # the backend's files, and the ONNX exports
        "RAG_SOURCES_FILE": str(workdir / "no-sources.toml"),
        "RAG_SOURCE_DIR": str(args.docs),
        "RAG_SOURCE_INCLUDE": json.dumps([args.include]),
        "RAG_EMBEDDING_BACKEND": backend,
        "RAG_EMBEDDING_ONNX_DIR": str(workdir / backend / "onnx"),  # each exports anew: timed
    }
    command = [sys.executable, __file__, "--backend", backend, *sys.argv[1:]]
    print(f"{backend}: measuring ...", flush=True)
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{backend} failed:\n{result.stderr[-3000:]}")
    row: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return row


def measure(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    settings = Settings(_env_file=None)
    started = time.perf_counter()
    model = embedding_model(settings)  # with a first export, timed with the load
    model.get_text_embedding("warm up")
    load_s = time.perf_counter() - started
    _, texts = chunk_texts(settings, args.docs, args.include)
    sample = texts[:: max(1, len(texts) // args.sample)][: args.sample]
    started = time.perf_counter()
    model.get_text_embedding_batch(sample)
    chunks_per_s = len(sample) / (time.perf_counter() - started)
    started = time.perf_counter()
    run_ingest(settings, folder=args.docs)
    row: dict[str, Any] = {
        "backend": backend,
        "chunks": len(texts),
        "load_s": load_s,
        "chunks_per_s": chunks_per_s,
        "ingest_s": time.perf_counter() - started,
    }
    questions = [f"What does {text.split()[-1]} do?" for text in sample[:100]]
    if args.questions:
        cases = load_cases(args.questions)
        row |= {
            k: v for k, v in evaluate_retrieval(settings, cases).figures().items() if k in QUALITY
        }
        questions = [case.question for case in cases.cases]
    row["question_ms_p50"] = question_p50_ms(settings, questions)
    row["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def question_p50_ms(settings: Settings, questions: list[str]) -> float:
    """Questions one at a time on one thread, as the UI's model runs (``ui_model_threads``)."""
    use_model_threads(1)
    model = LocalEmbedding(
        model_name=settings.embedding_model,
        backend=settings.embedding_backend,
        onnx_cache=settings.embedding_onnx_dir,
        threads=1,
    )
    model.get_query_embedding(questions[0])
    times = []
    for question in questions:
        started = time.perf_counter()
        model.get_query_embedding(question)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def print_table(rows: list[dict[str, Any]]) -> None:
    base = next((row for row in rows if row["backend"] == "torch"), rows[0])
    pure_s = base["chunks"] / base["chunks_per_s"]  # torch's pure embedding of the whole corpus
    print(f"\n{base['chunks']:,} chunks; ratios against {base['backend']} in this run")
    header = "backend     load s  chunks/s     x  ingest/pure  question p50 ms     x  peak MB"
    quality = any("mrr@10" in row for row in rows)
    print(header + ("  hit@1  hit@5  hit@10  MRR@10" if quality else ""))
    for row in rows:
        line = (
            f"{row['backend']:<10} {row['load_s']:7.1f} {row['chunks_per_s']:9.1f} "
            f"{row['chunks_per_s'] / base['chunks_per_s']:5.2f} {row['ingest_s'] / pure_s:12.2f} "
            f"{row['question_ms_p50']:16.1f} "
            f"{row['question_ms_p50'] / base['question_ms_p50']:5.2f} {row['peak_mb']:8,.0f}"
        )
        if quality:
            line += "".join(f" {row.get(k, float('nan')):6.3f}" for k in QUALITY)
        print(line)


if __name__ == "__main__":
    main()
