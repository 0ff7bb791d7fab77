"""Counsellor accounts from the command line. The password is read from standard input (asked
for without echo at a terminal), never taken as an argument, where `ps` and the shell's history
would keep it.

.venv/bin/python -m bot.counsellors add NAME [--role supervisor] [--display-name Kari] [--max-chats 2]
.venv/bin/python -m bot.counsellors disable NAME
.venv/bin/python -m bot.counsellors list
"""

import argparse
import getpass
import sys

from bot.passwords import hash_password
from core.audit_log import AuditLog
from core.booking_store import BookingStore
from core.counsellor_accounts import DEFAULT_MAX_CHATS, ROLES, CounsellorAccounts, UnknownAccount
from core.settings import load_settings

MIN_PASSWORD = 12


def read_password() -> str:
    if sys.stdin.isatty():
        first, second = getpass.getpass("Passord: "), getpass.getpass("Passord igjen: ")
        if first != second:
            raise SystemExit("Passordene er ikke like.")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.counsellors", description="Counsellor accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an account, or refresh its password, role and name")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="counsellor")
    add.add_argument("--display-name", default="", help="shown to users: 'Du snakker nå med en rådgiver (…)'")
    add.add_argument("--max-chats", type=int, default=DEFAULT_MAX_CHATS)
    commands.add_parser("disable", help="no more logins; open logins end").add_argument("name")
    commands.add_parser("list", help="the accounts, without their passwords")
    arguments = parser.parse_args(argv)

    store = BookingStore(load_settings().bookings_url)
    store.migrate()
    accounts, audit = CounsellorAccounts(store.engine), AuditLog(store.engine)
    if arguments.command == "add":
        password = read_password()
        if len(password) < MIN_PASSWORD:
            raise SystemExit(f"Passordet må ha minst {MIN_PASSWORD} tegn.")
        accounts.save(
            arguments.name, hash_password(password), arguments.role, arguments.display_name, arguments.max_chats
        )
        audit.record(arguments.name, "account_saved_from_command_line")
        print(f"Lagret: {arguments.name} ({arguments.role})")
    elif arguments.command == "disable":
        try:
            accounts.disable(arguments.name)
        except UnknownAccount:
            raise SystemExit(f"Fant ikke kontoen {arguments.name}.")
        audit.record(arguments.name, "account_disabled_from_command_line")
        print(f"Deaktivert: {arguments.name}")
    else:
        for account in accounts.all():
            state = "deaktivert" if account.disabled else "aktiv"
            print(f"{account.name}\t{account.role}\t{state}\tmaks {account.max_chats}\t{account.display_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
