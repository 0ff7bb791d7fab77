"""Bookings storage: SQLite by default, PostgreSQL when the URL it is given says so (the
settings' bookings_url: DATABASE_URL, core/settings.py).

A slot can never be booked twice: every active booking holds one "seat" of its slot, and a
partial unique index on (slot_start, seat) for active bookings lets the database, not Python,
decide who wins when two people confirm the same slot at the same moment. Times are stored as
naive UTC. Bookings hold no conversation text; the sender id is the channel's pseudonym.
"""

import functools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from core.availability import Schedule
from core.phone_numbers import new_handle
from core.reference_codes import new_code, normalise_code
from core.settings import Retention, load_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ACTIVE = ("booked", "blocked")
LOST_CONNECTION_PAUSES = (0.2, 0.5, 1.0, 2.0, 3.0)
MIGRATION_LOCK = 7_351_204  # any number, the same in every process that migrates this database
LINK_TO_CONVERSATION = ("sender_id", "nickname", "request_key", "client_key")  # emptied on deletion and after retention

metadata = sa.MetaData()
bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(16), nullable=False, unique=True),
    sa.Column("slot_start", sa.DateTime, nullable=False),
    sa.Column("seat", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("sender_id", sa.String(128)),
    sa.Column("phone", sa.String(32)),
    sa.Column("nickname", sa.String(40)),
    # a hash of the conversation turn that booked it: the same turn retried finds its booking
    sa.Column("request_key", sa.String(64), unique=True),
    # the PIN given with the reference (core/booking_pins.py), as a hash
    sa.Column("pin_hash", sa.String(64)),
    # the booker's pseudonymised address (or chat), for the limit on new bookings per address
    sa.Column("client_key", sa.String(64)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
ACTIVE_WHERE = sa.text("status IN ('booked', 'blocked')")
# Failed tries to open a booking with a reference and PIN, per reference and per address.
failed_tries = sa.Table(
    "failed_tries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
)
# A typed phone number waiting to be booked, under the handle the gateway put in its place.
phone_handles = sa.Table(
    "phone_handles",
    metadata,
    sa.Column("handle", sa.String(16), primary_key=True),
    sa.Column("sender_id", sa.String(128), nullable=False),
    sa.Column("phone", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
sa.Index("ix_phone_handles_sender", phone_handles.c.sender_id)
PHONE_HANDLE_DAYS = Retention.phone_handle_days  # a number not booked within a day is erased
sa.Index("ix_failed_tries_key", failed_tries.c.kind, failed_tries.c.key, failed_tries.c.at)
sa.Index("ix_bookings_slot_start", bookings.c.slot_start)
sa.Index(
    "uq_active_seat",
    bookings.c.slot_start,
    bookings.c.seat,
    unique=True,
    sqlite_where=ACTIVE_WHERE,
    postgresql_where=ACTIVE_WHERE,
)


def survives_lost_connections(method):
    """Tries the call again for a few seconds when the database connection is lost mid-call
    (PostgreSQL restarted, connections cut). pool_pre_ping only checks a connection when it is
    taken from the pool, not while it is in use. Only for calls that are safe to repeat."""

    @functools.wraps(method)
    def call(*args, **kwargs):
        for pause in LOST_CONNECTION_PAUSES:
            try:
                return method(*args, **kwargs)
            except (OperationalError, InterfaceError):
                time.sleep(pause)
        return method(*args, **kwargs)

    return call


class SlotTaken(Exception):
    """Every seat of the slot is taken (possibly a moment ago by someone else)."""


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class Booking:
    reference: str
    slot_start: datetime  # aware, UTC
    channel: str
    status: str
    sender_id: Optional[str]
    phone: Optional[str]
    nickname: Optional[str]
    pin_hash: Optional[str] = None

    @classmethod
    def from_row(cls, row) -> "Booking":
        return cls(
            row.reference,
            row.slot_start.replace(tzinfo=timezone.utc),
            row.channel,
            row.status,
            row.sender_id,
            row.phone,
            row.nickname,
            row.pin_hash,
        )


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _handles_expire() -> datetime:
    return _now() - timedelta(days=PHONE_HANDLE_DAYS)


def _drop_expired_handles(connection) -> None:
    connection.execute(phone_handles.delete().where(phone_handles.c.created_at < _handles_expire()))


class BookingStore:
    def __init__(self, url: Optional[str] = None) -> None:
        """`url`: the settings' bookings_url. Empty only for callers that do not pass it yet
        (bot/gateway.py): the settings are read for it then."""
        self.url = url or load_settings().bookings_url
        if self.url.startswith("sqlite:///"):
            Path(self.url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": 30} if self.url.startswith("sqlite") else {}
        self.engine = sa.create_engine(self.url, future=True, pool_pre_ping=True, connect_args=connect_args)

    def migrate(self) -> None:
        """Brings the schema to the newest Alembic revision (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Replicas starting together: one migrates, the others wait and then find it done.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    # --- booking ------------------------------------------------------------------------------
    def _take_a_seat(self, slot_start: datetime, seats: int, statement) -> None:
        """Runs statement(seat) for seats 1..seats until the database accepts one.

        The unique index decides; raises SlotTaken when every seat is taken.
        """
        for seat in range(1, seats + 1):
            try:
                with self.engine.begin() as connection:
                    connection.execute(statement(seat))
                return
            except IntegrityError:
                continue  # this seat (or, very rarely, a new reference) was taken: try the next
        raise SlotTaken(slot_start)

    @survives_lost_connections
    def book(
        self,
        slot_start: datetime,
        channel: str,
        seats: int,
        sender_id: Optional[str] = None,
        phone: Optional[str] = None,
        nickname: Optional[str] = None,
        status: str = "booked",
        request_key: Optional[str] = None,
        client_key: Optional[str] = None,
    ) -> Booking:
        """Takes the first free seat of the slot; raises SlotTaken when there is none.

        With a request_key, booking again with the same key returns the first booking (a
        conversation turn retried after a database or network fault books once)."""
        references: List[str] = []
        earlier = self.booked_by(request_key)
        if earlier is not None:
            return earlier

        def insert(seat: int):
            references.append(new_code())
            return bookings.insert().values(
                reference=references[-1],
                slot_start=_utc(slot_start),
                seat=seat,
                channel=channel,
                status=status,
                sender_id=sender_id,
                phone=phone,
                nickname=nickname,
                request_key=request_key,
                client_key=client_key,
                created_at=_now(),
                updated_at=_now(),
            )

        try:
            self._take_a_seat(slot_start, seats, insert)
        except SlotTaken:
            earlier = self.booked_by(request_key)  # the same turn, at the same moment, elsewhere
            if earlier is None:
                raise
            return earlier
        return self._find(references[-1])  # book() already retries as a whole

    def set_pin_hash(self, reference: str, pin_hash: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                bookings.update()
                .where(bookings.c.reference == normalise_code(reference))
                .values(pin_hash=pin_hash, updated_at=_now())
            )

    def booked_by(self, request_key: Optional[str]) -> Optional[Booking]:
        """The booking a conversation turn already made (a retried turn), if any."""
        if request_key is None:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(bookings).where(bookings.c.request_key == request_key)).first()
        return None if row is None else Booking.from_row(row)

    def block(self, slot_start: datetime, seats: int) -> int:
        """A counsellor blocks a slot: every free seat is taken. Returns how many were blocked."""
        blocked = 0
        for _ in range(seats):
            try:
                self.book(slot_start, "in_person", seats, status="blocked")
                blocked += 1
            except SlotTaken:
                break
        if blocked == 0:
            raise SlotTaken(slot_start)
        return blocked

    @survives_lost_connections
    def find(self, reference: str) -> Booking:
        return self._find(reference)

    def _find(self, reference: str) -> Booking:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(bookings).where(bookings.c.reference == normalise_code(reference))
            ).first()
        if row is None:
            raise NotFound(reference)
        return Booking.from_row(row)

    def set_status(self, reference: str, status: str) -> Booking:
        with self.engine.begin() as connection:
            result = connection.execute(
                bookings.update()
                .where(bookings.c.reference == normalise_code(reference))
                .values(status=status, updated_at=_now())
            )
        if result.rowcount == 0:
            raise NotFound(reference)
        return self.find(reference)

    def cancel(self, reference: str) -> Booking:
        booking = self.find(reference)
        if booking.status != "booked":
            raise NotFound(reference)
        return self.set_status(reference, "cancelled")

    def move(self, reference: str, new_start: datetime, seats: int) -> Booking:
        """Moves a booking to another slot; the old slot is freed only if the new one is won."""
        old = self.find(reference)
        if old.status != "booked":
            raise NotFound(reference)
        self._take_a_seat(
            new_start,
            seats,
            lambda seat: bookings.update()
            .where(bookings.c.reference == old.reference)
            .values(slot_start=_utc(new_start), seat=seat, updated_at=_now()),
        )
        return self.find(reference)

    # --- availability -------------------------------------------------------------------------
    def taken_counts(self, start: datetime, end: datetime) -> dict:
        query = (
            sa.select(bookings.c.slot_start, sa.func.count())
            .where(
                bookings.c.status.in_(ACTIVE), bookings.c.slot_start >= _utc(start), bookings.c.slot_start < _utc(end)
            )
            .group_by(bookings.c.slot_start)
        )
        with self.engine.connect() as connection:
            return {row[0]: row[1] for row in connection.execute(query)}

    @survives_lost_connections
    def free_slots(
        self,
        schedule: Schedule,
        now: datetime,
        limit: int,
        wish_start: Optional[datetime] = None,
        wish_end: Optional[datetime] = None,
        channel: Optional[str] = None,
    ) -> List[datetime]:
        """The nearest slots with a free seat, in local time (in the channel's own hours, if given)."""
        candidates = list(schedule.bookable_slots(now, wish_start, wish_end, channel))
        if not candidates:
            return []
        taken = self.taken_counts(candidates[0], candidates[-1] + schedule.slot_length)
        free = [slot for slot in candidates if taken.get(_utc(slot), 0) < schedule.counsellors_per_slot]
        return free[:limit]

    @survives_lost_connections
    def bookings_between(self, start: datetime, end: datetime, statuses: Iterable[str] = ("booked",)) -> List[Booking]:
        query = (
            sa.select(bookings)
            .where(
                bookings.c.slot_start >= _utc(start),
                bookings.c.slot_start < _utc(end),
                bookings.c.status.in_(tuple(statuses)),
            )
            .order_by(bookings.c.slot_start, bookings.c.seat)
        )
        with self.engine.connect() as connection:
            return [Booking.from_row(row) for row in connection.execute(query)]

    @survives_lost_connections
    def bookings_of_sender(self, sender_id: str, statuses: Iterable[str] = ("booked",)) -> List[Booking]:
        """The bookings this conversation made (until deletion or retention unlinks them)."""
        query = (
            sa.select(bookings)
            .where(bookings.c.sender_id == sender_id, bookings.c.status.in_(tuple(statuses)))
            .order_by(bookings.c.slot_start)
        )
        with self.engine.connect() as connection:
            return [Booking.from_row(row) for row in connection.execute(query)]

    @survives_lost_connections
    def recent_bookings_of_client(self, client_key: str, since: datetime) -> int:
        """How many bookings this address (or chat) made since then, cancelled ones included."""
        query = (
            sa.select(sa.func.count())
            .select_from(bookings)
            .where(bookings.c.client_key == client_key, bookings.c.created_at >= _utc(since))
        )
        with self.engine.connect() as connection:
            return connection.execute(query).scalar()

    # --- phone numbers waiting to be booked ---------------------------------------------------
    def keep_phone(self, sender_id: str, phone: str) -> str:
        """Keeps a typed number under a new handle (core/phone_numbers.py); returns the handle."""
        handle = new_handle()
        with self.engine.begin() as connection:
            _drop_expired_handles(connection)
            connection.execute(
                phone_handles.insert().values(handle=handle, sender_id=sender_id, phone=phone, created_at=_now())
            )
        return handle

    @survives_lost_connections
    def phone_for(self, handle: str, sender_id: str) -> Optional[str]:
        """The number behind a handle, for the conversation that typed it, while it is kept."""
        query = sa.select(phone_handles.c.phone).where(
            phone_handles.c.handle == handle,
            phone_handles.c.sender_id == sender_id,
            phone_handles.c.created_at >= _handles_expire(),
        )
        with self.engine.connect() as connection:
            return connection.execute(query).scalar()

    def drop_phone_handles(self, sender_id: str) -> int:
        """Once booked, or on a deletion request: the conversation's waiting numbers go."""
        with self.engine.begin() as connection:
            return connection.execute(phone_handles.delete().where(phone_handles.c.sender_id == sender_id)).rowcount

    # --- failed tries to open a booking ---------------------------------------------------------
    def count_failed(self, kind: str, key: str, since: datetime) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(failed_tries)
            .where(failed_tries.c.kind == kind, failed_tries.c.key == key, failed_tries.c.at >= _utc(since))
        )
        with self.engine.connect() as connection:
            return connection.execute(query).scalar()

    def record_failed(self, keys: Iterable[Tuple[str, str]], now: datetime, keep: timedelta) -> None:
        """Counts one failed try under each (kind, key); tries older than `keep` are dropped."""
        with self.engine.begin() as connection:
            connection.execute(failed_tries.delete().where(failed_tries.c.at < _utc(now - keep)))
            for kind, key in keys:
                connection.execute(failed_tries.insert().values(kind=kind, key=key, at=_utc(now)))

    # --- data minimisation --------------------------------------------------------------------
    def detach_sender(self, sender_id: str, now: datetime) -> Tuple[int, int]:
        """Unlinks a user's bookings from their conversation, on the user's request to delete it.

        The bookings stay for the counsellors. Phone numbers are erased too, except for phone
        calls still to come: those need the number, and the retention job erases it afterwards.
        Returns (bookings unlinked, phone numbers kept).
        """
        mine = bookings.c.sender_id == sender_id
        call_to_come = sa.and_(
            bookings.c.channel == "phone", bookings.c.status == "booked", bookings.c.slot_start >= _utc(now)
        )
        self.drop_phone_handles(sender_id)
        with self.engine.begin() as connection:
            kept = connection.execute(
                sa.select(sa.func.count())
                .select_from(bookings)
                .where(mine, call_to_come, bookings.c.phone.is_not(None))
            ).scalar()
            connection.execute(bookings.update().where(mine, sa.not_(call_to_come)).values(phone=None))
            result = connection.execute(
                bookings.update()
                .where(mine)
                .values(**{column: None for column in LINK_TO_CONVERSATION}, updated_at=_now())
            )
        return result.rowcount, kept

    def unlink_past_bookings(self, now: datetime, retention_days: float, dry_run: bool = False) -> int:
        """Bookings whose appointment is more than `retention_days` past lose what links them to a
        person's conversation (pseudonymous sender id, nickname, turn key); returns how many.
        The booking itself (time, channel, status, reference) stays for the service's statistics."""
        linked = sa.or_(*(bookings.c[column].is_not(None) for column in LINK_TO_CONVERSATION))
        return self._erase_past(now, retention_days, linked, LINK_TO_CONVERSATION, dry_run)

    def erase_expired_phones(self, now: datetime, retention_days: float, dry_run: bool = False) -> int:
        """Erases phone numbers of appointments more than `retention_days` ago; returns how many.

        Idempotent: the gateway's retention job (bot/retention.py) runs it every hour. Numbers
        typed but never booked (phone_handles) go after PHONE_HANDLE_DAYS.
        """
        if not dry_run:
            with self.engine.begin() as connection:
                _drop_expired_handles(connection)
        return self._erase_past(now, retention_days, bookings.c.phone.is_not(None), ("phone",), dry_run)

    def _erase_past(self, now: datetime, retention_days: float, holding, columns: Iterable[str], dry_run: bool) -> int:
        """Empties `columns` of bookings more than `retention_days` past that are `holding` them;
        returns how many bookings (only counts them with dry_run)."""
        expired = sa.and_(bookings.c.slot_start < _utc(now) - timedelta(days=retention_days), holding)
        with self.engine.begin() as connection:
            if dry_run:
                return connection.execute(sa.select(sa.func.count()).select_from(bookings).where(expired)).scalar()
            result = connection.execute(
                bookings.update().where(expired).values(**{column: None for column in columns}, updated_at=_now())
            )
        return result.rowcount
