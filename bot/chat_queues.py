"""One queue per chat: a chat's messages are handled one at a time, in the order they came,
while different chats run side by side. A chat's worker ends when its queue is empty.

With a TurnOrder (bot/turn_order.py), each job also holds the conversation's turn across
gateway replicas, so the same conversation reaching two replicas is still handled one by one."""

import asyncio
import contextlib
import logging
from typing import Awaitable, Callable, Dict, Hashable, Optional

from bot.turn_order import TurnOrder

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[None]]


class ChatQueues:
    def __init__(self, turns: Optional[TurnOrder] = None) -> None:
        self.turns = turns
        self._queues: Dict[Hashable, asyncio.Queue] = {}
        self._workers: Dict[Hashable, asyncio.Task] = {}

    def put(self, chat: Hashable, job: Job) -> None:
        queue = self._queues.setdefault(chat, asyncio.Queue())
        queue.put_nowait(job)
        if chat not in self._workers:
            self._workers[chat] = asyncio.create_task(self._work(chat, queue))

    async def _work(self, chat: Hashable, queue: asyncio.Queue) -> None:
        try:
            while not queue.empty():
                job = queue.get_nowait()
                try:
                    async with self.turns.turn(str(chat)) if self.turns else contextlib.nullcontext():
                        await job()
                except Exception:  # one failed message must not stop the chat's later ones
                    log.exception("A chat job failed")
        finally:
            del self._workers[chat], self._queues[chat]

    async def drain(self) -> None:
        """Waits for every queued job (used when shutting down)."""
        while self._workers:
            await asyncio.gather(*self._workers.values(), return_exceptions=True)

    def busy_chats(self) -> int:
        return len(self._workers)
