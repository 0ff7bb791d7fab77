"""The web channel: the chat widget's files, its demo page and its endpoints.

    GET  /                      demo page of the service with the widget
    GET  /widget.js, /widget.css
    GET  /ws                    WebSocket: the widget's conversation, pushed both ways
    POST /api/v1/messages       {"session", "text"} -> the bot's replies (for clients without a socket)
    GET  /api/v1/messages       ?session= -> the conversation so far
    POST /api/v1/sessions/delete {"session"} -> deletes the conversation (also sent as a beacon)
    GET  /api/v1/widget-texts   ?language= -> the widget's labels (content/web.yml)

The browser keeps a random session id (sessionStorage); Rasa sees only its keyed hash. Each
session's messages are handled in order; flood limits hold per session and per address.
"""
import asyncio
import html
import json
import logging
import re
import time
import uuid
from collections import OrderedDict, deque
from pathlib import Path
from typing import Awaitable, Callable, Deque, Dict, List, Optional, Set, Tuple

from aiohttp import WSMsgType, web

from core.content import CONTENT_DIR, load, service_details
from bot.channels.web_history import messages_from_events
from bot.chat_queues import ChatQueues
from bot.emoji_words import meaning as emoji_meaning
from bot.client_address import client_address
from bot.payloads import as_typed_text, is_button_payload
from bot.flood_guard import Verdict
from bot.forgetting import Forgetting, asks_to_forget
from bot.pseudonyms import Pseudonyms
from bot.rasa_client import RasaUnavailable
from bot.relay import Relay
from bot.replies import pack
from bot.settings import Settings
from bot.shared_state import PushBus, SharedFloodGuard
from bot.texts import PRIVACY_PAGES, gateway_text, privacy_path, text
from bot.turn_order import TurnOrder

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "web"
TEXTS = "web.yml"
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")  # whole string: fullmatch, so no trailing newline
MAX_FRAME = 64 * 1024          # one WebSocket frame; longer texts are refused by the size check
MAX_PAYLOAD = 512              # a button's payload
RECENT_IDS = 100               # client message ids remembered per session, to drop resends
RECENT_SESSIONS = 10000        # sessions whose ids are remembered (a resend comes within seconds)
ADDRESS_WINDOW_SECONDS = 60
Emit = Callable[[dict], Awaitable[None]]


class Refused(Exception):
    """A message the gateway will not pass on; `text` is the kind explanation for the user."""

    def __init__(self, code: str, text: str, status: int = 400) -> None:
        super().__init__(code)
        self.code, self.text, self.status = code, text, status


def language_of(value: object) -> str:
    return "en" if value == "en" else "nb"


