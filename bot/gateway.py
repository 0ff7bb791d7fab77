"""The gateway process: for now the counsellors' page (channels come with the Telegram and web issues).

    .venv/bin/python -m bot.gateway     # listens on GATEWAY_HOST:GATEWAY_PORT (127.0.0.1:8000)
"""
import os

from aiohttp import web

from actions.booking_store import BookingStore
from bot.counsellor_page import SECURITY_HEADERS, CounsellorPage
from bot.settings import load_settings


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"}, headers=SECURITY_HEADERS)


def create_app() -> web.Application:
    store = BookingStore()
    store.migrate()
    page = CounsellorPage(store, user=os.environ.get("COUNSELLOR_USER", "radgiver"),
                          password_hash=os.environ.get("COUNSELLOR_PASSWORD_HASH", ""),
                          secure_cookie=os.environ.get("COOKIE_SECURE", "1") != "0")
    app = web.Application(client_max_size=64 * 1024)
    app.add_routes([web.get("/health", health)] + page.routes())
    return app


if __name__ == "__main__":
    settings = load_settings()
    web.run_app(create_app(), host=settings.gateway_host, port=settings.gateway_port, print=None)
