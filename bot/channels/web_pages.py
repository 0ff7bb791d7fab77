"""The widget's pages and files: the demo page of the service, the privacy pages and the widget's
script and styles (bot/web/), with the service's details filled in."""

import html
from pathlib import Path
from typing import Dict

from aiohttp import web

from bot.settings import Settings
from bot.texts import PRIVACY_PAGES, privacy_path
from core.content import service_details
from core.settings import content_dir, phone_retention_days

ASSETS = Path(__file__).resolve().parent.parent / "web"


class WebPages:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def headers(self) -> Dict[str, str]:
        """The pages' own policy: their scripts and styles, framed only where the service allows."""
        return {
            "Content-Security-Policy": (
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                f"frame-ancestors {self.settings.web_frame_ancestors}"
            )
        }

    def filled_page(self, path: Path, values: Dict[str, str]) -> web.Response:
        """An HTML page with its {placeholders} filled in (escaped)."""
        page = path.read_text(encoding="utf-8")
        for key, value in values.items():
            page = page.replace("{" + key + "}", html.escape(value))
        return web.Response(text=page, content_type="text/html", headers=self.headers())

    async def demo_page(self, request: web.Request) -> web.Response:
        return self.filled_page(ASSETS / "demo.html", service_details())

    async def privacy_page(self, request: web.Request) -> web.Response:
        """The privacy page in Bokmål (/personvern) or English (/privacy), with the service's details
        and retention filled in."""
        language = "en" if request.path == privacy_path("en") else "nb"
        return self.filled_page(
            content_dir() / PRIVACY_PAGES[language],
            {
                **service_details(),
                "retention_days": f"{self.settings.conversation_retention_days:g}",
                "phone_days": f"{phone_retention_days():g}",
            },
        )

    async def asset(self, request: web.Request) -> web.Response:
        name = request.path.lstrip("/")
        content_type = "text/javascript" if name.endswith(".js") else "text/css"
        headers = {**self.headers(), "Cache-Control": "no-cache", "Cross-Origin-Resource-Policy": "cross-origin"}
        return web.Response(
            body=(ASSETS / name).read_bytes(), content_type=content_type, charset="utf-8", headers=headers
        )


def add_routes(app: web.Application, settings: Settings) -> None:
    pages = WebPages(settings)
    app.add_routes(
        [
            web.get("/", pages.demo_page),
            web.get("/widget.js", pages.asset),
            web.get("/widget.css", pages.asset),
            web.get("/demo.css", pages.asset),
            web.get(privacy_path("nb"), pages.privacy_page),
            web.get(privacy_path("en"), pages.privacy_page),
        ]
    )
