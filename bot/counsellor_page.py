"""The counsellors' page behind its login: the live chat console (bot/console.py) and today's
and this week's bookings.

Accounts and logins are in the database (core/counsellor_accounts.py), so every replica serves
every counsellor and a restart logs nobody out. Every form carries a CSRF token bound to the
login; the session cookie is HttpOnly and
SameSite=Strict (and Secure unless COOKIE_SECURE=0 for local http) and expires after
COUNSELLOR_SESSION_SECONDS (8 hours). The login form has its own CSRF token (a SameSite=Strict
cookie matched by a hidden field) and an Origin check, so no other site can post to it. Five
failed logins from one address, or twenty on the account, lock them out for 15 minutes; the
counts are in the bookings database, so every replica sees them. Logins, failed logins (with
the user name only when it is the account's: a password typed in the wrong field must not be
kept), and every booking shown or changed go to the audit log.
"""

import asyncio
import functools
import secrets
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Awaitable, Callable, Dict, List, Optional
from urllib.parse import urlparse

from aiohttp import web
from jinja2 import Environment, FileSystemLoader

from bot.client_address import client_address
from bot.passwords import hash_password, verify_password
from core.audit_log import AuditLog
from core.availability import Schedule
from core.booking_store import BookingStore, NotFound, SlotTaken
from core.content import load
from core.counsellor_accounts import CounsellorAccounts
from core.dates import WEEKDAY_NAMES

SESSION_COOKIE = "radgiver_session"
LOGIN_COOKIE = "radgiver_login"  # the login form's CSRF token
SESSION_SECONDS = 8 * 3600
MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_ACCOUNT, LOCKOUT_SECONDS = 5, 20, 15 * 60
UNKNOWN_USER = "(ukjent)"
CHANNELS = {"in_person": "oppmøte", "phone": "telefon", "chat": "chat"}
STATUSES = {"done": "done", "no-show": "no_show", "cancel": "cancelled"}
# The page's own policy (inline styles, its script and socket, its forms); the other headers are
# bot/http_guard.py's. Referrer-Policy "same-origin" instead of the baseline's "no-referrer": under
# "no-referrer" a browser sends "Origin: null" with a form, and the login's Origin check (rightly)
# refuses it; "same-origin" still tells other sites nothing.
PAGE_POLICY = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self';"
        " form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
}
# The pages' HTML (bot/templates/counsellor/), escaped by Jinja2 wherever a value goes in.
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates" / "counsellor"),
    autoescape=True,
    keep_trailing_newline=True,
)
ACTIONS = (("done", "Gjennomført"), ("no-show", "Møtte ikke"), ("cancel", "Avlys"))


def _day_name(day: date) -> str:
    """ "onsdag 02.12" (the page is Norwegian whatever the server's locale)."""
    return f"{WEEKDAY_NAMES['nb'][day.weekday()]} {day:%d.%m}"


def _local_time(moment: datetime) -> str:
    return f"{_day_name(moment.date())} {moment:%H:%M}"


def _day_filter(value: str) -> Optional[date]:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _typed_time(value: str) -> Optional[datetime]:
    """The date-and-time picker's "2026-12-03T10:00", or the older typed "2026-12-03 10:00"."""
    for shape in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(value.strip(), shape)
        except ValueError:
            continue
    return None


@functools.lru_cache(maxsize=1)
def dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


