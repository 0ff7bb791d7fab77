"""The handoff store and the counsellor accounts on a real database: SQLite here, and the same
checks on the machine's PostgreSQL (the cluster's database)."""

import asyncio
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest

from bot.handoff import Handoffs
from bot.passwords import hash_password
from core.audit_log import AuditLog
from core.booking_store import BookingStore
from core.counsellor_accounts import CounsellorAccounts
from core.handoff_store import HandoffStore
from core.settings import HandoffSettings

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def stores(url: str):
    bookings = BookingStore(url)
    bookings.migrate()
    return HandoffStore(bookings.engine), CounsellorAccounts(bookings.engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bookings.db'}"
    return request.getfixturevalue("postgres_url")


def ten_at_once(call, arguments):
    """Runs call(argument) in ten threads released together; returns the results."""
    start, results = threading.Barrier(len(arguments)), [None] * len(arguments)

    def one(index):
        start.wait()
        results[index] = call(arguments[index])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(arguments))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_ten_counsellors_claiming_one_conversation_at_once_exactly_one_gets_it(database):
    store, _ = stores(database)
    handoff = store.request("sender-a", "web", "nb", crisis=False, topics=["faq/pep"])
    results = ten_at_once(lambda name: store.claim(handoff.id, name), [f"radgiver{i}" for i in range(10)])
    assert results.count(True) == 1
    claimed = store.get(handoff.id)
    assert claimed.state == "with_counsellor" and claimed.counsellor == f"radgiver{results.index(True)}"


def test_one_open_handoff_per_conversation_even_when_asked_twice_at_once(database):
    store, _ = stores(database)
    found = ten_at_once(lambda _: store.request("sender-b", "web", "nb", False, []).id, list(range(10)))
    assert len(set(found)) == 1
    assert [h.id for h in store.waiting() if h.sender_id == "sender-b"] == [found[0]]


def test_the_queue_puts_crisis_first_then_the_longest_waiting(database):
    store, _ = stores(database)
    first = store.request("s1", "web", "nb", False, [])
    second = store.request("s2", "telegram", "en", False, [])
    urgent = store.request("s3", "web", "nb", True, ["crisis_suicide"])
    mine = {first.id, second.id, urgent.id}
    assert [h.id for h in store.waiting() if h.id in mine] == [urgent.id, first.id, second.id]
    assert store.position(second) > store.position(first) > store.position(urgent)


def test_deleting_a_conversation_removes_its_handoffs_and_transcript_and_nothing_else(database):
    store, _ = stores(database)
    mine = store.request("mine", "web", "nb", False, [])
    other = store.request("other", "web", "nb", False, [])
    store.add_message(mine.id, "visitor", "noe privat")
    store.add_message(other.id, "visitor", "noe annet")
    assert store.delete_sender("mine") == 1
    assert store.transcript_of_sender("mine") == []
    assert [m.text for m in store.transcript_of_sender("other")] == ["noe annet"]


def test_ended_chats_go_after_the_retention_period(database):
    store, _ = stores(database)
    handoff = store.request("old", "web", "nb", False, [])
    store.add_message(handoff.id, "visitor", "hei")
    store.end(handoff.id, "visitor")
    assert store.delete_ended_before(datetime.now(timezone.utc) - timedelta(days=1)) == 0
    assert store.delete_ended_before(datetime.now(timezone.utc) + timedelta(seconds=1)) == 1
    assert store.transcript_of_sender("old") == []


def test_feedback_is_counted_once_per_ended_chat_and_never_linked(database):
    store, _ = stores(database)
    handoff = store.request("fb", "web", "nb", False, [])
    today = datetime.now(timezone.utc).date()
    assert not store.take_feedback("fb", "yes", today)  # not asked yet
    store.end(handoff.id, "counsellor")
    assert store.take_feedback("fb", "yes", today)
    assert not store.take_feedback("fb", "no", today)  # a second tap
    assert store.feedback_counts() == {"yes": 1}
    with store.engine.connect() as connection:
        columns = [row[0] for row in connection.exec_driver_sql("SELECT * FROM chat_feedback").cursor.description]
    assert sorted(columns) == ["answer", "count", "day"]


