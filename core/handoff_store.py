"""Where a conversation handed to a counsellor lives: its state (waiting → with_counsellor →
ended) and the human part of the transcript, in the gateway's own database (the bookings
database: SQLite by default, PostgreSQL in the cluster; schema in core/migrations/0006).

Rasa never sees any of it. The database decides the races: a partial unique index allows one
open handoff per conversation, and a claim is an UPDATE that only succeeds while the handoff is
still waiting, so of ten counsellors pressing "Ta samtalen" at once exactly one gets it.
Times are naive UTC, as in core/booking_store.py.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

OPEN = ("waiting", "with_counsellor")
RECENT_CLAIMS = 20  # the waits of the last claims give the estimate told to a new visitor
TEXT_LIMIT = 4000  # a counsellor's or visitor's message; the channels' own limits are lower

metadata = sa.MetaData()
handoffs = sa.Table(
    "handoffs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(128), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    # where the channel delivers a counsellor's words (a Telegram chat id); emptied at the end
    sa.Column("reply_to", sa.String(64)),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("crisis", sa.Boolean, nullable=False, default=False),
    sa.Column("topics", sa.String(200), nullable=False, default=""),
    sa.Column("counsellor", sa.String(64)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("claimed_at", sa.DateTime),
    sa.Column("ended_at", sa.DateTime),
    sa.Column("last_activity_at", sa.DateTime, nullable=False),
    sa.Column("wait_notice_sent", sa.Boolean, nullable=False, default=False),
    sa.Column("ended_by", sa.String(16)),
    sa.Column("feedback_open", sa.Boolean, nullable=False, default=False),
)
messages = sa.Table(
    "handoff_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("handoff_id", sa.Integer, nullable=False),
    sa.Column("author", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
)
feedback = sa.Table(
    "chat_feedback",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("answer", sa.String(8), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _naive(moment: datetime) -> datetime:
    """An aware time as the naive UTC the tables hold."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _aware(moment: Optional[datetime]) -> Optional[datetime]:
    return moment.replace(tzinfo=timezone.utc) if moment is not None else None


@dataclass(frozen=True)
class Handoff:
    id: int
    sender_id: str
    channel: str
    reply_to: Optional[str]
    language: str
    state: str
    crisis: bool
    topics: List[str]
    counsellor: Optional[str]
    created_at: datetime  # aware, UTC
    claimed_at: Optional[datetime]
    last_activity_at: datetime

    @classmethod
    def from_row(cls, row) -> "Handoff":
        return cls(
            row.id,
            row.sender_id,
            row.channel,
            row.reply_to,
            row.language,
            row.state,
            bool(row.crisis),
            [topic for topic in (row.topics or "").split(",") if topic],
            row.counsellor,
            row.created_at.replace(tzinfo=timezone.utc),
            _aware(row.claimed_at),
            row.last_activity_at.replace(tzinfo=timezone.utc),
        )


@dataclass(frozen=True)
class ChatMessage:
    id: int
    handoff_id: int
    author: str  # "visitor" or "counsellor"
    text: str
    at: datetime  # aware, UTC

    @classmethod
    def from_row(cls, row) -> "ChatMessage":
        return cls(row.id, row.handoff_id, row.author, row.text, row.at.replace(tzinfo=timezone.utc))