class CounsellorPage:
    def __init__(
        self,
        store: BookingStore,
        user: str,
        password_hash: str,
        secure_cookie: bool = True,
        session_seconds: float = SESSION_SECONDS,
        trusted_proxies: tuple = (),
        accounts: Optional[CounsellorAccounts] = None,
    ) -> None:
        """`user` and `password_hash` (COUNSELLOR_USER, COUNSELLOR_PASSWORD_HASH) create or refresh
        one supervisor account at start; the others are made with `python -m bot.counsellors`."""
        self.store = store
        self.accounts = accounts or CounsellorAccounts(store.engine)
        if user and password_hash:
            existing = self.accounts.get(user)
            self.accounts.save(
                user,
                password_hash,
                role=existing.role if existing else "supervisor",
                display_name=existing.display_name if existing else "",
                max_chats=existing.max_chats if existing else 2,
            )
        self.trusted_proxies = trusted_proxies
        self.audit = AuditLog(store.engine)
        self.session_seconds = session_seconds
        self.secure_cookie = secure_cookie
        self.on_logout: List[Callable[[str], Awaitable[None]]] = []  # the console marks the counsellor away
        self.lock_recorded: Dict[str, float] = {}  # address → when its lockout was last audited

    def routes(self) -> list:
        return [
            web.get("/radgiver/", self.bookings),
            web.get("/radgiver/login", self.login_form),
            web.post("/radgiver/login", self.login),
            web.post("/radgiver/logout", self.logout),
            web.post("/radgiver/booking", self.change_booking),
            web.post("/radgiver/block", self.block),
        ]

    # --- sessions ---------------------------------------------------------------------------
    def logged_in(self, request: web.Request) -> Optional[dict]:
        """The login of the request's cookie (the pages and the console's socket ask), or None."""
        login = self.accounts.login_of(request.cookies.get(SESSION_COOKIE, ""))
        if login is None:
            return None
        return {"user": login.account.name, "csrf": login.csrf, "account": login.account}

    def _require(self, request: web.Request, form: Optional[dict] = None) -> dict:
        session = self.logged_in(request)
        if session is None:
            raise web.HTTPSeeOther("/radgiver/login")
        if form is not None and not secrets.compare_digest(str(form.get("csrf", "")), session["csrf"]):
            raise web.HTTPForbidden(text="Ugyldig skjema (CSRF). Last siden på nytt.")
        return session

    def _locked(self, address: str, user: str) -> bool:
        since = datetime.now(timezone.utc) - timedelta(seconds=LOCKOUT_SECONDS)
        return self.store.count_failed("login_address", address[:64], since) >= MAX_FAILURES_PER_ADDRESS or (
            bool(user) and self.store.count_failed("login_account", user[:64], since) >= MAX_FAILURES_PER_ACCOUNT
        )

    def _failed(self, address: str, user: str) -> None:
        keys = [("login_address", address[:64])] + ([("login_account", user[:64])] if user else [])
        self.store.record_failed(keys, datetime.now(timezone.utc), timedelta(seconds=LOCKOUT_SECONDS))

    def _audit_lockout_once(self, actor: str, address: str) -> None:
        """One "login_locked" row per address and lockout window, however often it is tried."""
        if self.lock_recorded.get(address, 0) > time.time() - LOCKOUT_SECONDS:
            return
        self.lock_recorded = {a: t for a, t in self.lock_recorded.items() if t > time.time() - LOCKOUT_SECONDS}
        self.lock_recorded[address] = time.time()
        self.audit.record(actor, "login_locked", address=address)

    @staticmethod
    def same_origin(request: web.Request) -> bool:
        """A browser's Origin, when it sends one, must be this page's own host."""
        origin = request.headers.get("Origin")
        return origin is None or urlparse(origin).netloc.lower() == request.host.lower()

    # --- pages ------------------------------------------------------------------------------
    @staticmethod
    def _page(template: str, status: int = 200, **values) -> web.Response:
        document = TEMPLATES.get_template(template).render(**values)
        return web.Response(text=document, content_type="text/html", status=status, headers=PAGE_POLICY)

    async def login_form(self, request: web.Request, message: str = "", status: int = 200) -> web.Response:
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
        response = self._page("login.html", status, title="Rådgivere – logg inn", message=message, csrf=token)
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookie,
            max_age=3600,
            path="/radgiver/",
        )
        return response

    async def login(self, request: web.Request) -> web.Response:
        address = client_address(request, self.trusted_proxies) or "?"
        form = await request.post()
        token = request.cookies.get(LOGIN_COOKIE, "")
        if not self.same_origin(request) or not token or not secrets.compare_digest(str(form.get("csrf", "")), token):
            raise web.HTTPForbidden(text="Ugyldig skjema (CSRF). Last innloggingssiden på nytt.")
        account = self.accounts.get(str(form.get("user", ""))[:64])
        known_user = account is not None and not account.disabled
        user = account.name if account is not None and known_user else ""
        actor = user or UNKNOWN_USER
        if self._locked(address, user):
            self._audit_lockout_once(actor, address)
            return await self.login_form(request, "For mange forsøk. Vent 15 minutter.", 429)
        # Argon2 takes ~150 ms of CPU: in a thread, so the chats on this gateway do not wait.
        # An unknown name is checked against a dummy hash, so the answer takes as long.
        stored = account.password_hash if account is not None and known_user else dummy_hash()
        password_ok = await asyncio.get_running_loop().run_in_executor(
            None, verify_password, str(form.get("password", "")), stored
        )
        if not (known_user and password_ok):
            self._failed(address, user)
            self.audit.record(actor, "login_failed", address=address)
            return await self.login_form(request, "Feil brukernavn eller passord.", 401)
        self.audit.record(user, "login", address=address)
        token = self.accounts.log_in(user, timedelta(seconds=self.session_seconds))
        response = web.HTTPSeeOther("/radgiver/")
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookie,
            max_age=int(self.session_seconds),
            path="/radgiver/",
        )
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        session = self._require(request, dict(await request.post()))
        self.audit.record(session["user"], "logout")
        self.accounts.log_out(request.cookies.get(SESSION_COOKIE, ""))
        for logged_out in self.on_logout:
            await logged_out(session["user"])
        raise web.HTTPSeeOther("/radgiver/login")

    async def bookings(self, request: web.Request) -> web.Response:
        session = self._require(request)
        plan = Schedule.from_config(load("booking.yml"))
        now = datetime.now(timezone.utc).astimezone(plan.timezone)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        shown = self.store.bookings_between(today, today + timedelta(days=7), statuses=("booked", "blocked"))
        day, channel = _day_filter(request.query.get("dag", "")), request.query.get("kanal", "")
        shown = [
            booking
            for booking in shown
            if (day is None or booking.slot_start.astimezone(plan.timezone).date() == day)
            and (channel not in CHANNELS or booking.channel == channel)
        ]
        self.audit.record(session["user"], "viewed", [booking.reference for booking in shown])
        rows = [
            {
                "time": _local_time(booking.slot_start.astimezone(plan.timezone)),
                "reference": booking.reference,
                "channel": CHANNELS.get(booking.channel, booking.channel),
                "blocked": booking.status == "blocked",
                "phone": booking.phone if booking.channel == "phone" and booking.phone else "",
            }
            for booking in shown
        ]
        return self._page(
            "bookings.html",
            title="Rådgivere: chat og bestillinger",
            rows=rows,
            actions=ACTIONS,
            csrf=session["csrf"],
            notice=request.query.get("melding", ""),
            days=[(today + timedelta(days=offset)).date() for offset in range(7)],
            day_names={d: _day_name(d) for d in [(today + timedelta(days=o)).date() for o in range(7)]},
            chosen_day=day,
            channels=CHANNELS,
            chosen_channel=channel if channel in CHANNELS else "",
            earliest=f"{today:%Y-%m-%dT00:00}",
        )

    async def change_booking(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        session = self._require(request, form)
        status = STATUSES.get(str(form.get("action")))
        if status is None:
            raise web.HTTPBadRequest(text="Ukjent handling")
        try:
            booking = self.store.set_status(str(form.get("reference", "")), status)
            self.audit.record(session["user"], f"set_{status}", [booking.reference])
        except NotFound:
            raise web.HTTPSeeOther("/radgiver/?melding=Fant+ikke+bestillingen")
        raise web.HTTPSeeOther("/radgiver/?melding=Lagret")

    async def block(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        session = self._require(request, form)
        plan = Schedule.from_config(load("booking.yml"))
        start = _typed_time(str(form.get("start", "")))
        if start is None:
            raise web.HTTPSeeOther("/radgiver/?melding=Ugyldig+tid")
        start = start.replace(tzinfo=plan.timezone)
        if not plan.is_slot(start):
            raise web.HTTPSeeOther("/radgiver/?melding=Ikke+en+ledig+timestart")
        try:
            self.store.block(start, plan.counsellors_per_slot)
            self.audit.record(session["user"], "blocked_slot")
        except SlotTaken:
            raise web.HTTPSeeOther("/radgiver/?melding=Tiden+er+allerede+tatt")
        raise web.HTTPSeeOther("/radgiver/?melding=Sperret")