class WebChannel:
    def __init__(self, settings: Settings, relay: Relay, pseudonyms: Pseudonyms, forgetting: Forgetting,
                 redis=None) -> None:
        self.settings, self.relay, self.pseudonyms, self.forgetting = settings, relay, pseudonyms, forgetting
        own = {settings.gateway_url, f"http://localhost:{settings.gateway_port}"}
        self.allowed_origins = set(settings.web_allowed_origins) or own
        self.queues = ChatQueues(TurnOrder(redis))
        self.session_flood = SharedFloodGuard("web-session", settings.flood_messages, settings.flood_window_seconds, redis)
        self.address_flood = SharedFloodGuard("web-address", settings.web_address_messages, ADDRESS_WINDOW_SECONDS, redis)
        # history, deletes, restarts and hellos: each reads a tracker or calls Rasa
        self.request_flood = SharedFloodGuard("web-requests", settings.web_address_requests, ADDRESS_WINDOW_SECONDS, redis)
        self.sockets_of_address: Dict[str, int] = {}
        self.bus = PushBus(redis, self._push_here)
        self.sockets: Dict[str, Set[web.WebSocketResponse]] = {}
        self.recent_ids: "OrderedDict[str, Deque[str]]" = OrderedDict()  # most recent sessions only

    def attach(self, app: web.Application) -> None:
        app.middlewares.append(self.origin_guard)
        app.on_startup.append(lambda _app: self.bus.start())
        app.on_cleanup.append(lambda _app: self.bus.stop())
        app.add_routes([
            web.get("/", self.demo_page),
            web.get("/widget.js", self.asset),
            web.get("/widget.css", self.asset),
            web.get("/demo.css", self.asset),
            web.get(privacy_path("nb"), self.privacy_page),
            web.get(privacy_path("en"), self.privacy_page),
            web.get("/ws", self.websocket),
            web.post("/api/v1/messages", self.post_message),
            web.post("/api/v1/history", self.post_history),
            web.post("/api/v1/sessions/delete", self.delete_session),
            web.get("/api/v1/widget-texts", self.widget_texts),
            web.route("OPTIONS", "/api/v1/{tail:.*}", self.preflight),
        ])

    # --- pages and files ---------------------------------------------------------------------------

    def page_headers(self) -> Dict[str, str]:
        return {
            "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                        f"frame-ancestors {self.settings.web_frame_ancestors}"),
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        }

    def filled_page(self, path: Path, values: Dict[str, str]) -> web.Response:
        """An HTML page with its {placeholders} filled in (escaped)."""
        page = path.read_text(encoding="utf-8")
        for key, value in values.items():
            page = page.replace("{" + key + "}", html.escape(value))
        return web.Response(text=page, content_type="text/html", headers=self.page_headers())

    async def demo_page(self, request: web.Request) -> web.Response:
        return self.filled_page(ASSETS / "demo.html", service_details())

    async def privacy_page(self, request: web.Request) -> web.Response:
        """The privacy page in Bokmål (/personvern) or English (/privacy), with the service's details
        and retention filled in."""
        language = "en" if request.path == privacy_path("en") else "nb"
        return self.filled_page(CONTENT_DIR / PRIVACY_PAGES[language], {
            **service_details(), "retention_days": f"{self.settings.conversation_retention_days:g}",
            "phone_days": str(load("booking.yml")["phone_retention_days"])})

    async def asset(self, request: web.Request) -> web.Response:
        name = request.path.lstrip("/")
        content_type = "text/javascript" if name.endswith(".js") else "text/css"
        headers = {**self.page_headers(), "Cache-Control": "no-cache", "Cross-Origin-Resource-Policy": "cross-origin"}
        return web.Response(body=(ASSETS / name).read_bytes(), content_type=content_type, charset="utf-8",
                            headers=headers)

    # --- origins -----------------------------------------------------------------------------------

    def origin_allowed(self, request: web.Request) -> bool:
        """Browsers always send Origin on these requests; clients without one (scripts, load tests)
        are let through, since they could send any Origin anyway."""
        origin = request.headers.get("Origin")
        return origin is None or origin.rstrip("/") in self.allowed_origins

    def cors_headers(self, request: web.Request) -> Dict[str, str]:
        origin = request.headers.get("Origin")
        if origin and origin.rstrip("/") in self.allowed_origins:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                    "Access-Control-Allow-Methods": "GET, POST", "Access-Control-Allow-Headers": "Content-Type",
                    "Access-Control-Max-Age": "600"}
        return {"Vary": "Origin"}

    @web.middleware
    async def origin_guard(self, request: web.Request, handler):
        """Pages of other sites may not use the chat's socket or API."""
        if (request.path == "/ws" or request.path.startswith("/api/")) and not self.origin_allowed(request):
            return web.Response(status=403, text="origin not allowed")
        return await handler(request)

    async def preflight(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers=self.cors_headers(request))

    def json_response(self, request: web.Request, body: dict, status: int = 200) -> web.Response:
        headers = {**self.cors_headers(request), "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        return web.json_response(body, status=status, headers=headers)

    def refusal(self, request: web.Request, refused: Refused) -> web.Response:
        return self.json_response(request, {"error": refused.code, "message": refused.text}, refused.status)

    # --- checks shared by the socket and the HTTP form --------------------------------------------

    def sender_of(self, session: object, language: str) -> str:
        if not isinstance(session, str) or not SESSION_ID.fullmatch(session):
            raise Refused("bad_session", "session must be 22–64 letters, digits, - or _")
        return self.pseudonyms.sender_id("web", session)

    def checked_text(self, value: object, language: str) -> str:
        if not isinstance(value, str):
            raise Refused("bad_request", "text must be a string")
        if not value.strip():
            raise Refused("empty", text(TEXTS, "empty", language))
        if len(value) > self.settings.web_max_chars:
            raise Refused("too_long", text(TEXTS, "too_long", language, limit=self.settings.web_max_chars), status=413)
        return value

    async def costly_allowed(self, request: web.Request) -> bool:
        """A request that reads a tracker or calls Rasa without being a message, within the limit."""
        address = client_address(request, self.settings.trusted_proxies) or "unknown"
        return await self.request_flood.check(address) == Verdict.ACCEPT

    def too_busy(self, language: str) -> Refused:
        return Refused("rate_limited", gateway_text("flood", language), status=429)

    async def check_flood(self, sender: str, address: Optional[str], language: str) -> Optional[str]:
        """None to go on; else the flood text for a first refusal, or "" for a silent drop."""
        verdicts = [await self.session_flood.check(sender), await self.address_flood.check(address or "unknown")]
        if Verdict.WARN in verdicts:
            return gateway_text("flood", language)
        if Verdict.DROP in verdicts:
            return ""
        return None

    def first_time(self, sender: str, client_id: object) -> bool:
        """False for a message the client sends again after a reconnect, which was already taken."""
        if not isinstance(client_id, str) or not client_id:
            return True
        recent = self.recent_ids.setdefault(sender, deque(maxlen=RECENT_IDS))
        self.recent_ids.move_to_end(sender)
        while len(self.recent_ids) > RECENT_SESSIONS:
            self.recent_ids.popitem(last=False)
        if client_id[:64] in recent:
            return False
        recent.append(client_id[:64])
        return True

    # --- one turn ------------------------------------------------------------------------------------

    def client_key(self, address: Optional[str]) -> str:
        """The network address as a pseudonym: the action server limits bookings and tries per client."""
        return self.pseudonyms.sender_id("address", address or "unknown")

    async def turn(self, sender: str, text_to_rasa: str, language: str, emit: Emit, client: str = "") -> None:
        """Passes one message to Rasa and emits what the user should see."""
        if not any(character.isalnum() for character in text_to_rasa):
            emoji = emoji_meaning(text_to_rasa)  # 👍 is "ja", 😢 gets a kind answer, the rest "only words"
            if not emoji.words:
                await emit(self.notice(gateway_text(emoji.reply or "no_words", language)))
                return
            text_to_rasa = emoji.words
        await emit({"type": "typing", "on": True})
        try:
            replies = await self.relay.deliver(
                sender, text_to_rasa, on_trouble=lambda: emit(self.notice(gateway_text("rasa_trouble", language))),
                language=language, client=client)
        finally:
            await emit({"type": "typing", "on": False})
        if replies is None:
            await emit(self.notice(gateway_text("rasa_gave_up", language)))
            return
        for message in pack(replies):
            await emit({"type": "message", "message": {"id": uuid.uuid4().hex, "from": "bot", "text": message.text,
                                                       "buttons": message.buttons, "ts": time.time()}})
        if asks_to_forget(replies):
            await self.forget(sender, language, emit)

    async def forget(self, sender: str, language: str, emit: Emit) -> None:
        confirmation = await self.forgetting.forget_and_confirm(sender, language)
        self.relay.forget(sender)
        self.recent_ids.pop(sender, None)
        await self.session_flood.forget(sender)
        await emit({"type": "deleted", "text": confirmation})

    async def restart(self, sender: str, language: str, emit: Emit) -> None:
        try:
            await self.relay.rasa.send(sender, "/restart")
        except RasaUnavailable:
            await emit(self.notice(gateway_text("rasa_gave_up", language)))
            return
        await emit({"type": "history", "messages": [self.welcome(language)]})

    @staticmethod
    def notice(said: str) -> dict:
        return {"type": "message", "message": {"id": uuid.uuid4().hex, "from": "bot", "text": said, "buttons": [],
                                               "ts": time.time(), "notice": True}}

    def welcome(self, language: str) -> dict:
        welcome = text(TEXTS, "welcome", language, privacy_url=f"{self.settings.public_base}{privacy_path(language)}")
        return {"id": "welcome", "from": "bot", "text": welcome, "buttons": [], "ts": None}

    async def history(self, sender: str, language: str) -> List[dict]:
        try:
            events = await self.relay.rasa.tracker_events(sender)
        except RasaUnavailable:
            events = []
        return [self.welcome(language)] + messages_from_events(events)

    def run_in_order(self, sender: str, job: Callable[[], Awaitable[None]]) -> asyncio.Future:
        """Queues the job behind the session's earlier ones; the future is done when it has run."""
        done = asyncio.get_running_loop().create_future()

        async def run() -> None:
            try:
                await job()
            finally:
                if not done.done():
                    done.set_result(None)

        self.queues.put(sender, run)
        return done

    # --- WebSocket -----------------------------------------------------------------------------------

    async def push(self, sender: str, event: dict) -> None:
        """Sends an event to the session's open sockets, on this gateway or another replica."""
        await self.bus.publish(sender, event)

    async def _push_here(self, sender: str, event: dict) -> None:
        """Sends an event to every socket of the session open on this gateway (there may be none:
        the history brings it when the visitor comes back)."""
        for socket in list(self.sockets.get(sender, ())):
            try:
                await socket.send_json(event)
            except (ConnectionError, RuntimeError):
                self._forget_socket(sender, socket)

    def _forget_socket(self, sender: str, socket: web.WebSocketResponse) -> None:
        sockets = self.sockets.get(sender)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.sockets[sender]

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        address = client_address(request, self.settings.trusted_proxies) or "unknown"
        if self.sockets_of_address.get(address, 0) >= self.settings.web_sockets_per_address:
            return web.Response(status=429, text="too many open chats from this address")
        self.sockets_of_address[address] = self.sockets_of_address.get(address, 0) + 1
        try:
            return await self._serve_socket(request)
        finally:
            self.sockets_of_address[address] -= 1
            if not self.sockets_of_address[address]:
                del self.sockets_of_address[address]

    async def _serve_socket(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(heartbeat=25, max_msg_size=MAX_FRAME)
        await socket.prepare(request)
        sender, language = None, "nb"
        # A socket that never says hello is closed: it would hold a slot of its address for nothing.
        hello_by = asyncio.get_running_loop().call_later(
            self.settings.web_hello_seconds, lambda: sender is None and asyncio.ensure_future(socket.close()))
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    await socket.send_json({"type": "error", "code": "bad_frame", "message": "send JSON text frames"})
                    continue
                try:
                    data = json.loads(frame.data)
                    if not isinstance(data, dict):
                        raise ValueError
                except (ValueError, RecursionError):  # RecursionError: nested a few thousand deep
                    await socket.send_json({"type": "error", "code": "bad_json", "message": "send a JSON object"})
                    continue
                if sender is None:
                    if not await self.costly_allowed(request):  # a hello reads the history
                        await socket.send_json({"type": "error", "code": "rate_limited",
                                                "message": gateway_text("flood", language_of(data.get("language")))})
                        break
                    sender, language = await self._hello(socket, data)
                    if sender is None:
                        break
                    hello_by.cancel()
                    continue
                await self._on_frame(socket, request, sender, language, data)
        except ConnectionError:
            pass  # the visitor left while we were writing; the history brings the rest next time
        finally:
            hello_by.cancel()
            if sender:
                self._forget_socket(sender, socket)
        return socket

    async def _hello(self, socket: web.WebSocketResponse, data: dict):
        language = language_of(data.get("language"))
        try:
            if data.get("type") != "hello":
                raise Refused("hello_first", "the first message must be hello")
            sender = self.sender_of(data.get("session"), language)
        except Refused as refused:
            await socket.send_json({"type": "error", "code": refused.code, "message": refused.text})
            await socket.close()
            return None, language
        self.sockets.setdefault(sender, set()).add(socket)
        await socket.send_json({"type": "history", "messages": await self.history(sender, language)})
        return sender, language

    async def _on_frame(self, socket, request, sender: str, language: str, data: dict) -> None:
        kind = data.get("type")
        emit = lambda event: self.push(sender, event)  # noqa: E731 (a one-line callback)
        if kind == "ping":
            await socket.send_json({"type": "pong"})
        elif kind in ("restart", "delete", "history") and not await self.costly_allowed(request):
            await socket.send_json({"type": "error", "code": "rate_limited", "message": gateway_text("flood", language)})
        elif kind == "restart":
            self.run_in_order(sender, lambda: self.restart(sender, language, emit))
        elif kind == "delete":
            self.run_in_order(sender, lambda: self._delete(sender, language, emit))
        elif kind == "history":
            await socket.send_json({"type": "history", "messages": await self.history(sender, language)})
        elif kind in ("message", "button"):
            await self._on_user_message(socket, request, sender, language, data, emit)
        else:
            await socket.send_json({"type": "error", "code": "unknown_type", "message": "unknown message type"})

    async def _on_user_message(self, socket, request, sender, language, data, emit) -> None:
        client_id = data.get("id")
        await socket.send_json({"type": "ack", "id": client_id})
        if not self.first_time(sender, client_id):
            return
        try:
            if data["type"] == "button":
                payload = data.get("payload")
                if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD or not is_button_payload(payload):
                    raise Refused("bad_payload", "a button payload is one of the bot's own")
                to_rasa = payload
            else:
                to_rasa = as_typed_text(self.checked_text(data.get("text"), language))
        except Refused as refused:
            await socket.send_json(self.notice(refused.text))
            return
        address = client_address(request, self.settings.trusted_proxies)
        flood = await self.check_flood(sender, address, language)
        if flood is not None:
            if flood:
                await socket.send_json(self.notice(flood))
            return
        self.run_in_order(sender, lambda: self.turn(sender, to_rasa, language, emit, self.client_key(address)))

    async def _delete(self, sender: str, language: str, emit: Emit) -> None:
        try:
            replies = await self.relay.rasa.send(sender, "/forget_me")
        except RasaUnavailable:
            replies = []
        if not asks_to_forget(replies):
            log.warning("Rasa did not confirm forget_me; deleting anyway")
        await self.forget(sender, language, emit)

    # --- plain HTTP ------------------------------------------------------------------------------------

    async def _read_body(self, request: web.Request) -> Tuple[dict, str, str]:
        """(body, language, sender) of a JSON request about a session; Refused when it is not one."""
        try:
            body = json.loads(await request.text())
        except (ValueError, UnicodeDecodeError, LookupError, RecursionError):  # LookupError: unknown charset
            raise Refused("bad_json", "send a JSON object")
        if not isinstance(body, dict):
            raise Refused("bad_json", "send a JSON object")
        language = language_of(body.get("language"))
        return body, language, self.sender_of(body.get("session"), language)

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            body, language, sender = await self._read_body(request)
            to_rasa = as_typed_text(self.checked_text(body.get("text"), language))
        except Refused as refused:
            return self.refusal(request, refused)
        address = client_address(request, self.settings.trusted_proxies)
        flood = await self.check_flood(sender, address, language)
        if flood is not None:
            return self.json_response(request, {"error": "rate_limited", "message": flood}, 429)
        seen: List[dict] = []

        async def collect(event: dict) -> None:
            if event["type"] == "message":
                seen.append({key: event["message"][key] for key in ("text", "buttons")})
            elif event["type"] == "deleted":
                seen.append({"text": event["text"], "buttons": [], "deleted": True})
            await self.push(sender, event)  # an open widget of the same session sees it too

        await self.run_in_order(sender, lambda: self.turn(sender, to_rasa, language, collect, self.client_key(address)))
        return self.json_response(request, {"messages": seen})

    async def post_history(self, request: web.Request) -> web.Response:
        """The conversation so far; the session id in the body, never in a URL (URLs end up in logs)."""
        try:
            _, language, sender = await self._read_body(request)
            if not await self.costly_allowed(request):
                raise self.too_busy(language)
        except Refused as refused:
            return self.refusal(request, refused)
        return self.json_response(request, {"messages": await self.history(sender, language)})

    async def delete_session(self, request: web.Request) -> web.Response:
        """Also the target of the widget's beacon on a quick exit (a text/plain body, no preflight)."""
        try:
            _, language, sender = await self._read_body(request)
            if not await self.costly_allowed(request):
                raise self.too_busy(language)
        except Refused as refused:
            return self.refusal(request, refused)
        said: List[str] = []

        async def collect(event: dict) -> None:
            if event["type"] == "deleted":
                said.append(event["text"])
            await self.push(sender, event)

        await self.run_in_order(sender, lambda: self._delete(sender, language, collect))
        return self.json_response(request, {"deleted": True, "message": said[0] if said else ""})

    async def widget_texts(self, request: web.Request) -> web.Response:
        language = language_of(request.query.get("language"))
        labels = load(TEXTS)["ui"][language]
        return self.json_response(request, {"labels": labels, "max_chars": self.settings.web_max_chars})