class HandoffStore:
    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine

    # --- the state ------------------------------------------------------------------------------
    def open_for(self, sender_id: str) -> Optional[Handoff]:
        query = handoffs.select().where(handoffs.c.sender_id == sender_id, handoffs.c.state.in_(OPEN))
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return Handoff.from_row(row) if row else None

    def get(self, handoff_id: int) -> Optional[Handoff]:
        with self.engine.connect() as connection:
            row = connection.execute(handoffs.select().where(handoffs.c.id == handoff_id)).first()
        return Handoff.from_row(row) if row else None

    def request(
        self, sender_id: str, channel: str, language: str, crisis: bool, topics: List[str], reply_to: str = ""
    ) -> Handoff:
        """Puts the conversation in the queue; a conversation already waiting keeps its place."""
        now = _now()
        values = dict(
            sender_id=sender_id,
            channel=channel,
            reply_to=reply_to or None,
            language=language,
            state="waiting",
            crisis=crisis,
            topics=",".join(topics)[:200],
            created_at=now,
            last_activity_at=now,
            wait_notice_sent=False,
            feedback_open=False,
        )
        try:
            with self.engine.begin() as connection:
                connection.execute(handoffs.insert().values(**values))
        except IntegrityError:
            pass  # already open (a second request, or one from another replica at the same moment)
        found = self.open_for(sender_id)
        assert found is not None
        if crisis and not found.crisis:
            self.mark_crisis(found.id)
            found = self.open_for(sender_id) or found
        return found

    def mark_crisis(self, handoff_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(handoffs.update().where(handoffs.c.id == handoff_id).values(crisis=True))

    def claim(self, handoff_id: int, counsellor: str) -> bool:
        """True for exactly one counsellor: the one whose UPDATE found the handoff still waiting."""
        now = _now()
        with self.engine.begin() as connection:
            result = connection.execute(
                handoffs.update()
                .where(handoffs.c.id == handoff_id, handoffs.c.state == "waiting")
                .values(state="with_counsellor", counsellor=counsellor, claimed_at=now, last_activity_at=now)
            )
        return result.rowcount == 1

    def end(self, handoff_id: int, ended_by: str) -> Optional[Handoff]:
        """Ends an open handoff (once: a second end returns None). The delivery address goes."""
        with self.engine.begin() as connection:
            result = connection.execute(
                handoffs.update()
                .where(handoffs.c.id == handoff_id, handoffs.c.state.in_(OPEN))
                .values(state="ended", ended_at=_now(), ended_by=ended_by, reply_to=None, feedback_open=True)
            )
        return self.get(handoff_id) if result.rowcount == 1 else None

    def waiting(self) -> List[Handoff]:
        """The queue: crisis conversations first, then the longest waiting."""
        query = (
            handoffs.select()
            .where(handoffs.c.state == "waiting")
            .order_by(handoffs.c.crisis.desc(), handoffs.c.created_at, handoffs.c.id)
        )
        with self.engine.connect() as connection:
            return [Handoff.from_row(row) for row in connection.execute(query)]

    def held_by(self, counsellor: str) -> List[Handoff]:
        query = (
            handoffs.select()
            .where(handoffs.c.state == "with_counsellor", handoffs.c.counsellor == counsellor)
            .order_by(handoffs.c.claimed_at)
        )
        with self.engine.connect() as connection:
            return [Handoff.from_row(row) for row in connection.execute(query)]

    def live_count(self) -> int:
        query = sa.select(sa.func.count()).select_from(handoffs).where(handoffs.c.state == "with_counsellor")
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    def position(self, handoff: Handoff) -> int:
        """1 for the first in the queue."""
        ids = [waiting.id for waiting in self.waiting()]
        return ids.index(handoff.id) + 1 if handoff.id in ids else 1

    def typical_wait(self) -> Optional[timedelta]:
        """The median wait of the recent claims (None before there are any)."""
        query = (
            sa.select(handoffs.c.created_at, handoffs.c.claimed_at)
            .where(handoffs.c.claimed_at.is_not(None))
            .order_by(handoffs.c.claimed_at.desc())
            .limit(RECENT_CLAIMS)
        )
        with self.engine.connect() as connection:
            waits = sorted(row.claimed_at - row.created_at for row in connection.execute(query))
        return waits[len(waits) // 2] if waits else None

    def unclaimed_since(self, cutoff: datetime) -> List[Handoff]:
        """Waiting since before `cutoff` and not yet told that nobody has claimed it; each is
        returned to exactly one caller (the flag is set in the same step)."""
        told = []
        query = handoffs.select().where(
            handoffs.c.state == "waiting",
            handoffs.c.created_at < _naive(cutoff),
            ~handoffs.c.wait_notice_sent,
        )
        with self.engine.connect() as connection:
            candidates = [Handoff.from_row(row) for row in connection.execute(query)]
        for candidate in candidates:
            with self.engine.begin() as connection:
                result = connection.execute(
                    handoffs.update()
                    .where(handoffs.c.id == candidate.id, ~handoffs.c.wait_notice_sent)
                    .values(wait_notice_sent=True)
                )
            if result.rowcount == 1:
                told.append(candidate)
        return told

    def silent_since(self, state: str, cutoff: datetime) -> List[Handoff]:
        """Handoffs in `state` with nothing said since `cutoff` (a visitor's, a counsellor's or the
        bot's word): an idle chat, or a place in the queue its visitor left without a word."""
        query = handoffs.select().where(handoffs.c.state == state, handoffs.c.last_activity_at < _naive(cutoff))
        with self.engine.connect() as connection:
            return [Handoff.from_row(row) for row in connection.execute(query)]

    # --- the transcript ---------------------------------------------------------------------------
    def add_message(self, handoff_id: int, author: str, text: str) -> ChatMessage:
        now = _now()
        with self.engine.begin() as connection:
            new_id = connection.execute(
                messages.insert().values(handoff_id=handoff_id, author=author, text=text[:TEXT_LIMIT], at=now)
            ).inserted_primary_key[0]
            connection.execute(handoffs.update().where(handoffs.c.id == handoff_id).values(last_activity_at=now))
        return ChatMessage(new_id, handoff_id, author, text[:TEXT_LIMIT], now.replace(tzinfo=timezone.utc))

    def transcript(self, handoff_id: int, after_id: int = 0) -> List[ChatMessage]:
        query = (
            messages.select()
            .where(messages.c.handoff_id == handoff_id, messages.c.id > after_id)
            .order_by(messages.c.id)
        )
        with self.engine.connect() as connection:
            return [ChatMessage.from_row(row) for row in connection.execute(query)]

    def transcript_of_sender(self, sender_id: str) -> List[ChatMessage]:
        """Every human message of the conversation, oldest first (the widget's history)."""
        query = (
            sa.select(messages)
            .select_from(messages.join(handoffs, messages.c.handoff_id == handoffs.c.id))
            .where(handoffs.c.sender_id == sender_id)
            .order_by(messages.c.id)
        )
        with self.engine.connect() as connection:
            return [ChatMessage.from_row(row) for row in connection.execute(query)]

    # --- feedback: counted, never linked ------------------------------------------------------------
    def take_feedback(self, sender_id: str, answer: str, today: date) -> bool:
        """Counts one answer when the conversation was asked and has not answered yet. The count
        row holds only the day and the answer; the handoff only loses its open question."""
        with self.engine.begin() as connection:
            asked = connection.execute(
                handoffs.update()
                .where(handoffs.c.sender_id == sender_id, handoffs.c.feedback_open)
                .values(feedback_open=False)
            ).rowcount
            if not asked:
                return False
            counted = connection.execute(
                feedback.update()
                .where(feedback.c.day == today, feedback.c.answer == answer)
                .values(count=feedback.c.count + 1)
            ).rowcount
            if not counted:
                connection.execute(feedback.insert().values(day=today, answer=answer, count=1))
        return True

    def feedback_counts(self) -> dict:
        query = sa.select(feedback.c.answer, sa.func.sum(feedback.c.count)).group_by(feedback.c.answer)
        with self.engine.connect() as connection:
            return {answer: int(total) for answer, total in connection.execute(query)}

    # --- deletion and retention ---------------------------------------------------------------------
    def delete_sender(self, sender_id: str) -> int:
        """On the user's request (or a quick exit): the handoffs and every human message go."""
        with self.engine.begin() as connection:
            ids = [
                row.id for row in connection.execute(sa.select(handoffs.c.id).where(handoffs.c.sender_id == sender_id))
            ]
            if not ids:
                return 0
            connection.execute(messages.delete().where(messages.c.handoff_id.in_(ids)))
            connection.execute(handoffs.delete().where(handoffs.c.id.in_(ids)))
        return len(ids)

    def delete_ended_before(self, cutoff: datetime, dry_run: bool = False) -> int:
        """Handoffs that ended before `cutoff`, with their transcripts; returns how many (only
        counts them with dry_run)."""
        naive = _naive(cutoff)
        with self.engine.begin() as connection:
            ids = [
                row.id
                for row in connection.execute(
                    sa.select(handoffs.c.id).where(handoffs.c.state == "ended", handoffs.c.ended_at < naive)
                )
            ]
            if ids and not dry_run:
                connection.execute(messages.delete().where(messages.c.handoff_id.in_(ids)))
                connection.execute(handoffs.delete().where(handoffs.c.id.in_(ids)))
        return len(ids)
