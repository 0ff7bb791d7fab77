"""The counsellors' live chat console: a WebSocket behind the counsellors' login.

GET /radgiver/ws           the console's socket (the page's script: bot/web/console.js)
GET /radgiver/console.js

The socket sends the counsellor a fresh view whenever something changes for them (the queue, a
chat of theirs), on whichever replica the change happened: the console bus is Redis pub/sub
when replicas share Redis. A view is read from the database, so a console that reconnects to
another replica misses nothing. The queue shows no text, only what the bot saw (topics, crisis).
The counsellor's socket keeps them "available" while it is open (core/counsellor_accounts.py).
"""

import asyncio
import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Set

from aiohttp import WSMsgType, web

from bot.channels.web_history import messages_from_events
from bot.counsellor_page import CounsellorPage
from bot.handoff import EVERYONE, TEXTS, Handoffs
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.shared_state import CONSOLE_CHANNEL, PushBus
from core.content import load, text_in
from core.handoff_store import Handoff

log = logging.getLogger(__name__)
SCRIPT = Path(__file__).resolve().parent / "web" / "console.js"
MAX_REPLY = 2000  # within Telegram's 4096 characters, and enough for a chat message
HEARTBEAT_SECONDS = 20


class Console:
    def __init__(self, page: CounsellorPage, handoffs: Handoffs, rasa: RasaClient, redis=None) -> None:
        self.page, self.handoffs, self.rasa = page, handoffs, rasa
        self.sockets: Dict[str, Set[web.WebSocketResponse]] = {}  # account → its open consoles here
        self._steps: Set[asyncio.Task] = set()
        self.bus = PushBus(redis, self._here, channel=CONSOLE_CHANNEL)
        handoffs.publish = self.bus.publish
        page.on_logout.append(self._logged_out)
        self.bot_parts: Dict[int, List[dict]] = {}  # handoff → the bot part, read once from the tracker

    def attach(self, app: web.Application) -> None:
        app.router.add_get("/radgiver/ws", self.websocket)
        app.router.add_get("/radgiver/console.js", self.script)

        async def running(_app):
            await self.bus.start()
            clock = asyncio.create_task(self.handoffs.run_clock())
            yield
            clock.cancel()
            await self.bus.stop()

        app.cleanup_ctx.append(running)

    async def script(self, request: web.Request) -> web.Response:
        return web.Response(
            body=SCRIPT.read_bytes(),
            content_type="application/javascript",
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    # --- the socket -------------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if not self.page.same_origin(request):
            raise web.HTTPForbidden(text="foreign origin")
        login = self.page.logged_in(request)
        if login is None:
            raise web.HTTPUnauthorized(text="log in first")
        name = login["user"]
        socket = web.WebSocketResponse(heartbeat=25, max_msg_size=16 * 1024)
        await socket.prepare(request)
        self.sockets.setdefault(name, set()).add(socket)
        await self.handoffs.in_thread(self.handoffs.accounts.seen, name)
        try:
            await self._send_view(name, socket)
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(frame.data)
                    if not isinstance(data, dict):
                        raise ValueError
                except (ValueError, RecursionError):
                    continue
                if self.page.logged_in(request) is None:  # logged out (or disabled) meanwhile
                    await socket.close()
                    break
                await self._on_frame(name, socket, data)
        finally:
            sockets = self.sockets.get(name, set())
            sockets.discard(socket)
            if not sockets:
                self.sockets.pop(name, None)
                # aiohttp cancels the handler when the page goes away; the counsellor must still be
                # marked away, so this step runs on as its own task
                await asyncio.shield(self._keep(self._went_away(name)))
        return socket

    async def _went_away(self, name: str) -> None:
        """The last console of this counsellor closed: not available any more."""
        await self.handoffs.in_thread(self.handoffs.accounts.set_available, name, False)
        self.page.audit.record(name, "unavailable")
        await self.handoffs.changed()

    def _keep(self, step) -> asyncio.Task:
        task = asyncio.ensure_future(step)
        self._steps.add(task)  # a running task needs a strong reference
        task.add_done_callback(self._steps.discard)
        return task

    async def _on_frame(self, name: str, socket: web.WebSocketResponse, data: dict) -> None:
        kind, handoffs = data.get("type"), self.handoffs
        handoff_id = data.get("handoff")
        if kind == "ping":
            await handoffs.in_thread(handoffs.accounts.seen, name)
            await socket.send_json({"type": "pong"})
        elif kind == "available":
            on = bool(data.get("on"))
            await handoffs.in_thread(handoffs.accounts.set_available, name, on)
            self.page.audit.record(name, "available" if on else "unavailable")
            await handoffs.changed()
        elif kind == "claim" and isinstance(handoff_id, int):
            if not await handoffs.claim(handoff_id, name):
                await socket.send_json({"type": "claim_failed", "handoff": handoff_id})
        elif kind == "send" and isinstance(handoff_id, int) and isinstance(data.get("text"), str):
            sent = await handoffs.counsellor_says(handoff_id, name, data["text"][:MAX_REPLY])
            if sent is None:
                await socket.send_json({"type": "send_failed", "handoff": handoff_id})
        elif kind == "end" and isinstance(handoff_id, int):
            await handoffs.end(handoff_id, "counsellor", counsellor=name)

    async def _logged_out(self, name: str) -> None:
        await self.handoffs.in_thread(self.handoffs.accounts.set_available, name, False)
        for socket in list(self.sockets.get(name, ())):
            await socket.close()
        await self.handoffs.changed()

    # --- views --------------------------------------------------------------------------------------

    async def _here(self, key: str, _event: dict) -> None:
        """An event on the console bus: fresh views for the consoles open here that it concerns."""
        names = list(self.sockets) if key == EVERYONE else [key]
        for name in names:
            for socket in list(self.sockets.get(name, ())):
                try:
                    await self._send_view(name, socket)
                except (ConnectionError, RuntimeError):
                    self.sockets.get(name, set()).discard(socket)

    async def _send_view(self, name: str, socket: web.WebSocketResponse) -> None:
        await socket.send_json(await self.view(name))

    async def view(self, name: str) -> dict:
        handoffs = self.handoffs
        account = await handoffs.in_thread(handoffs.accounts.get, name)
        waiting = await handoffs.in_thread(handoffs.store.waiting)
        mine = await handoffs.in_thread(handoffs.store.held_by, name)
        now = datetime.now(timezone.utc)
        view = {
            "type": "view",
            "name": name,
            "available": bool(account and account.available),
            "limit": account.max_chats if account else 0,
            "queue": [self._queue_item(handoff, now) for handoff in waiting],
            "chats": [await self._chat(handoff) for handoff in mine],
            "quick_replies": [str(reply) for reply in load(TEXTS).get("quick_replies") or []],
            "display_name": account.display_name if account else "",
        }
        if account is not None and account.role == "supervisor":
            available = await handoffs.in_thread(handoffs.accounts.available_now)
            view["health"] = {
                "waiting": len(waiting),
                "longest_wait_minutes": max((self._minutes(h.created_at, now) for h in waiting), default=0),
                "available": len(available),
                "live": await handoffs.in_thread(handoffs.store.live_count),
                # "Var samtalen til hjelp?": counts only, never linked to a chat
                "helpful": await handoffs.in_thread(handoffs.store.feedback_counts),
            }
        return view

    @staticmethod
    def _minutes(since: datetime, now: datetime) -> int:
        return int((now - since).total_seconds() // 60)

    def _queue_item(self, handoff: Handoff, now: datetime) -> dict:
        return {
            "id": handoff.id,
            "crisis": handoff.crisis,
            "waited_minutes": self._minutes(handoff.created_at, now),
            "since": handoff.created_at.timestamp(),
            "channel": handoff.channel,
            "language": handoff.language,
            "topics": [_title(topic) for topic in handoff.topics],
        }

    async def _chat(self, handoff: Handoff) -> dict:
        if handoff.id not in self.bot_parts:
            self.bot_parts[handoff.id] = await self._bot_part(handoff)
            while len(self.bot_parts) > 500:  # ended chats' parts are not needed again
                self.bot_parts.pop(next(iter(self.bot_parts)))
        live = await self.handoffs.in_thread(self.handoffs.store.transcript, handoff.id)
        return {
            **self._queue_item(handoff, datetime.now(timezone.utc)),
            "bot_part": self.bot_parts[handoff.id],
            "live": [{"id": m.id, "author": m.author, "text": m.text, "ts": m.at.timestamp()} for m in live],
        }

    async def _bot_part(self, handoff: Handoff) -> List[dict]:
        """What the visitor and the bot said before the handoff (from Rasa's tracker)."""
        started = time.monotonic()
        try:
            events = await self.rasa.tracker_events(handoff.sender_id)
        except RasaUnavailable:
            return [{"from": "bot", "text": "(Samtalen med chatboten kunne ikke hentes.)"}]
        log.info("Bot history for handoff %s read in %.0f ms", handoff.id, (time.monotonic() - started) * 1000)
        return [{"from": m["from"], "text": m["text"]} for m in messages_from_events(events)]


def _title(topic: str) -> str:
    entry = load("topic_titles.yml").get(topic)
    return text_in(entry, "nb") if isinstance(entry, dict) else topic
