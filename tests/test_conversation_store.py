"""Deleting a conversation from Rasa's own SQL tracker store, on SQLite and the real PostgreSQL."""
import asyncio

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.conversation_store import ConversationStore
from tests.conftest import postgres_url  # noqa: F401 (fixture)


@pytest.fixture(params=["sqlite", "postgresql"])
def rasa_store_and_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "tracker.db"
        return SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path)), f"sqlite:///{path}"
    url = sa.engine.make_url(request.getfixturevalue("postgres_url"))
    rasa_store = SQLTrackerStore(Domain.empty(), dialect="postgresql", host=url.host, port=url.port,
                                 db=url.database, username=url.username)
    return rasa_store, str(url)


def conversation(sender: str, text: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, [ActionExecuted("action_listen"), UserUttered(text)])


def test_a_deleted_conversation_is_gone_and_others_stay(rasa_store_and_url):
    rasa_store, url = rasa_store_and_url
    asyncio.run(rasa_store.save(conversation("telegram-aaa", "jeg lurer på klamydia")))
    asyncio.run(rasa_store.save(conversation("telegram-bbb", "hei")))
    store = ConversationStore(url)
    assert store.delete("telegram-aaa") == 2
    assert store.count("telegram-aaa") == 0 and store.count("telegram-bbb") == 2
    with store.engine.connect() as connection:
        texts = [row[0] for row in connection.execute(sa.text("SELECT data FROM events"))]
    assert not any("klamydia" in text for text in texts)
    assert asyncio.run(rasa_store.retrieve("telegram-aaa")) is None
    assert store.delete("telegram-aaa") == 0


def test_deleting_before_rasa_stored_anything_is_fine(tmp_path):
    assert ConversationStore(f"sqlite:///{tmp_path / 'empty.db'}").delete("telegram-x") == 0
