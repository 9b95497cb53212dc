"""Questions of concurrent visitors are embedded together, each getting its own vector."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.index.embeddings import embedding_model
from {{ cookiecutter.package_name }}.index.local_embedding import Batcher


class SlowSquares:
    """Work that takes a while per call, recording the batches it was given."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.lock = threading.Lock()

    def __call__(self, items: list[int]) -> list[int]:
        with self.lock:
            self.batches.append(items)
        time.sleep(0.05)
        if -1 in items:
            raise ValueError("unlucky")
        return [item * item for item in items]


def test_concurrent_callers_share_calls_and_each_gets_its_own_result() -> None:
    work = SlowSquares()
    squares = Batcher(work, most=8)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(squares, range(16)))
    assert results == [n * n for n in range(16)]
    assert len(work.batches) < 16  # callers that came while a call ran were served together
    assert max(len(batch) for batch in work.batches) <= 8
    assert sorted(n for batch in work.batches for n in batch) == list(range(16))


def test_a_lone_caller_is_served_at_once_and_an_error_reaches_its_batch() -> None:
    work = SlowSquares()
    squares = Batcher(work)
    assert squares(3) == 9
    assert work.batches == [[3]]
    with pytest.raises(ValueError, match="unlucky"):
        squares(-1)
    assert squares(4) == 16  # the worker goes on after a failed batch


@pytest.mark.slow
def test_batched_question_vectors_equal_one_by_one_vectors(settings: Settings) -> None:
    model = embedding_model(settings)
    questions = [f"How do I configure setting number {n} of the ingestion?" for n in range(12)]
    alone = [model._embed([q], prompt_name="query")[0] for q in questions]  # type: ignore[attr-defined]
    with ThreadPoolExecutor(12) as pool:
        together = list(pool.map(model.get_query_embedding, questions))
    for one, batched in zip(alone, together, strict=True):
        assert batched == pytest.approx(one, abs=1e-5)
