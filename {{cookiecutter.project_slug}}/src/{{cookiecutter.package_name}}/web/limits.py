"""How often one client may do something: at most ``per_minute`` times in any sliding minute."""

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0
MAX_CLIENTS = 10_000  # clients remembered at once; the idle ones are forgotten first


class RateLimit:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        """Count one more event for ``client``, unless it already had ``per_minute`` this minute."""
        now = self._clock()
        with self._lock:
            events = self._events.pop(client, None) or deque()
            while events and now - events[0] >= WINDOW_S:
                events.popleft()
            allowed = len(events) < self.per_minute
            if allowed:
                events.append(now)
            self._events[client] = events  # re-inserted: the dict stays in order of last use
            if len(self._events) > MAX_CLIENTS:
                del self._events[next(iter(self._events))]
            return allowed
