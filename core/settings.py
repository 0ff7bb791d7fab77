"""Every setting in one place: the only module that reads the environment (outside tests/,
scripts/ and bench/; tests/test_layout.py checks it). Variables and defaults are listed in the
README.

Nothing is read at import time. A process reads the tree once when it starts (load_settings())
and passes the parts on: a store gets its URL, the counsellors' page its login, the action
server its limits and clock. The few values that must be looked up where they are used (the
content folder, the phone-number retention editors change in content/booking.yml, the shared
secrets of the internal services) are read by functions here, at the moment of use.

The tree:

    Settings                  the gateway and what the processes share (hosts, ports, stores, …)
      .counsellors            CounsellorPageSettings: the counsellors' page login
      .action_server          ActionServerSettings: booking limits, test clock, fault injection
      .cluster                ClusterSettings: make cluster's ports and replicas (ops/cluster.py)
      .retention              Retention: every retention period
      .handoff                HandoffSettings: live chat with a counsellor
"""

import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Dict, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONTENT_DIR = PROJECT_ROOT / "content"
# Fault injection for the privacy test (tests/test_security.py): every action raises, with the
# user's text in the exception, after it has run. Never set in production.
FAIL_ON_PURPOSE_ENV = "ACTIONS_FAIL_ON_PURPOSE"
PHONE_RETENTION_KEY = "phone_retention_days"  # in content/booking.yml, where editors change it
PHONE_RETENTION_DEFAULT_DAYS = 7  # when booking.yml does not say


def _env(name: str, default: str) -> str:
    """The variable, or the default when it is unset or empty."""
    value = os.environ.get(name)
    return value if value else default


def _given(name: str, default: str) -> str:
    """The variable, or the default when it is unset (an empty value counts, as it always has here)."""
    return os.environ.get(name, default)


def _number(name: str, default: int) -> int:
    """A whole number, or the default when the variable holds anything else."""
    value = os.environ.get(name, "")
    return int(value) if value.strip().isdigit() else default


@dataclass(frozen=True)
class CounsellorPageSettings:
    """The counsellors' page (bot/counsellor_page.py)."""

    user: str = "radgiver"  # COUNSELLOR_USER
    password_hash: str = ""  # COUNSELLOR_PASSWORD_HASH; empty: no login possible
    secure_cookie: bool = True  # COOKIE_SECURE; "0" only for local http without TLS
    session_seconds: float = 8 * 3600  # COUNSELLOR_SESSION_SECONDS


@dataclass(frozen=True)
class HandoffSettings:
    """Live chat with a counsellor (bot/handoff.py)."""

    wait_minutes: float = 10  # HANDOFF_WAIT_MINUTES: unclaimed this long, the visitor is told and offered more
    idle_minutes: float = 20  # HANDOFF_IDLE_MINUTES: a chat silent this long ends, and the bot is back
    check_seconds: float = 15  # HANDOFF_CHECK_SECONDS: how often each gateway looks for unclaimed and idle chats
    # HANDOFF_CLOCK_FILE (tests only): the time the staffed-hours check reads (core/clock.py)
    clock_file: Optional[Path] = None


@dataclass(frozen=True)
class BookingLimits:
    """Limits on bookings and on tries to open one, per conversation and per client (the
    gateway's pseudonym of the network address for the web, the chat for Telegram)."""

    per_session: int = 1  # BOOKINGS_PER_SESSION: active bookings per conversation
    per_client_per_day: int = 6  # BOOKINGS_PER_ADDRESS_PER_DAY: shared addresses (mobile NAT) need room
    failed_tries_per_code: int = 5  # MANAGE_TRIES_PER_CODE: per reference, per day
    failed_tries_per_client: int = 10  # MANAGE_TRIES_PER_ADDRESS: per address, per day
    tries_window: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class ActionServerSettings:
    """The action server (services/action_server.py). It listens on Settings.action_host and
    action_port, which Rasa's endpoint and the process starter share."""

    limits: BookingLimits = field(default_factory=BookingLimits)
    # ACTION_CLOCK_FILE: a file holding the time the action server's clock shows (actions/clock.py);
    # the tests and the conversation benchmark set it. None: real time.
    clock_file: Optional[Path] = None
    fail_on_purpose: bool = False  # ACTIONS_FAIL_ON_PURPOSE=1 (tests/test_security.py)


