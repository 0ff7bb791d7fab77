"""What the widget's socket, its HTTP API and its pages share: a session's checks and limits,
its history, and a turn's output as the widget's events (the turn itself is bot/conversations.py's).

The browser keeps a random session id (sessionStorage); Rasa sees only its keyed hash.
"""

import re
import time
import uuid
from collections import OrderedDict, deque
from typing import Awaitable, Callable, Deque, Dict, List, Optional, Set

from aiohttp import web

from bot.channels.web_history import messages_from_events
from bot.client_address import client_address
from bot.conversations import Conversations
from bot.flood_guard import Verdict
from bot.pseudonyms import Pseudonyms
from bot.rasa_client import RasaUnavailable
from bot.replies import BotMessage
from bot.settings import Settings
from bot.shared_state import PushBus, SharedFloodGuard
from bot.texts import gateway_text, privacy_url, text
from core.handoff_store import ChatMessage

TEXTS = "web.yml"
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")  # whole string: fullmatch, so no trailing newline
RECENT_IDS = 100  # client message ids remembered per session, to drop resends
RECENT_SESSIONS = 10000  # sessions whose ids are remembered (a resend comes within seconds)
ADDRESS_WINDOW_SECONDS = 60
Emit = Callable[[dict], Awaitable[None]]


class Refused(Exception):
    """A message the gateway will not pass on; `text` is the kind explanation for the user."""

    def __init__(self, code: str, text: str, status: int = 400) -> None:
        super().__init__(code)
        self.code, self.text, self.status = code, text, status


def live_message(message: ChatMessage, name: str = "") -> dict:
    """A message of the human part of the conversation as the widget shows it."""
    author = {"visitor": "user", "counsellor": "counsellor"}.get(message.author, "bot")
    shown = {"id": f"h{message.id}", "from": author, "text": message.text, "buttons": [], "ts": message.at.timestamp()}
    if name:
        shown["name"] = name
    return shown


def notice_event(said: str) -> dict:
    return {
        "type": "message",
        "message": {
            "id": uuid.uuid4().hex,
            "from": "bot",
            "text": said,
            "buttons": [],
            "ts": time.time(),
            "notice": True,
        },
    }


class EventOutbox:
    """A turn's output as the widget's events, handed to `emit` (the session's sockets, an HTTP reply)."""

    channel_name = "web"
    reply_to = ""  # the session's push bus reaches it (WebChat.outbox)

    def __init__(self, emit: Emit) -> None:
        self.emit = emit

    async def counsellor(self, message: ChatMessage, name: str) -> None:
        await self.emit({"type": "message", "message": live_message(message, name)})

    async def typing(self, on: bool) -> None:
        await self.emit({"type": "typing", "on": on})

    async def notice(self, said: str) -> None:
        await self.emit(notice_event(said))

    async def messages(self, messages: List[BotMessage]) -> None:
        for message in messages:
            await self.emit(
                {
                    "type": "message",
                    "message": {
                        "id": uuid.uuid4().hex,
                        "from": "bot",
                        "text": message.text,
                        "buttons": message.buttons,
                        "ts": time.time(),
                    },
                }
            )

    async def deleted(self, confirmation: str) -> None:
        await self.emit({"type": "deleted", "text": confirmation})


class WebChat:
    """The checks, limits and views every web entry point uses for a session."""

    def __init__(self, settings: Settings, conversations: Conversations, pseudonyms: Pseudonyms, redis=None) -> None:
        self.settings, self.conversations, self.pseudonyms = settings, conversations, pseudonyms
        own = {settings.gateway_url, f"http://localhost:{settings.gateway_port}"}
        self.allowed_origins = set(settings.web_allowed_origins) or own
        self.address_flood = SharedFloodGuard(
            "web-address", settings.web_address_messages, ADDRESS_WINDOW_SECONDS, redis
        )
        # history, deletes, restarts and hellos: each reads a tracker or calls Rasa
        self.request_flood = SharedFloodGuard(
            "web-requests", settings.web_address_requests, ADDRESS_WINDOW_SECONDS, redis
        )
        self.bus = PushBus(redis, self._push_here)
        self.sockets: Dict[str, Set[web.WebSocketResponse]] = {}
        self.recent_ids: "OrderedDict[str, Deque[str]]" = OrderedDict()  # most recent sessions only
        conversations.also_forget(self._forget_ids)
        if conversations.handoffs is not None:
            conversations.handoffs.reach_with("web", lambda handoff: self.outbox(handoff.sender_id))

    def _forget_ids(self, sender: str) -> None:
        self.recent_ids.pop(sender, None)

    def address_of(self, request: web.Request) -> str:
        return client_address(request, self.settings.trusted_proxies) or "unknown"

    def client_key(self, address: str) -> str:
        """The network address as a pseudonym: the action server limits bookings and tries per client."""
        return self.pseudonyms.sender_id("address", address)

    # --- checks -------------------------------------------------------------------------------------

    def sender_of(self, session: object) -> str:
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
        return await self.request_flood.check(self.address_of(request)) == Verdict.ACCEPT

    @staticmethod
    def too_busy(language: str) -> Refused:
        return Refused("rate_limited", gateway_text("flood", language), status=429)

    async def check_flood(self, sender: str, address: str, language: str) -> Optional[str]:
        """None to go on; else the flood text for a first refusal, or "" for a silent drop."""
        verdicts = [await self.conversations.flood_verdict(sender), await self.address_flood.check(address)]
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

    # --- what the widget shows ------------------------------------------------------------------------

    def welcome(self, language: str) -> dict:
        welcome = text(TEXTS, "welcome", language, privacy_url=privacy_url(self.settings.public_base, language))
        return {"id": "welcome", "from": "bot", "text": welcome, "buttons": [], "ts": None}

    async def history(self, sender: str, language: str) -> List[dict]:
        """The conversation so far: the bot part from Rasa's tracker, the human part from the
        handoff store, in the order they were said."""
        try:
            events = await self.conversations.relay.rasa.tracker_events(sender)
        except RasaUnavailable:
            events = []
        said = messages_from_events(events)
        handoffs = self.conversations.handoffs
        if handoffs is not None:
            live = await handoffs.transcript(sender)
            said = sorted(said + [live_message(m) for m in live], key=lambda m: m.get("ts") or 0)
        return [self.welcome(language)] + said

    async def restart(self, sender: str, language: str, out: EventOutbox) -> None:
        if await self.conversations.restart(sender, language, out):
            await out.emit({"type": "history", "messages": [self.welcome(language)]})

    # --- pushing to the session's sockets ------------------------------------------------------------

    def outbox(self, sender: str) -> EventOutbox:
        """Events to every socket of the session, on this gateway or another replica."""
        return EventOutbox(lambda event: self.bus.publish(sender, event))

    async def _push_here(self, sender: str, event: dict) -> None:
        """Sends an event to every socket of the session open on this gateway (there may be none:
        the history brings it when the visitor comes back)."""
        for socket in list(self.sockets.get(sender, ())):
            try:
                await socket.send_json(event)
            except (ConnectionError, RuntimeError):
                self.forget_socket(sender, socket)

    def forget_socket(self, sender: str, socket: web.WebSocketResponse) -> None:
        sockets = self.sockets.get(sender)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.sockets[sender]
