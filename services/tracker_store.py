"""Rasa's SQL tracker store, made to ride out a PostgreSQL restart or cut connections.

Rasa wraps every tracker store in a fail-safe that, on the first database error, answers from an
empty conversation (retrieve) or keeps the turn in this process's memory only (save). With
several Rasa servers that silently loses the conversation's state. Here a connection the
database closed is replaced before use (pool_pre_ping), and a call that still fails on a lost
connection is tried again for a few seconds before Rasa's fail-safe sees the error.
Used when TRACKER_STORE_URL is set (bot/endpoints.py).
"""

import asyncio
import logging
from typing import Any, Awaitable, Callable, Iterable, Optional, Text, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker

log = logging.getLogger(__name__)
PAUSES = (0.2, 0.5, 1.0, 2.0, 3.0)  # about 7 s in all: a PostgreSQL restart takes a few seconds
T = TypeVar("T")


async def _retrying(call: Callable[[], Awaitable[T]]) -> T:
    for pause in PAUSES:
        try:
            return await call()
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            log.warning(
                "Tracker store: database unreachable (%s); trying again in %.1f s",
                type(error.orig).__name__ if getattr(error, "orig", None) else type(error).__name__,
                pause,
            )
            await asyncio.sleep(pause)
    return await call()


class ResilientSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def keys(self) -> Iterable[Text]:
        return await _retrying(lambda: super(ResilientSQLTrackerStore, self).keys())

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        return await _retrying(lambda: super(ResilientSQLTrackerStore, self).retrieve(sender_id))

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        return await _retrying(lambda: super(ResilientSQLTrackerStore, self).retrieve_full_tracker(conversation_id))

    async def save(self, tracker: DialogueStateTracker) -> None:
        await _retrying(lambda: super(ResilientSQLTrackerStore, self).save(tracker))