@dataclass(frozen=True)
class ClusterSettings:
    """make cluster (ops/cluster.py)."""

    port: int = 8088  # CLUSTER_PORT: where users reach the load balancer
    replicas: int = 2  # CLUSTER_REPLICAS
    first_port: int = 8100  # CLUSTER_FIRST_PORT: the internal ports are counted from here


def phone_retention_days() -> float:
    """Days a booking's phone number (and what links the booking to a conversation) is kept after
    the appointment: content/booking.yml's phone_retention_days, where editors change it. Read at
    every use, so a change applies without a restart, as every content file does."""
    from core.content import load  # content reads its folder from here: imported when used

    return load("booking.yml").get(PHONE_RETENTION_KEY, PHONE_RETENTION_DEFAULT_DAYS)


@dataclass(frozen=True)
class Retention:
    """Every retention period, in days (bot/retention.py applies them every hour)."""

    conversation_days: float = 30  # CONVERSATION_RETENTION_DAYS: idle conversations are deleted after this
    audit_days: float = 365  # AUDIT_RETENTION_DAYS: counsellors' audit log entries are deleted after this
    phone_handle_days: float = 1  # a phone number typed but not booked within a day is erased

    @property
    def phone_days(self) -> float:
        """After the appointment: content/booking.yml (phone_retention_days() above)."""
        return phone_retention_days()


@dataclass(frozen=True)
class Settings:
    """The root of the tree: the gateway's settings and what every process shares."""

    rasa_host: str
    rasa_port: int
    action_host: str
    action_port: int
    gateway_host: str
    gateway_port: int
    rasa_auth_token: str
    tracker_db: Path
    model_path: Path
    var_dir: Path
    # Telegram (off unless a token is set; webhook mode when a public URL is set)
    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_poll_timeout: int = 30
    # Relaying to Rasa: the user is told after `rasa_slow_seconds`; a message that cannot reach
    # Rasa is retried for `rasa_retry_seconds` before the user is asked to send it again.
    rasa_timeout_seconds: float = 60
    rasa_slow_seconds: float = 8
    rasa_retry_seconds: float = 600
    rasa_retry_max_delay: float = 30
    # Flood protection per chat: more than `flood_messages` in `flood_window_seconds`.
    flood_messages: int = 8
    flood_window_seconds: float = 10
    sender_id_secret: str = ""
    tracker_store_url: str = ""  # PostgreSQL for Rasa's tracker store; empty: SQLite in tracker_db
    lock_store_url: str = ""  # Redis for Rasa's lock store; empty: in memory (one Rasa process)
    gateway_redis_url: str = ""  # Redis shared by gateway replicas; empty: state in the process
    database_url: str = ""  # bookings and the audit log; empty: SQLite var_dir/bookings.db (bookings_url)
    public_url: str = ""  # where users reach the gateway (links to the privacy page); default gateway_url
    # The web widget: origins allowed to use the chat (empty: the gateway's own), the longest
    # message, requests per address per minute, and who may frame the gateway's pages.
    web_allowed_origins: tuple = ()
    web_max_chars: int = 2000
    web_address_messages: int = 60
    # Requests that cost a tracker read or a Rasa call besides messages (history, deletes,
    # restarts, socket hellos) per address per minute; open sockets per address; seconds a new
    # socket may take to say hello.
    web_address_requests: int = 30
    web_sockets_per_address: int = 10
    web_hello_seconds: float = 10
    web_frame_ancestors: str = "'none'"
    # Load balancers whose X-Forwarded-For header is believed (bot/client_address.py).
    trusted_proxies: tuple = ()
    # This replica's name, sent as X-Gateway-Replica so operators (and tests) see who answered.
    gateway_name: str = ""
    # Shared by the gateway and Rasa's channel, and by Rasa and the action server
    # (services/internal_secrets.py). A fresh random one per start unless set.
    rasa_channel_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    action_server_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # The sections
    counsellors: CounsellorPageSettings = field(default_factory=CounsellorPageSettings)
    action_server: ActionServerSettings = field(default_factory=ActionServerSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    retention: Retention = field(default_factory=Retention)
    handoff: HandoffSettings = field(default_factory=HandoffSettings)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.gateway_host}:{self.gateway_port}"

    @property
    def public_base(self) -> str:
        return self.public_url or self.gateway_url

    @property
    def action_server_url(self) -> str:
        return f"http://{self.action_host}:{self.action_port}/webhook"

    @property
    def bookings_url(self) -> str:
        """The bookings database: DATABASE_URL, else SQLite in var_dir."""
        return self.database_url or f"sqlite:///{self.var_dir / 'bookings.db'}"

    @property
    def conversation_retention_days(self) -> float:
        return self.retention.conversation_days

    @property
    def audit_retention_days(self) -> float:
        return self.retention.audit_days


