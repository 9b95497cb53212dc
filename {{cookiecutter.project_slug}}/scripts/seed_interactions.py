"""Synthetic traffic in a feedback database: questions about a folder's headings over the last days,
with answers, traces, tokens, costs, askers and ratings, for the maintainers' page, ``report``,
``topics`` and ``gaps`` to show, and for measuring them at scale. Asserts nothing.

    uv run python scripts/seed_interactions.py --count 100000 [--days 30] [--docs sample_docs]
        [--database sqlite:///.data/seeded.db]

Each heading is a topic; a share of the topics are "gaps": their questions get weak evidence (a low
similarity) and more unhelpful ratings. Writes to ``--database`` (default: the project's feedback
database, after asking); run it on a copy, never on a production database.
"""

import argparse
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.feedback.schema import interactions, ratings
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.insights.synthetic import headings, synthetic_questions

BATCH = 5_000
VISITORS = 500
GAP_EVERY = 5  # one topic in five is a gap
WEAK = 0.15  # a gap's questions are less similar than this to any chunk: below the default bar
STAGES = {"embed": 8.0, "dense_search": 6.0, "keyword_search": 3.0, "fuse_and_rank": 1.0}


@dataclass(frozen=True)
class Traffic:
    count: int
    days: int
    topics: int
    seed: int


def rows(texts: list[str], truth: list[int], traffic: Traffic) -> list[dict[str, Any]]:
    """One interaction per question, spread over the last ``days``, oldest first."""
    generator = random.Random(traffic.seed)
    gaps = {t for t in set(truth) if t % GAP_EVERY == 0}
    now = datetime.now(UTC)
    made = []
    for n, (text, topic) in enumerate(zip(texts, truth, strict=True)):
        gap = topic in gaps
        stages = {name: round(ms * generator.uniform(0.6, 2.0), 2) for name, ms in STAGES.items()}
        llm = generator.random() < 0.7
        prompt, completion = (
            (generator.randint(600, 1800), generator.randint(60, 300)) if llm else (0, 0)
        )
        if llm:
            stages |= {"llm_first_token": generator.uniform(150, 600)}
            stages["llm_total"] = stages["llm_first_token"] + generator.uniform(400, 2500)
        document = f"local:topic-{topic}.md"
        made.append(
            {
                "created_at": now
                - timedelta(seconds=traffic.days * 86_400 * (1 - n / traffic.count)),
                "question": text,
                "answer": "Seeded answer [1]." if llm else "Seeded passages.",
                "sources": [{"number": 1, "title": f"Topic {topic}", "document_id": document}],
                "mode": "llm" if llm else "passages",
                "model": "gpt-4o-mini" if llm else None,
                "latency_ms": int(sum(stages.values()) - stages.get("llm_first_token", 0)),
                "complete": True,
                "trace": {"stages_ms": stages, "tokens_reported": True},
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "cost": (prompt * 0.15 + completion * 0.6) / 1e6,
                "similarity": generator.uniform(0.02, WEAK) if gap else generator.uniform(0.3, 0.8),
                "asker": f"client:{generator.randrange(VISITORS):024x}",
            }
        )
    return made


def votes(ids: list[int], answers: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Ratings for about one answer in five, a few minutes after it: mostly helpful, mostly not
    for the gaps."""
    generator = random.Random(seed + 1)
    now = datetime.now(UTC)
    made = []
    for interaction_id, answer in zip(ids, answers, strict=True):
        if generator.random() < 0.2:
            later = generator.uniform(1, 5)
            helpful = generator.random() < (0.3 if answer["similarity"] < WEAK else 0.8)
            made.append(
                {
                    "interaction_id": interaction_id,
                    "score": 1 if helpful else -1,
                    "rater": f"client:{generator.randrange(VISITORS):024x}",
                    "created_at": min(now, answer["created_at"] + timedelta(minutes=later)),
                }
            )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="Interactions written.")
    parser.add_argument("--days", type=int, default=30, help="Spread over the last this many days.")
    parser.add_argument(
        "--docs",
        type=Path,
        default=Path(__file__).parents[1] / "sample_docs",
        help="Headings to ask about.",
    )
    parser.add_argument("--topics", type=int, default=60, help="Headings asked about.")
    parser.add_argument(
        "--database", help="A SQLAlchemy URL (default: the project's, after asking)."
    )
    args = parser.parse_args()
    database = args.database or Settings().feedback_url
    if (
        not args.database
        and input(f"Write {args.count:,} made-up interactions to {database}? [y/N] ") != "y"
    ):
        raise SystemExit("nothing written")
    traffic = Traffic(args.count, args.days, args.topics, seed=0)
    pages = headings(args.docs)
    if not pages:
        raise SystemExit(f"{args.docs}: no page with three headings or more to ask about")
    texts, truth = synthetic_questions(pages, traffic.count, traffic.topics)
    made = rows(texts, truth, traffic)
    started = time.perf_counter()
    store = FeedbackStore(database)
    ids: list[int] = []
    with store.engine.begin() as connection:
        for start in range(0, len(made), BATCH):
            batch = made[start : start + BATCH]
            result = connection.execute(insert(interactions).returning(interactions.c.id), batch)
            ids += [row.id for row in result]
        rated = votes(ids, made, traffic.seed)
        for start in range(0, len(rated), BATCH):
            connection.execute(insert(ratings), rated[start : start + BATCH])
    print(
        f"wrote {len(made):,} interactions and {len(rated):,} ratings over {traffic.days} days to "
        f"{database} in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
