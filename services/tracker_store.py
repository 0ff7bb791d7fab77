"""Rasa's SQL tracker store, made to ride out a PostgreSQL restart or cut connections.

Rasa wraps every tracker store in a fail-safe that, on the first database error, answers from an
empty conversation (retrieve) or keeps the turn in this process's memory only (save). With
several Rasa servers that silently loses the conversation's state. Here a connection the
database closed is replaced before use (pool_pre_ping), and a call that still fails on a lost
connection is tried again for a few seconds before Rasa's fail-safe sees the error.

Every service_… slot (service name, phone, hours) starts with its value from content/service.yml
(read when Rasa loads the model), so an answer Rasa utters before any action has run, as in a
session that started while the action server was down, never shows "None".
Used for SQLite and PostgreSQL alike (bot/endpoints.py).
"""

import asyncio
import logging
from typing import Any, Awaitable, Callable, Iterable, Optional, Text, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from core.content import service_details

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


def start_with_service_details(domain: Domain) -> None:
    """Gives the domain's service_… slots their configured values as initial values (every new
    or restarted tracker starts from them; the action server sets them again at session start)."""
    details = service_details()
    for slot in domain.slots:
        if slot.name in details:
            slot.initial_value = details[slot.name]
            slot.reset()


class ResilientSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        start_with_service_details(self._domain)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    @property
    def domain(self) -> Domain:
        return self._domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:  # Rasa sets it when it loads a model
        self._domain = domain or Domain.empty()
        start_with_service_details(self._domain)

    async def keys(self) -> Iterable[Text]:
        return await _retrying(lambda: super(ResilientSQLTrackerStore, self).keys())

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        return await _retrying(lambda: super(ResilientSQLTrackerStore, self).retrieve(sender_id))

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        return await _retrying(lambda: super(ResilientSQLTrackerStore, self).retrieve_full_tracker(conversation_id))

    async def save(self, tracker: DialogueStateTracker) -> None:
        await _retrying(lambda: super(ResilientSQLTrackerStore, self).save(tracker))