def content_dir() -> Path:
    """The editable content (core/content.py asks at every use, so CONTENT_DIR set before a
    process starts, or a test's own folder, applies)."""
    return Path(_given("CONTENT_DIR", str(DEFAULT_CONTENT_DIR)))


def child_environment() -> Dict[str, str]:
    """The environment a child process starts from (ops/processes.py adds the settings to it)."""
    return dict(os.environ)


def required_secret(name: str) -> str:
    """A secret shared between the internal services, from the environment only (never the
    command line, where `ps` shows it); a service never starts open because one is missing."""
    value = os.environ.get(name, "")
    if len(value) < 16:
        raise SystemExit(f"{name} must be set (at least 16 characters); ops/processes.py sets it")
    return value


def _counsellor_page() -> CounsellorPageSettings:
    return CounsellorPageSettings(
        user=_given("COUNSELLOR_USER", "radgiver"),
        password_hash=_given("COUNSELLOR_PASSWORD_HASH", ""),
        secure_cookie=_given("COOKIE_SECURE", "1") != "0",
        session_seconds=float(_given("COUNSELLOR_SESSION_SECONDS", str(8 * 3600))),
    )


def _action_server() -> ActionServerSettings:
    clock_file = os.environ.get("ACTION_CLOCK_FILE")
    return ActionServerSettings(
        limits=BookingLimits(
            per_session=_number("BOOKINGS_PER_SESSION", 1),
            per_client_per_day=_number("BOOKINGS_PER_ADDRESS_PER_DAY", 6),
            failed_tries_per_code=_number("MANAGE_TRIES_PER_CODE", 5),
            failed_tries_per_client=_number("MANAGE_TRIES_PER_ADDRESS", 10),
        ),
        clock_file=Path(clock_file) if clock_file else None,
        fail_on_purpose=os.environ.get(FAIL_ON_PURPOSE_ENV) == "1",
    )


def _cluster() -> ClusterSettings:
    return ClusterSettings(
        port=int(_env("CLUSTER_PORT", "8088")),
        replicas=int(_env("CLUSTER_REPLICAS", "2")),
        first_port=int(_env("CLUSTER_FIRST_PORT", "8100")),
    )


def _handoff() -> HandoffSettings:
    return HandoffSettings(
        wait_minutes=float(_env("HANDOFF_WAIT_MINUTES", "10")),
        idle_minutes=float(_env("HANDOFF_IDLE_MINUTES", "20")),
        check_seconds=float(_env("HANDOFF_CHECK_SECONDS", "15")),
        clock_file=Path(os.environ["HANDOFF_CLOCK_FILE"]) if os.environ.get("HANDOFF_CLOCK_FILE") else None,
    )


