"""Deleting a conversation from Rasa's own SQL tracker store, on SQLite and the real PostgreSQL."""

import asyncio
import time

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from core.conversation_store import ConversationStore
from tests.conftest import postgres_url  # noqa: F401 (fixture)


@pytest.fixture(params=["sqlite", "postgresql"])
def rasa_store_and_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "tracker.db"
        return SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path)), f"sqlite:///{path}"
    url = sa.engine.make_url(request.getfixturevalue("postgres_url"))
    rasa_store = SQLTrackerStore(
        Domain.empty(), dialect="postgresql", host=url.host, port=url.port, db=url.database, username=url.username
    )
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


def old_and_new(rasa_store, now: float) -> None:
    """One conversation last active 40 days ago, one 5 days ago."""
    for sender, days_ago in (("web-old", 40), ("web-recent", 5)):
        at = now - days_ago * 86400
        tracker = DialogueStateTracker.from_events(
            sender, [ActionExecuted("action_listen", timestamp=at), UserUttered("hei", timestamp=at + 1)]
        )
        asyncio.run(rasa_store.save(tracker))


def test_retention_deletes_idle_conversations_only_and_is_idempotent(rasa_store_and_url, tmp_path):
    from bot.retention import apply_retention
    from core.booking_store import BookingStore

    rasa_store, url = rasa_store_and_url
    now = time.time()  # the PostgreSQL database is shared with this module's other tests
    old_and_new(rasa_store, now)
    store = ConversationStore(url)
    bookings = BookingStore(f"sqlite:///{tmp_path / 'bookings.db'}")
    bookings.migrate()
    dry = apply_retention(store, bookings, retention_days=30, now=now, dry_run=True)
    assert (dry.conversations, dry.events) == (1, 2) and store.count("web-old") == 2
    done = apply_retention(store, bookings, retention_days=30, now=now)
    assert (done.conversations, done.events) == (1, 2)
    assert store.count("web-old") == 0 and store.count("web-recent") == 2
    again = apply_retention(store, bookings, retention_days=30, now=now)
    assert (again.conversations, again.events, again.phones) == (0, 0, 0)


def test_retention_command_line_dry_run(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    rasa_store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    old_and_new(rasa_store, time.time())
    env = {
        **os.environ,
        "TRACKER_DB": str(tmp_path / "tracker.db"),
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bookings.db'}",
        "PYTHONPATH": str(ROOT),
    }
    run = subprocess.run(
        [sys.executable, "-m", "bot.retention", "--dry-run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and "Would delete: 1 conversations (2 events), 0 phone numbers" in run.stdout
    assert ConversationStore(f"sqlite:///{tmp_path / 'tracker.db'}").count("web-old") == 2


def test_retention_deletes_audit_entries_older_than_their_limit(tmp_path):
    from datetime import datetime, timedelta, timezone

    from bot.retention import apply_retention
    from core.audit_log import AuditLog, audit_log
    from core.booking_store import BookingStore

    bookings = BookingStore(f"sqlite:///{tmp_path / 'bookings.db'}")
    bookings.migrate()
    audit = AuditLog(bookings.engine)
    audit.record("radgiver", "login")
    long_ago = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=400)
    with bookings.engine.begin() as connection:
        connection.execute(audit_log.insert().values(at=long_ago, actor="radgiver", event="login"))
    conversations = ConversationStore(f"sqlite:///{tmp_path / 'tracker.db'}")
    assert apply_retention(conversations, bookings, 30, dry_run=True).audit_entries == 1
    assert apply_retention(conversations, bookings, 30).audit_entries == 1
    assert [entry.event for entry in audit.entries()] == ["login"]
    assert apply_retention(conversations, bookings, 30).audit_entries == 0
