"""Questions asked through the web UI by several visitors, as people would: traffic for the
maintainers' page, ``report``, ``topics`` and ``gaps``. Asserts nothing.

    uv run python scripts/ask_as_visitors.py QUESTIONS.txt [--visitors 4] [--url URL]

QUESTIONS.txt holds one question a line (``#`` starts a comment). Every visitor asks every question,
from an address of its own (TEST-NET-3, in the X-Forwarded-For header that the UI believes from
127.0.0.1), so each counts as one asker. A visitor over the UI's rate limit waits and asks again.
"""

import argparse
import time
from pathlib import Path

from ui_client import Visitor

WEAK = "does not seem to cover"  # the UI's notice when even the closest passage is far
LIMITED = "please wait"  # the UI's notice to a visitor over its rate limit
SOURCES = '<div class="sources">'  # where the UI's answer ends and its sources begin


def ask(visitor: Visitor, question: str) -> str:
    """The answer as the UI showed it, without its sources (a passage may quote the notices),
    after as many waits as the rate limit asks for."""
    for _ in range(30):
        try:
            visitor.ask(question)
            return visitor.last_answer.partition(SOURCES)[0]
        except RuntimeError:
            if LIMITED not in visitor.last_answer:
                raise
            time.sleep(5)
    raise RuntimeError(f"still rate-limited after 150 s: {question!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--visitors", type=int, default=4)
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    args = parser.parse_args()
    lines = args.questions.read_text().splitlines()
    questions = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    visitors = [Visitor(args.url, f"203.0.113.{n + 1}") for n in range(args.visitors)]
    uncovered = 0
    for visitor in visitors:
        for question in questions:
            uncovered += WEAK in ask(visitor, question)
    print(
        f"asked {len(questions)} questions as {len(visitors)} visitors: "
        f"{len(questions) * len(visitors)} answers, {uncovered} saying the documentation does not "
        "seem to cover the question"
    )


if __name__ == "__main__":
    main()