def load_settings() -> Settings:
    var_dir = Path(_env("VAR_DIR", str(PROJECT_ROOT / "var")))
    return Settings(
        rasa_host=_env("RASA_HOST", "127.0.0.1"),
        rasa_port=int(_env("RASA_PORT", "5005")),
        action_host=_env("ACTION_HOST", "127.0.0.1"),
        action_port=int(_env("ACTION_PORT", "5055")),
        gateway_host=_env("GATEWAY_HOST", "127.0.0.1"),
        gateway_port=int(_env("GATEWAY_PORT", "8000")),
        rasa_auth_token=_env("RASA_AUTH_TOKEN", ""),
        tracker_db=Path(_env("TRACKER_DB", str(var_dir / "tracker.db"))),
        model_path=Path(_env("RASA_MODEL", str(PROJECT_ROOT / "models" / "current.tar.gz"))),
        var_dir=var_dir,
        telegram_token=_env("TELEGRAM_TOKEN", ""),
        telegram_api_url=_env("TELEGRAM_API_URL", "https://api.telegram.org/bot"),
        telegram_webhook_url=_env("TELEGRAM_WEBHOOK_URL", ""),
        telegram_webhook_secret=_env("TELEGRAM_WEBHOOK_SECRET", ""),
        telegram_poll_timeout=int(_env("TELEGRAM_POLL_TIMEOUT", "30")),
        rasa_timeout_seconds=float(_env("RASA_TIMEOUT_SECONDS", "60")),
        rasa_slow_seconds=float(_env("RASA_SLOW_SECONDS", "8")),
        rasa_retry_seconds=float(_env("RASA_RETRY_SECONDS", "600")),
        rasa_retry_max_delay=float(_env("RASA_RETRY_MAX_DELAY", "30")),
        flood_messages=int(_env("FLOOD_MESSAGES", "8")),
        flood_window_seconds=float(_env("FLOOD_WINDOW_SECONDS", "10")),
        sender_id_secret=_env("SENDER_ID_SECRET", ""),
        public_url=_env("PUBLIC_URL", "").rstrip("/"),
        tracker_store_url=_env("TRACKER_STORE_URL", ""),
        lock_store_url=_env("LOCK_STORE_URL", ""),
        gateway_redis_url=_env("GATEWAY_REDIS_URL", ""),
        database_url=_env("DATABASE_URL", ""),
        web_allowed_origins=tuple(
            o.strip().rstrip("/") for o in _env("WEB_ALLOWED_ORIGINS", "").split(",") if o.strip()
        ),
        web_max_chars=int(_env("WEB_MAX_CHARS", "2000")),
        web_address_messages=int(_env("WEB_ADDRESS_MESSAGES", "60")),
        web_address_requests=int(_env("WEB_ADDRESS_REQUESTS", "30")),
        web_sockets_per_address=int(_env("WEB_SOCKETS_PER_ADDRESS", "10")),
        web_hello_seconds=float(_env("WEB_HELLO_SECONDS", "10")),
        web_frame_ancestors=_env("WEB_FRAME_ANCESTORS", "'none'"),
        trusted_proxies=tuple(p.strip() for p in _env("TRUSTED_PROXIES", "").split(",") if p.strip()),
        gateway_name=_env("GATEWAY_NAME", ""),
        rasa_channel_secret=_env("RASA_CHANNEL_SECRET", "") or secrets.token_urlsafe(32),
        action_server_secret=_env("ACTION_SERVER_SECRET", "") or secrets.token_urlsafe(32),
        counsellors=_counsellor_page(),
        action_server=_action_server(),
        cluster=_cluster(),
        handoff=_handoff(),
        retention=Retention(
            conversation_days=float(_env("CONVERSATION_RETENTION_DAYS", "30")),
            audit_days=float(_env("AUDIT_RETENTION_DAYS", "365")),
        ),
    )
