"""Per-chat flood protection: at most `limit` messages in `window` seconds.

The first message over the limit gets one warning; the rest are dropped silently until the
window has room again.
"""

import time
from collections import deque
from enum import Enum
from typing import Deque, Dict, Hashable, Optional


class Verdict(Enum):
    ACCEPT = "accept"
    WARN = "warn"
    DROP = "drop"


class FloodGuard:
    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._seen: Dict[Hashable, Deque[float]] = {}
        self._warned: Dict[Hashable, bool] = {}
        self._pruned_at = 0.0

    def check(self, chat: Hashable, now: Optional[float] = None) -> Verdict:
        now = time.monotonic() if now is None else now
        if now - self._pruned_at > self.window:  # once a window, so idle chats are not kept
            self._pruned_at = now
            self.prune(now)
        seen = self._seen.setdefault(chat, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) < self.limit:
            seen.append(now)
            self._warned[chat] = False
            return Verdict.ACCEPT
        if self._warned.get(chat):
            return Verdict.DROP
        self._warned[chat] = True
        return Verdict.WARN

    def forget(self, chat: Hashable) -> None:
        self._seen.pop(chat, None)
        self._warned.pop(chat, None)

    def prune(self, now: Optional[float] = None) -> None:
        """Drops chats with nothing in the window, so memory does not grow with every chat ever seen."""
        now = time.monotonic() if now is None else now
        for chat in [c for c, seen in self._seen.items() if not seen or seen[-1] <= now - self.window]:
            self.forget(chat)
