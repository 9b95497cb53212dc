"""Question topics benchmark: how fast and how well HDBSCAN and agglomerative clustering group
questions whose topic is known. Prints figures, asserts nothing.

    make benchmark-topics DOCS=folder [QUESTIONS=10000]

The questions are made from the documents' headings (Markdown or HTML): each asks about one heading,
in one of a dozen phrasings, and that heading is its true topic. They are embedded with the
project's model once; each method then clusters the first 1,000, 5,000 and all of them. Agreement
with the headings is the adjusted Rand index (questions left out as noise count as one more group).
"""

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.index.embeddings import embedding_model
from {{ cookiecutter.package_name }}.insights.synthetic import headings, synthetic_questions
from {{ cookiecutter.package_name }}.insights.topics import NOISE, cluster

SIZES = (1_000, 5_000)
METHODS = ("hdbscan", "agglomerative")
COLUMNS = {"method": 13, "questions": 9, "seconds": 8, "peak MB": 8, "topics": 7}
COLUMNS |= {"noise": 7, "ARI": 6}


def measured(vectors: np.ndarray, truth: list[int], method: str, min_size: int) -> str:
    tracemalloc.start()
    started = time.perf_counter()
    labels = cluster(vectors, min_size, method)
    seconds = time.perf_counter() - started
    peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    topics = len(set(labels.tolist()) - {NOISE})
    noise = float((labels == NOISE).mean())
    agreement = adjusted_rand_score(truth, labels)
    return (
        f"{method:>13} {len(vectors):>9,} {seconds:>8.1f} {peak_mb:>8.0f} {topics:>7} "
        f"{noise:>7.0%} {agreement:>6.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, required=True, help="A folder of Markdown or HTML.")
    parser.add_argument("--questions", type=int, default=10_000, help="Questions made and grouped.")
    parser.add_argument("--topics", type=int, default=200, help="Headings the questions ask about.")
    args = parser.parse_args()
    settings = Settings()
    pages = headings(args.docs)
    if len(pages) < 2:
        raise SystemExit(f"{args.docs}: fewer than two pages with three headings or more")
    texts, truth = synthetic_questions(pages, args.questions, args.topics)
    model = embedding_model(settings)
    started = time.perf_counter()
    vectors = np.asarray(model.get_text_embedding_batch(texts), dtype=np.float32)
    embed_s = time.perf_counter() - started
    print(
        f"{len(texts):,} questions about {len(set(truth))} headings in {args.docs}, embedded by "
        f"{settings.embedding_model} in {embed_s:.1f} s ({len(texts) / embed_s:.0f}/s); "
        f"min topic size {settings.topics_min_size}"
    )
    print(" ".join(f"{name:>{width}}" for name, width in COLUMNS.items()))
    for size in [s for s in SIZES if s < len(texts)] + [len(texts)]:
        for method in METHODS:
            print(measured(vectors[:size], truth[:size], method, settings.topics_min_size))


if __name__ == "__main__":
    main()
