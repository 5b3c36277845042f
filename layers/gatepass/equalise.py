"""Answer alike in time: a stand-in that waits about as long as the call it replaces.

``/subscribe`` and ``/send-otp`` answer every address with the same status and body, and do the
same DynamoDB work for every address; only the last step differs (StartExecution or Publish for
an address that gets one, nothing for one that does not). ``StandIn`` keeps a running average of
how long the real call takes in this container and, where the call is not made, waits that long
instead, so timing tells a caller no more than the answer does (docs/security.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class StandIn:
    def __init__(self, initial_seconds: float, *, weight: float = 0.2, ceiling: float = 2.0):
        self._estimate = initial_seconds
        self._weight = weight
        self._ceiling = ceiling
        self._lock = threading.Lock()

    @property
    def estimate(self) -> float:
        return self._estimate

    def timed(self, call: Callable[[], T]) -> T:
        """Run the real call and fold its duration into the estimate."""
        started = time.perf_counter()
        try:
            return call()
        finally:
            took = min(self._ceiling, time.perf_counter() - started)
            with self._lock:
                self._estimate += self._weight * (took - self._estimate)

    def wait(self) -> None:
        """Stand in for the call: wait about as long as it takes."""
        time.sleep(max(0.0, min(self._ceiling, self._estimate)))
