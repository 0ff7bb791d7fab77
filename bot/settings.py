"""All settings in one place: environment variables with defaults (documented in the README)."""
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
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
    conversation_retention_days: float = 30  # idle conversations are deleted after this
    audit_retention_days: float = 365        # counsellors' audit log entries are deleted after this
    tracker_store_url: str = ""  # PostgreSQL for Rasa's tracker store; empty: SQLite in tracker_db
    lock_store_url: str = ""     # Redis for Rasa's lock store; empty: in memory (one Rasa process)
    gateway_redis_url: str = ""  # Redis shared by gateway replicas; empty: state in the process
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
        conversation_retention_days=float(_env("CONVERSATION_RETENTION_DAYS", "30")),
        audit_retention_days=float(_env("AUDIT_RETENTION_DAYS", "365")),
        public_url=_env("PUBLIC_URL", "").rstrip("/"),
        tracker_store_url=_env("TRACKER_STORE_URL", ""),
        lock_store_url=_env("LOCK_STORE_URL", ""),
        gateway_redis_url=_env("GATEWAY_REDIS_URL", ""),
        web_allowed_origins=tuple(o.strip().rstrip("/") for o in _env("WEB_ALLOWED_ORIGINS", "").split(",") if o.strip()),
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
    )
