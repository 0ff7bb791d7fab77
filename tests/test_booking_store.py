"""Booking storage against a real SQLite file and the real PostgreSQL on this machine."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import yaml

from core.availability import Schedule
from core.booking_store import BookingStore, NotFound, SlotTaken
from core.reference_codes import ALPHABET, looks_like_code, new_code, normalise_code
from tests.conftest import ROOT, postgres_url  # noqa: F401 (fixture)

OSLO = ZoneInfo("Europe/Oslo")
SCHEDULE = Schedule.from_config(
    {
        "slot_minutes": 45,
        "counsellors_per_slot": 1,
        "min_notice_minutes": 120,
        "horizon_days": 14,
        "weekly_hours": {"monday": ["09:00-12:00"], "tuesday": ["09:00-12:00"], "thursday": ["12:00-19:30"]},
        "closed_dates": ["2027-01-05"],
    }
)
MONDAY_MORNING = datetime(2027, 1, 4, 7, 0, tzinfo=OSLO)  # Monday 4 January 2027, 07:00


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'bookings.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    store = BookingStore(url)
    store.migrate()
    yield store
    with store.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM bookings"))
    store.engine.dispose()


def test_migrations_run_from_empty_and_again(store):
    store.migrate()
    assert "bookings" in sa.inspect(store.engine).get_table_names()


def test_book_find_cancel(store):
    slot = datetime(2027, 1, 4, 9, 45, tzinfo=OSLO)
    booking = store.book(slot, "phone", seats=1, sender_id="pseudo-1", phone="+47 912 34 567")
    assert looks_like_code(booking.reference)
    found = store.find(booking.reference.lower().replace("-", " "))
    assert found.slot_start == slot and found.channel == "phone" and found.phone == "+47 912 34 567"
    store.cancel(booking.reference)
    assert store.find(booking.reference).status == "cancelled"
    with pytest.raises(NotFound):
        store.cancel(booking.reference)
    # a cancelled booking frees its slot
    assert store.book(slot, "chat", seats=1).status == "booked"


def test_a_slot_is_never_booked_twice(store):
    slot = datetime(2027, 1, 4, 9, 0, tzinfo=OSLO)
    store.book(slot, "chat", seats=1)
    with pytest.raises(SlotTaken):
        store.book(slot, "phone", seats=1)


def test_simultaneous_confirmations_give_exactly_one_booking(store):
    slot = datetime(2027, 1, 4, 10, 30, tzinfo=OSLO)

    def confirm(index):
        try:
            return store.book(slot, "chat", seats=1, sender_id=f"user-{index}")
        except SlotTaken:
            return None

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(confirm, range(24)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    with store.engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM bookings WHERE status = 'booked'")).scalar()
    assert count == 1


def test_seats_allow_parallel_conversations(store):
    slot = datetime(2027, 1, 4, 11, 15, tzinfo=OSLO)
    store.book(slot, "chat", seats=2)
    store.book(slot, "phone", seats=2)
    with pytest.raises(SlotTaken):
        store.book(slot, "in_person", seats=2)


def test_free_slots_skip_taken_and_respect_notice_and_hours(store):
    store.book(datetime(2027, 1, 4, 9, 0, tzinfo=OSLO), "chat", seats=1)
    free = store.free_slots(SCHEDULE, MONDAY_MORNING, limit=4)
    # 07:00 + 2 h notice = 09:00, which is taken; Tuesday 5 January is closed
    assert [s.strftime("%a %H:%M") for s in free] == ["Mon 09:45", "Mon 10:30", "Mon 11:15", "Thu 12:00"]
    assert all(s.tzinfo is not None for s in free)


def test_closed_days_and_wishes(store):
    # Tuesday 5 January 2027 is closed in this schedule
    tuesday = datetime(2027, 1, 5, 0, 0, tzinfo=OSLO)
    assert store.free_slots(SCHEDULE, MONDAY_MORNING, 4, tuesday, tuesday + timedelta(days=1)) == []
    evening = store.free_slots(SCHEDULE, MONDAY_MORNING, 2, datetime(2027, 1, 7, 17, 0, tzinfo=OSLO))
    # Thursday slots run every 45 minutes from 12:00: ..., 16:30, 17:15, 18:00
    assert [s.strftime("%a %H:%M") for s in evening] == ["Thu 17:15", "Thu 18:00"]


def test_move_keeps_the_old_slot_until_the_new_one_is_won(store):
    first = datetime(2027, 1, 4, 9, 45, tzinfo=OSLO)
    taken = datetime(2027, 1, 4, 10, 30, tzinfo=OSLO)
    free = datetime(2027, 1, 4, 11, 15, tzinfo=OSLO)
    mine = store.book(first, "chat", seats=1)
    store.book(taken, "chat", seats=1)
    with pytest.raises(SlotTaken):
        store.move(mine.reference, taken, seats=1)
    assert store.find(mine.reference).slot_start == first
    assert store.move(mine.reference, free, seats=1).slot_start == free
    assert store.book(first, "phone", seats=1).status == "booked"


def test_phone_numbers_are_erased_after_the_retention_period(store):
    old = store.book(datetime(2027, 1, 4, 9, 0, tzinfo=OSLO), "phone", seats=1, phone="91234567")
    recent = store.book(datetime(2027, 1, 11, 9, 0, tzinfo=OSLO), "phone", seats=1, phone="91234568")
    now = datetime(2027, 1, 12, 12, 0, tzinfo=OSLO)
    assert store.erase_expired_phones(now, retention_days=7) == 1
    assert store.find(old.reference).phone is None
    assert store.find(recent.reference).phone == "91234568"
    assert store.erase_expired_phones(now, retention_days=7) == 0


def test_deleting_a_conversation_unlinks_its_bookings_and_keeps_only_a_call_still_to_come(store):
    now = datetime(2027, 1, 6, 12, 0, tzinfo=OSLO)
    past_call = store.book(datetime(2027, 1, 4, 9, 0, tzinfo=OSLO), "phone", seats=1, sender_id="me", phone="91234567")
    next_call = store.book(datetime(2027, 1, 11, 9, 0, tzinfo=OSLO), "phone", seats=1, sender_id="me", phone="91234568")
    chat = store.book(datetime(2027, 1, 11, 9, 45, tzinfo=OSLO), "chat", seats=1, sender_id="me")
    other = store.book(datetime(2027, 1, 11, 9, 0, tzinfo=OSLO), "phone", seats=2, sender_id="else", phone="91234569")
    assert store.detach_sender("me", now) == (3, 1)
    with store.engine.connect() as connection:
        rows = {
            r.reference: r
            for r in connection.execute(sa.text("SELECT reference, sender_id, phone, status FROM bookings"))
        }
    assert all(rows[b.reference].sender_id is None for b in (past_call, next_call, chat))
    assert rows[past_call.reference].phone is None and rows[next_call.reference].phone == "91234568"
    assert rows[chat.reference].status == "booked"
    assert rows[other.reference].sender_id == "else" and rows[other.reference].phone == "91234569"
    assert store.detach_sender("me", now) == (0, 0)


def test_reference_codes_are_unambiguous():
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        assert len(code) == 9 and code[4] == "-"
        assert not set(code.replace("-", "")) - set(ALPHABET)
    assert len(ALPHABET) ** 8 > 10**10  # far too many to guess at a few tries a day
    assert not set("01258OILZSBUVG6") & set(ALPHABET)
    assert normalise_code("acde fh7k") == "ACDE-FH7K"
    assert normalise_code("acd efh") == "ACD-EFH"  # codes given before they grew stay valid


def test_schedule_keeps_local_hours_across_daylight_saving():
    schedule = Schedule.from_config({"slot_minutes": 60, "weekly_hours": {"monday": ["09:00-10:00"]}})
    winter = next(schedule.slots_on(datetime(2027, 1, 4).date()))
    summer = next(schedule.slots_on(datetime(2027, 6, 7).date()))
    assert winter.hour == summer.hour == 9
    assert winter.utcoffset() != summer.utcoffset()


def test_the_shipped_availability_file_loads():
    schedule = Schedule.from_config(yaml.safe_load((ROOT / "content" / "booking.yml").read_text()))
    assert schedule.slot_minutes > 0 and schedule.channels == ("in_person", "phone", "chat")


def test_counsellor_command_line(tmp_path, monkeypatch, capsys):
    from actions import bookings as cli

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert cli.main(["free", "--limit", "2"]) == 0
    first_free = capsys.readouterr().out.splitlines()[0]
    start = datetime.strptime(first_free[4:], "%d.%m.%Y %H:%M").strftime("%Y-%m-%d %H:%M")
    assert cli.main(["block", start]) == 0
    assert "blocked" in capsys.readouterr().out
    assert cli.main(["free", "--limit", "1"]) == 0
    assert capsys.readouterr().out.strip() != first_free
    assert cli.main(["erase-phones", "--dry-run"]) == 0
    assert "would erase 0" in capsys.readouterr().out
    assert cli.main(["cancel", "XXX-XXX"]) == 1


def test_the_same_turn_retried_books_once(store):
    """The gateway resends a turn after a fault with the same turn id; the action derives the
    same request key, and the second call returns the first booking instead of a new one."""
    slot = datetime(2027, 1, 4, 10, 30, tzinfo=OSLO)
    first = store.book(slot, "chat", seats=2, sender_id="pseudo-9", request_key="k" * 64)
    again = store.book(slot, "chat", seats=2, sender_id="pseudo-9", request_key="k" * 64)
    other_turn = store.book(slot, "chat", seats=2, sender_id="pseudo-9", request_key="m" * 64)
    assert again.reference == first.reference != other_turn.reference
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM bookings")).scalar() == 2


def test_a_retried_turn_whose_slot_filled_meanwhile_still_finds_its_booking(store):
    slot = datetime(2027, 1, 4, 11, 15, tzinfo=OSLO)
    mine = store.book(slot, "chat", seats=1, request_key="a" * 64)
    assert store.book(slot, "chat", seats=1, request_key="a" * 64).reference == mine.reference
    with pytest.raises(SlotTaken):
        store.book(slot, "chat", seats=1, request_key="b" * 64)


def test_forgetting_a_sender_also_forgets_the_turn_keys(store):
    slot = datetime(2027, 1, 4, 9, 45, tzinfo=OSLO)
    store.book(slot, "chat", seats=1, sender_id="pseudo-7", request_key="c" * 64)
    store.detach_sender("pseudo-7", MONDAY_MORNING)
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT request_key FROM bookings")).scalar() is None


def test_a_booking_survives_its_postgresql_connections_being_cut(postgres_url):
    """pg_terminate_backend on every connection, as a restart does: the next call reconnects."""
    store = BookingStore(postgres_url)
    store.migrate()
    slot = datetime(2027, 1, 4, 9, 0, tzinfo=OSLO)
    store.free_slots(SCHEDULE, MONDAY_MORNING, limit=3)  # a pooled connection exists now
    admin = sa.create_engine(postgres_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        cut = connection.execute(
            sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :d"),
            {"d": postgres_url.rsplit("/", 1)[1]},
        ).scalar()
    admin.dispose()
    assert cut >= 1
    booking = store.book(slot, "chat", seats=1, request_key="d" * 64)
    assert store.find(booking.reference).status == "booked"
    with store.engine.begin() as connection:  # the database is shared with the module's other tests
        connection.execute(sa.text("DELETE FROM bookings"))
    store.engine.dispose()


def test_a_week_after_the_appointment_a_booking_no_longer_points_to_a_conversation(store):
    past = datetime(2027, 1, 4, 9, 0, tzinfo=OSLO)
    recent = datetime(2027, 1, 11, 9, 0, tzinfo=OSLO)
    store.book(past, "chat", seats=1, sender_id="pseudo-old", nickname="Kim", request_key="e" * 64)
    kept = store.book(recent, "chat", seats=1, sender_id="pseudo-new")
    now = datetime(2027, 1, 12, 12, 0, tzinfo=OSLO)
    assert store.unlink_past_bookings(now, 7, dry_run=True) == 1
    assert store.unlink_past_bookings(now, 7) == 1
    assert store.unlink_past_bookings(now, 7) == 0  # idempotent
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT sender_id, nickname, request_key, status FROM bookings ORDER BY slot_start")
        ).all()
    assert rows[0] == (None, None, None, "booked")  # the booking stays, unlinked
    assert store.find(kept.reference).sender_id == "pseudo-new"