def test_an_unclaimed_chat_is_told_once_and_an_idle_chat_ends_once(tmp_path):
    store, accounts = stores(f"sqlite:///{tmp_path / 'bookings.db'}")
    handoffs = Handoffs(store, accounts, HandoffSettings(wait_minutes=10, idle_minutes=20), AuditLog(store.engine))
    told = []

    class Reach:
        async def notice(self, said):
            told.append(said)

        async def messages(self, messages):
            told.extend(message.text for message in messages)

    handoffs.reach_with("web", lambda handoff: Reach())
    waiting = store.request("w", "web", "nb", False, [])
    talking = store.request("t", "web", "nb", False, [])
    store.claim(talking.id, "kari")
    later = datetime.now(timezone.utc) + timedelta(minutes=11)
    asyncio.run(handoffs.check_clock(later))
    asyncio.run(handoffs.check_clock(later))
    assert sum("10 minutter" in said for said in told) == 1
    assert store.get(talking.id).state == "with_counsellor"
    asyncio.run(handoffs.check_clock(datetime.now(timezone.utc) + timedelta(minutes=21)))
    assert store.get(talking.id).state == "ended"
    assert store.get(waiting.id).state == "waiting"  # waiting is not idling: it stays in the queue
    assert any("stille en stund" in said for said in told)
    # ... until nothing has been said for the wait and the idle time together (a closed tab)
    asyncio.run(handoffs.check_clock(datetime.now(timezone.utc) + timedelta(minutes=31)))
    assert store.get(waiting.id).state == "ended"


def test_logins_live_in_the_database_and_a_disabled_account_loses_them(database):
    _, accounts = stores(database)
    accounts.save("kari", hash_password("et-langt-passord"), "counsellor", "Kari")
    token = accounts.log_in("kari", timedelta(hours=8))
    _, after_restart = stores(database)  # another replica, or the same after a restart
    assert after_restart.login_of(token).account.display_name == "Kari"
    after_restart.disable("kari")
    assert accounts.login_of(token) is None


def test_availability_lasts_only_while_the_console_is_seen(database):
    _, accounts = stores(database)
    for name in [a.name for a in accounts.all()]:
        accounts.disable(name)
    accounts.save("ola", hash_password("et-langt-passord"))
    accounts.set_available("ola", True)
    assert [a.name for a in accounts.available_now()] == ["ola"]
    with accounts.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE counsellor_accounts SET seen_at = seen_at - INTERVAL '2 minutes'") if (
            connection.dialect.name == "postgresql"
        ) else connection.exec_driver_sql("UPDATE counsellor_accounts SET seen_at = datetime(seen_at, '-2 minutes')")
    assert accounts.available_now() == []


def test_the_command_line_adds_lists_and_disables_accounts_with_the_password_from_stdin(tmp_path):
    environment = {"DATABASE_URL": f"sqlite:///{tmp_path / 'bookings.db'}", "PATH": "/usr/bin:/bin"}

    def counsellors(*arguments, stdin=""):
        return subprocess.run(
            [sys.executable, "-m", "bot.counsellors", *arguments],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=environment,
            timeout=60,
        )

    added = counsellors("add", "kari", "--role", "supervisor", "--display-name", "Kari", stdin="et-langt-passord\n")
    assert added.returncode == 0, added.stderr
    assert "et-langt-passord" not in added.stdout + added.stderr
    too_short = counsellors("add", "ola", stdin="kort\n")
    assert too_short.returncode != 0
    listed = counsellors("list")
    assert "kari\tsupervisor\taktiv" in listed.stdout and "ola" not in listed.stdout
    assert counsellors("disable", "kari").returncode == 0
    assert "kari\tsupervisor\tdeaktivert" in counsellors("list").stdout
    _, accounts = stores(environment["DATABASE_URL"])
    assert accounts.get("kari").password_hash.startswith("$argon2")
