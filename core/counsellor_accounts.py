"""Counsellor accounts, their logins and who is available for chat, in the gateway's database,
so every replica serves every counsellor and a restart logs nobody out.

A login is a random token in the counsellor's cookie; only its SHA-256 is stored. "Available"
holds while the counsellor's console is open: the console's socket renews `seen_at`, and an
account not seen for PRESENCE_SECONDS counts as away (a closed laptop lid sends nothing).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

ROLES = ("counsellor", "supervisor")
PRESENCE_SECONDS = 60
DEFAULT_MAX_CHATS = 2

metadata = sa.MetaData()
accounts = sa.Table(
    "counsellor_accounts",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("display_name", sa.String(64), nullable=False, default=""),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("max_chats", sa.Integer, nullable=False, default=DEFAULT_MAX_CHATS),
    sa.Column("available", sa.Boolean, nullable=False, default=False),
    sa.Column("seen_at", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
sessions = sa.Table(
    "counsellor_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    name: str
    password_hash: str
    role: str
    display_name: str
    disabled: bool
    max_chats: int
    available: bool


@dataclass(frozen=True)
class Login:
    account: Account
    csrf: str


class UnknownAccount(Exception):
    pass


class CounsellorAccounts:
    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine

    # --- accounts -----------------------------------------------------------------------------
    def save(
        self,
        name: str,
        password_hash: str,
        role: str = "counsellor",
        display_name: str = "",
        max_chats: int = DEFAULT_MAX_CHATS,
    ) -> None:
        """Creates the account, or refreshes its password, role and name (enabled again)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        values = dict(
            password_hash=password_hash, role=role, display_name=display_name, max_chats=max_chats, disabled=False
        )
        with self.engine.begin() as connection:
            updated = connection.execute(accounts.update().where(accounts.c.name == name).values(**values)).rowcount
        if updated:
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(accounts.insert().values(name=name, created_at=_now(), available=False, **values))
        except IntegrityError:  # another replica created it at the same moment
            with self.engine.begin() as connection:
                connection.execute(accounts.update().where(accounts.c.name == name).values(**values))

    def disable(self, name: str) -> None:
        """A disabled account cannot log in, and its open logins end now."""
        with self.engine.begin() as connection:
            found = connection.execute(
                accounts.update().where(accounts.c.name == name).values(disabled=True, available=False)
            ).rowcount
            connection.execute(sessions.delete().where(sessions.c.account == name))
        if not found:
            raise UnknownAccount(name)

    def get(self, name: str) -> Optional[Account]:
        with self.engine.connect() as connection:
            row = connection.execute(accounts.select().where(accounts.c.name == name)).first()
        return _account(row) if row else None

    def all(self) -> List[Account]:
        with self.engine.connect() as connection:
            return [_account(row) for row in connection.execute(accounts.select().order_by(accounts.c.name))]

    # --- logins ---------------------------------------------------------------------------------
    def log_in(self, name: str, lasts: timedelta) -> str:
        """A new login for the account; returns the cookie's token (stored only as a hash)."""
        token = secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as connection:
            connection.execute(sessions.delete().where(sessions.c.expires_at < now))
            connection.execute(
                sessions.insert().values(
                    token_hash=_hash(token), account=name, csrf=secrets.token_urlsafe(32), expires_at=now + lasts
                )
            )
        return token

    def login_of(self, token: str) -> Optional[Login]:
        if not token:
            return None
        query = (
            sa.select(sessions.c.csrf, accounts)
            .select_from(sessions.join(accounts, sessions.c.account == accounts.c.name))
            .where(sessions.c.token_hash == _hash(token), sessions.c.expires_at > _now(), ~accounts.c.disabled)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return Login(_account(row), row.csrf) if row else None

    def log_out(self, token: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(sessions.delete().where(sessions.c.token_hash == _hash(token)))

    # --- availability -----------------------------------------------------------------------------
    def set_available(self, name: str, available: bool) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                accounts.update().where(accounts.c.name == name).values(available=available, seen_at=_now())
            )

    def seen(self, name: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(accounts.update().where(accounts.c.name == name).values(seen_at=_now()))

    def available_now(self) -> List[Account]:
        """Counsellors marked available whose console has been seen within PRESENCE_SECONDS."""
        since = _now() - timedelta(seconds=PRESENCE_SECONDS)
        query = accounts.select().where(accounts.c.available, ~accounts.c.disabled, accounts.c.seen_at > since)
        with self.engine.connect() as connection:
            return [_account(row) for row in connection.execute(query)]


def _account(row) -> Account:
    return Account(
        row.name,
        row.password_hash,
        row.role,
        row.display_name or "",
        bool(row.disabled),
        int(row.max_chats),
        bool(row.available),
    )
