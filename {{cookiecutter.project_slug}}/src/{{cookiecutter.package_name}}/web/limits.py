"""How often one client may do something: at most ``per_minute`` times in any sliding minute."""

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

WINDOW_S = 60.0
MAX_CLIENTS = 10_000  # clients remembered at once; the idle ones are forgotten first


class SlidingWindow:
    """Events per key within the last ``window_s`` seconds, for at most ``MAX_CLIENTS`` keys (the
    least recently seen forgotten first). Not thread-safe: its users hold a lock."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._events: dict[Hashable, deque[float]] = {}

    def count(self, key: Hashable) -> int:
        now = self._clock()
        events = self._events.pop(key, None) or deque()
        while events and now - events[0] >= self.window_s:
            events.popleft()
        if events:
            self._events[key] = events  # re-inserted: the dict stays in order of last use
        return len(events)

    def record(self, key: Hashable) -> None:
        events = self._events.pop(key, None) or deque()
        events.append(self._clock())
        self._events[key] = events
        if len(self._events) > MAX_CLIENTS:
            del self._events[next(iter(self._events))]


class RateLimit:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._window = SlidingWindow(WINDOW_S, clock)
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        """Count one more event for ``client``, unless it already had ``per_minute`` this minute."""
        with self._lock:
            allowed = self._window.count(client) < self.per_minute
            if allowed:
                self._window.record(client)
            return allowed
