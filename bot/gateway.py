"""The gateway process: the channels (web widget, Telegram) and the counsellors' page.

.venv/bin/python -m bot.gateway     # listens on GATEWAY_HOST:GATEWAY_PORT (127.0.0.1:8000)
"""

import asyncio
import logging

from aiohttp import web

from bot.channels.web import WebChannel
from bot.console import Console
from bot.conversations import Conversations
from bot.counsellor_page import CounsellorPage
from bot.forgetting import Forgetting
from bot.handoff import Handoffs
from bot.http_guard import guard
from bot.pseudonyms import Pseudonyms, load_secret
from bot.rasa_client import RasaClient
from bot.relay import Relay
from bot.retention import apply_retention
from bot.shared_state import connect
from core.booking_store import BookingStore
from core.conversation_store import ConversationStore, tracker_store_url
from core.handoff_store import HandoffStore
from core.settings import Settings, load_settings

log = logging.getLogger("bot.gateway")
RETENTION_EVERY_SECONDS = 3600


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})  # headers: bot/http_guard.py


def name_the_replica(app: web.Application, name: str) -> None:
    """Every response (WebSocket handshakes too) says which replica answered: X-Gateway-Replica."""

    async def add_header(_request: web.Request, response: web.StreamResponse) -> None:
        response.headers["X-Gateway-Replica"] = name

    if name:
        app.on_response_prepare.append(add_header)  # type: ignore[arg-type]  # aiohttp's own annotation


def _add_rasa_client(app: web.Application, settings: Settings, bookings: BookingStore) -> Relay:
    rasa = RasaClient(
        settings.rasa_url, settings.rasa_timeout_seconds, settings.rasa_auth_token, settings.rasa_channel_secret
    )

    async def connected(_app):
        await rasa.start()
        yield
        await rasa.close()

    app.cleanup_ctx.append(connected)  # before the channels: it closes after their turns are done
    return Relay(
        rasa,
        settings.rasa_slow_seconds,
        settings.rasa_retry_seconds,
        settings.rasa_retry_max_delay,
        keep_phone=bookings.keep_phone,
    )


def _schedule_retention(
    app: web.Application, settings: Settings, conversations: ConversationStore, bookings: BookingStore
) -> None:
    """Runs the retention job (bot/retention.py) at start and then every hour."""

    async def every_hour():
        while True:
            try:
                report = await asyncio.get_running_loop().run_in_executor(
                    None,
                    lambda: apply_retention(
                        conversations,
                        bookings,
                        settings.conversation_retention_days,
                        audit_days=settings.audit_retention_days,
                    ),
                )
                if report:
                    log.info("Retention: deleted %s", report)
            except Exception:  # a database hiccup must not stop the gateway; the next hour retries
                log.exception("Retention job failed")
            await asyncio.sleep(RETENTION_EVERY_SECONDS)

    async def running(_app):
        job = asyncio.create_task(every_hour())
        yield
        job.cancel()

    app.cleanup_ctx.append(running)


def create_app(settings: Settings) -> web.Application:
    store = BookingStore(settings.bookings_url)
    store.migrate()
    counsellors = settings.counsellors
    page = CounsellorPage(
        store,
        user=counsellors.user,
        password_hash=counsellors.password_hash,
        secure_cookie=counsellors.secure_cookie,
        session_seconds=counsellors.session_seconds,
        trusted_proxies=settings.trusted_proxies,
    )
    app = web.Application(client_max_size=64 * 1024)
    name_the_replica(app, settings.gateway_name)
    app.add_routes([web.get("/health", health)] + page.routes())
    relay = _add_rasa_client(app, settings, store)
    secret = load_secret(settings)
    pseudonyms = Pseudonyms(secret)
    stored = ConversationStore(tracker_store_url(settings))
    _schedule_retention(app, settings, stored, store)
    redis = connect(settings.gateway_redis_url)
    if redis is not None:

        async def close_redis(_app):
            await redis.close()

        app.on_cleanup.append(close_redis)
    handoffs = Handoffs(HandoffStore(store.engine), page.accounts, settings.handoff, page.audit)
    conversations = Conversations(
        relay, Forgetting(stored, store), settings.flood_messages, settings.flood_window_seconds, redis, handoffs
    )
    Console(page, handoffs, relay.rasa, redis).attach(app)
    web_channel = WebChannel(settings, conversations, pseudonyms, redis)
    guard(app, web_channel.chat.allowed_origins)
    web_channel.attach(app)
    if settings.telegram_token:
        from bot.channels.telegram import TelegramChannel, webhook_secret  # only when configured

        TelegramChannel(settings, conversations, pseudonyms, webhook_secret(settings, secret)).attach(app)
        log.info("Telegram channel on (%s)", "webhook" if settings.telegram_webhook_url else "long polling")
    else:
        log.info("Telegram channel off (no TELEGRAM_TOKEN)")

    async def finish_turns(_app):
        yield
        await conversations.drain()  # before the Rasa client and Redis close

    app.cleanup_ctx.append(finish_turns)
    return app


def _quiet_logging() -> None:
    """Logs carry no message text, chat ids or tokens: httpx would log request URLs, which hold
    the bot token, and aiohttp's access log would hold visitors' addresses."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "aiohttp.access", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


if __name__ == "__main__":
    _quiet_logging()
    settings = load_settings()
    web.run_app(create_app(settings), host=settings.gateway_host, port=settings.gateway_port, print=None)
