"""The widget's HTTP API, for clients without a socket and for the quick exit's beacon. Every
body is a JSON object with the session id (never in a URL: URLs end up in logs)."""

import json
from typing import Dict, List, Tuple

from aiohttp import web

from bot.channels.web_chat import EventOutbox, Refused, WebChat
from bot.payloads import as_typed_text
from bot.texts import language_from_code
from core.content import load

TEXTS = "web.yml"


class WebApi:
    def __init__(self, chat: WebChat) -> None:
        self.chat, self.settings = chat, chat.settings

    def cors_headers(self, request: web.Request) -> Dict[str, str]:
        origin = request.headers.get("Origin")
        if origin and origin.rstrip("/") in self.chat.allowed_origins:
            return {
                "Access-Control-Allow-Origin": origin,
                "Vary": "Origin",
                "Access-Control-Allow-Methods": "GET, POST",
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": "600",
            }
        return {"Vary": "Origin"}

    async def preflight(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers=self.cors_headers(request))

    def json_response(self, request: web.Request, body: dict, status: int = 200) -> web.Response:
        return web.json_response(body, status=status, headers=self.cors_headers(request))

    def refusal(self, request: web.Request, refused: Refused) -> web.Response:
        return self.json_response(request, {"error": refused.code, "message": refused.text}, refused.status)

    async def _read_body(self, request: web.Request) -> Tuple[dict, str, str]:
        """(body, language, sender) of a JSON request about a session; Refused when it is not one."""
        try:
            body = json.loads(await request.text())
        except (ValueError, UnicodeDecodeError, LookupError, RecursionError):  # LookupError: unknown charset
            raise Refused("bad_json", "send a JSON object")
        if not isinstance(body, dict):
            raise Refused("bad_json", "send a JSON object")
        return body, language_from_code(body.get("language")), self.chat.sender_of(body.get("session"))

    async def _read_costly(self, request: web.Request) -> Tuple[str, str]:
        """(language, sender) of a request that reads a tracker or calls Rasa, within its limit."""
        _, language, sender = await self._read_body(request)
        if not await self.chat.costly_allowed(request):
            raise self.chat.too_busy(language)
        return language, sender

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            body, language, sender = await self._read_body(request)
            to_rasa = as_typed_text(self.chat.checked_text(body.get("text"), language))
        except Refused as refused:
            return self.refusal(request, refused)
        address = self.chat.address_of(request)
        flood = await self.chat.check_flood(sender, address, language)
        if flood is not None:
            return self.json_response(request, {"error": "rate_limited", "message": flood}, 429)
        seen: List[dict] = []
        sockets = self.chat.outbox(sender)

        async def collect(event: dict) -> None:
            if event["type"] == "message":
                seen.append({key: event["message"][key] for key in ("text", "buttons")})
            elif event["type"] == "deleted":
                seen.append({"text": event["text"], "buttons": [], "deleted": True})
            await sockets.emit(event)  # an open widget of the same session sees it too

        client, conversations = self.chat.client_key(address), self.chat.conversations
        await conversations.run_in_order(
            sender, lambda: conversations.turn(sender, to_rasa, language, EventOutbox(collect), client)
        )
        return self.json_response(request, {"messages": seen})

    async def post_history(self, request: web.Request) -> web.Response:
        try:
            language, sender = await self._read_costly(request)
        except Refused as refused:
            return self.refusal(request, refused)
        return self.json_response(request, {"messages": await self.chat.history(sender, language)})

    async def delete_session(self, request: web.Request) -> web.Response:
        """Also the target of the widget's beacon on a quick exit (a text/plain body, no preflight)."""
        try:
            language, sender = await self._read_costly(request)
        except Refused as refused:
            return self.refusal(request, refused)
        said: List[str] = []
        sockets = self.chat.outbox(sender)

        async def collect(event: dict) -> None:
            if event["type"] == "deleted":
                said.append(event["text"])
            await sockets.emit(event)

        conversations = self.chat.conversations
        await conversations.run_in_order(sender, lambda: conversations.delete(sender, language, EventOutbox(collect)))
        return self.json_response(request, {"deleted": True, "message": said[0] if said else ""})

    async def widget_texts(self, request: web.Request) -> web.Response:
        language = language_from_code(request.query.get("language"))
        labels = load(TEXTS)["ui"][language]
        return self.json_response(request, {"labels": labels, "max_chars": self.settings.web_max_chars})


def add_routes(app: web.Application, chat: WebChat) -> None:
    api = WebApi(chat)
    app.add_routes(
        [
            web.post("/api/v1/messages", api.post_message),
            web.post("/api/v1/history", api.post_history),
            web.post("/api/v1/sessions/delete", api.delete_session),
            web.get("/api/v1/widget-texts", api.widget_texts),
            web.route("OPTIONS", "/api/v1/{tail:.*}", api.preflight),
        ]
    )
