"""Deletes what is kept longer than needed, by the periods of the settings' Retention section
(core/settings.py, the one place that says them all): conversations idle for
CONVERSATION_RETENTION_DAYS (default 30); booking phone numbers, and what links a booking to a
conversation, some days after the appointment (phone_retention_days in content/booking.yml);
live chats with a counsellor (their human transcript) CONVERSATION_RETENTION_DAYS after they
ended (an open one waits for its end: it is never cut off mid-chat); counsellors' audit log
entries older than AUDIT_RETENTION_DAYS (default 365).
Idempotent; the gateway runs it every hour, and it can be run by hand:

    .venv/bin/python -m bot.retention --dry-run    # prints what it would delete
    .venv/bin/python -m bot.retention              # deletes it
"""

import argparse
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from core.audit_log import AuditLog
from core.booking_store import BookingStore
from core.conversation_store import ConversationStore, tracker_store_url
from core.handoff_store import HandoffStore
from core.settings import Retention, load_settings, phone_retention_days

log = logging.getLogger(__name__)
DAY = 24 * 3600


@dataclass
class RetentionReport:
    conversations: int
    events: int
    phones: int
    unlinked: int = 0
    audit_entries: int = 0
    live_chats: int = 0

    def __bool__(self) -> bool:
        """True when anything was (or, in a dry run, would be) deleted."""
        return any((self.conversations, self.phones, self.unlinked, self.audit_entries, self.live_chats))

    def __str__(self) -> str:
        return (
            f"{self.conversations} conversations ({self.events} events), {self.phones} phone numbers, "
            f"{self.unlinked} bookings unlinked from conversations, {self.audit_entries} audit log entries, "
            f"{self.live_chats} live chats with their transcripts"
        )


def apply_retention(
    conversations: ConversationStore,
    bookings: BookingStore,
    retention_days: float,
    now: Optional[float] = None,
    dry_run: bool = False,
    audit_days: float = Retention.audit_days,
) -> RetentionReport:
    now = time.time() if now is None else now
    cutoff = now - retention_days * DAY
    idle, events = conversations.idle_conversations(cutoff)
    if not dry_run and idle:
        events = conversations.delete_idle(cutoff)
    phone_days = phone_retention_days()
    moment = datetime.fromtimestamp(now, timezone.utc)
    phones = bookings.erase_expired_phones(moment, phone_days, dry_run=dry_run)
    unlinked = bookings.unlink_past_bookings(moment, phone_days, dry_run=dry_run)
    audit = AuditLog(bookings.engine).delete_before(moment - timedelta(days=audit_days), dry_run=dry_run)
    chats = HandoffStore(bookings.engine).delete_ended_before(moment - timedelta(days=retention_days), dry_run=dry_run)
    return RetentionReport(idle, events, phones, unlinked, audit, chats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="only print what would be deleted")
    args = parser.parse_args()
    settings = load_settings()
    bookings = BookingStore(settings.bookings_url)
    bookings.migrate()
    report = apply_retention(
        ConversationStore(tracker_store_url(settings)),
        bookings,
        settings.retention.conversation_days,
        dry_run=args.dry_run,
        audit_days=settings.retention.audit_days,
    )
    print(("Would delete: " if args.dry_run else "Deleted: ") + str(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
