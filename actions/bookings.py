"""Counsellors' command line for bookings.

    python -m actions.bookings list [--days 7]        # upcoming bookings (phone shown for phone calls)
    python -m actions.bookings free [--limit 8]       # the nearest free slots
    python -m actions.bookings cancel|done|no-show REF
    python -m actions.bookings block "2027-01-04 09:45"
    python -m actions.bookings erase-phones [--dry-run]
    python -m actions.bookings audit [--limit 100]   # the counsellors' page's audit log, newest first
    python -m actions.bookings migrate

DATABASE_URL selects the database (default: SQLite in var/bookings.db; core/settings.py).
"""

import argparse
import sys
from datetime import datetime, timedelta, timezone

from core.audit_log import AuditLog
from core.availability import Schedule
from core.booking_store import BookingStore, NotFound, SlotTaken
from core.content import load
from core.settings import load_settings, phone_retention_days

CHANNEL_NAMES = {"in_person": "oppmøte", "phone": "telefon", "chat": "chat"}


def schedule() -> Schedule:
    return Schedule.from_config(load("booking.yml"))


def local(moment: datetime, plan: Schedule) -> str:
    return moment.astimezone(plan.timezone).strftime("%a %d.%m.%Y %H:%M")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actions.bookings", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list")
    listing.add_argument("--days", type=int, default=7)
    free = commands.add_parser("free")
    free.add_argument("--limit", type=int, default=8)
    for name in ("cancel", "done", "no-show"):
        commands.add_parser(name).add_argument("reference")
    block = commands.add_parser("block")
    block.add_argument("start", help='local time, "YYYY-MM-DD HH:MM"')
    erase = commands.add_parser("erase-phones")
    erase.add_argument("--dry-run", action="store_true")
    commands.add_parser("migrate")
    commands.add_parser("audit").add_argument("--limit", type=int, default=100)
    args = parser.parse_args(argv)

    plan = schedule()
    store = BookingStore(load_settings().bookings_url)
    store.migrate()
    now = datetime.now(timezone.utc)
    try:
        if args.command == "list":
            for booking in store.bookings_between(now - timedelta(hours=12), now + timedelta(days=args.days)):
                phone = f"  tlf {booking.phone}" if booking.channel == "phone" and booking.phone else ""
                nickname = f"  «{booking.nickname}»" if booking.nickname else ""
                print(
                    f"{local(booking.slot_start, plan)}  {booking.reference}  "
                    f"{CHANNEL_NAMES.get(booking.channel, booking.channel)}{phone}{nickname}"
                )
        elif args.command == "free":
            for slot in store.free_slots(plan, now, args.limit):
                print(local(slot, plan))
        elif args.command in ("cancel", "done", "no-show"):
            status = {"cancel": "cancelled", "done": "done", "no-show": "no_show"}[args.command]
            booking = store.set_status(args.reference, status)
            print(f"{booking.reference}: {booking.status}")
        elif args.command == "block":
            start = datetime.strptime(args.start, "%Y-%m-%d %H:%M").replace(tzinfo=plan.timezone)
            if not plan.is_slot(start):
                print(f"{args.start} is not a slot start in content/booking.yml", file=sys.stderr)
                return 2
            store.block(start, plan.counsellors_per_slot)
            print(f"blocked {local(start, plan)}")
        elif args.command == "erase-phones":
            count = store.erase_expired_phones(now, phone_retention_days(), dry_run=args.dry_run)
            print(f"{'would erase' if args.dry_run else 'erased'} {count} phone number(s)")
        elif args.command == "audit":
            for entry in AuditLog(store.engine).entries(args.limit):
                fields = [local(entry.at, plan), entry.actor, entry.event, entry.reference or "", entry.address or ""]
                print("  ".join(fields).rstrip())
        elif args.command == "migrate":
            print("schema is up to date")
    except NotFound as error:
        print(f"no such booking: {error}", file=sys.stderr)
        return 1
    except SlotTaken:
        print("that slot is already taken", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
