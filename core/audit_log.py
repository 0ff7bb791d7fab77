"""Audit log of the counsellors' page, in the bookings database: every login (and failed
attempt, with the address it came from), logout, and which booking a counsellor saw or changed.
Appended to, read with `python -m actions.bookings audit`, and emptied of entries older than
AUDIT_RETENTION_DAYS by the retention job (bot/retention.py)."""

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import List, Optional, Sequence

import sqlalchemy as sa

from core.booking_store import metadata

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("reference", sa.String(16)),
    sa.Column("address", sa.String(64)),
)


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    event: str
    reference: Optional[str]
    address: Optional[str]


class AuditLog:
    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine

    def record(
        self, actor: str, event: str, references: Sequence[Optional[str]] = (None,), address: Optional[str] = None
    ) -> None:
        """One row per reference (a page showing five bookings writes five "viewed" rows)."""
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        rows = [
            {
                "at": now,
                "actor": actor[:64],
                "event": event,
                "reference": reference,
                "address": (address or None) and address[:64],
            }
            for reference in references
        ]
        if rows:
            with self.engine.begin() as connection:
                connection.execute(audit_log.insert(), rows)

    def entries(self, limit: int = 100) -> List[AuditEntry]:
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [
                AuditEntry(row.at.replace(tzinfo=timezone.utc), row.actor, row.event, row.reference, row.address)
                for row in connection.execute(query)
            ]

    def delete_before(self, cutoff: datetime, dry_run: bool = False) -> int:
        """Deletes entries older than `cutoff` (the retention job); returns how many."""
        old = audit_log.c.at < cutoff.astimezone(timezone.utc).replace(tzinfo=None)
        with self.engine.begin() as connection:
            if dry_run:
                return connection.execute(sa.select(sa.func.count()).select_from(audit_log).where(old)).scalar()
            return connection.execute(audit_log.delete().where(old)).rowcount
