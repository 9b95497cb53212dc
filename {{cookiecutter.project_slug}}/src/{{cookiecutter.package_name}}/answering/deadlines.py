"""Waiting for a slow producer with deadlines: a person should not wait on a language model that has
stopped answering.

``Deadlined`` runs an iterator in a worker thread and hands its items on, raising ``TimeoutError``
when the first item takes longer than ``first_s`` or the whole longer than ``total_s``. The worker
cannot be stopped from outside; it ends when the producer does (the client's own timeout bounds that),
and nobody waits for it meanwhile.
"""

import queue
import threading
import time
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class Deadlined(Generic[T]):
    def __init__(self, items: Iterator[T], first_s: float, total_s: float) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self._started = time.monotonic()
        self._first_s = first_s
        self._total_s = total_s
        self._seen_one = False
        threading.Thread(target=self._produce, args=(items,), daemon=True).start()

    def _produce(self, items: Iterator[T]) -> None:
        try:
            for item in items:
                self._queue.put(item)
        except Exception as error:  # handed to the reader, who decides what it means
            self._queue.put(error)
        self._queue.put(_END)

    def __iter__(self) -> "Deadlined[T]":
        return self

    def __next__(self) -> T:
        limit = self._total_s if self._seen_one else min(self._first_s, self._total_s)
        remaining = limit - (time.monotonic() - self._started)
        try:
            item = self._queue.get(timeout=max(remaining, 0.0))
        except queue.Empty:
            what = "the rest of the answer" if self._seen_one else "a first word"
            raise TimeoutError(f"{what} did not come within {limit:.0f} s") from None
        if item is _END:
            raise StopIteration
        if isinstance(item, Exception):
            raise item
        self._seen_one = True
        return item  # type: ignore[return-value]
