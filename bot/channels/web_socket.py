"""The widget's WebSocket (/ws): a hello with the session id, then the visitor's messages and
taps one way and the bot's events the other, pushed to every socket of the session."""

import asyncio
import json
from typing import Dict, Optional, Tuple

from aiohttp import WSMsgType, web

from bot.channels.web_chat import Refused, WebChat, notice_event
from bot.payloads import as_typed_text, is_button_payload
from bot.texts import gateway_text, language_from_code

MAX_FRAME = 64 * 1024  # one WebSocket frame; longer texts are refused by the size check
MAX_PAYLOAD = 512  # a button's payload


class WebSocketChat:
    def __init__(self, chat: WebChat) -> None:
        self.chat, self.settings = chat, chat.settings
        self.sockets_of_address: Dict[str, int] = {}

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        address = self.chat.address_of(request)
        if self.sockets_of_address.get(address, 0) >= self.settings.web_sockets_per_address:
            return web.Response(status=429, text="too many open chats from this address")
        self.sockets_of_address[address] = self.sockets_of_address.get(address, 0) + 1
        try:
            return await self._serve(request)
        finally:
            self.sockets_of_address[address] -= 1
            if not self.sockets_of_address[address]:
                del self.sockets_of_address[address]

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(heartbeat=25, max_msg_size=MAX_FRAME)
        await socket.prepare(request)
        sender: Optional[str] = None
        language = "nb"
        # A socket that never says hello is closed: it would hold a slot of its address for nothing.
        hello_by = asyncio.get_running_loop().call_later(
            self.settings.web_hello_seconds, lambda: sender is None and asyncio.ensure_future(socket.close())
        )
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
                    if not await self.chat.costly_allowed(request):  # a hello reads the history
                        await socket.send_json(
                            {
                                "type": "error",
                                "code": "rate_limited",
                                "message": gateway_text("flood", language_from_code(data.get("language"))),
                            }
                        )
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
                self.chat.forget_socket(sender, socket)
        return socket

    async def _hello(self, socket: web.WebSocketResponse, data: dict) -> Tuple[Optional[str], str]:
        language = language_from_code(data.get("language"))
        try:
            if data.get("type") != "hello":
                raise Refused("hello_first", "the first message must be hello")
            sender = self.chat.sender_of(data.get("session"))
        except Refused as refused:
            await socket.send_json({"type": "error", "code": refused.code, "message": refused.text})
            await socket.close()
            return None, language
        self.chat.sockets.setdefault(sender, set()).add(socket)
        await socket.send_json({"type": "history", "messages": await self.chat.history(sender, language)})
        return sender, language

    async def _on_frame(self, socket, request, sender: str, language: str, data: dict) -> None:
        kind, conversations = data.get("type"), self.chat.conversations
        out = self.chat.outbox(sender)
        if kind == "ping":
            await socket.send_json({"type": "pong"})
        elif kind in ("restart", "delete", "history") and not await self.chat.costly_allowed(request):
            await socket.send_json(
                {"type": "error", "code": "rate_limited", "message": gateway_text("flood", language)}
            )
        elif kind == "restart":
            conversations.run_in_order(sender, lambda: self.chat.restart(sender, language, out))
        elif kind == "delete":
            conversations.run_in_order(sender, lambda: conversations.delete(sender, language, out))
        elif kind == "history":
            await socket.send_json({"type": "history", "messages": await self.chat.history(sender, language)})
        elif kind in ("message", "button"):
            await self._on_user_message(socket, request, sender, language, data)
        else:
            await socket.send_json({"type": "error", "code": "unknown_type", "message": "unknown message type"})

    async def _on_user_message(self, socket, request, sender: str, language: str, data: dict) -> None:
        client_id = data.get("id")
        await socket.send_json({"type": "ack", "id": client_id})
        if not self.chat.first_time(sender, client_id):
            return
        try:
            if data["type"] == "button":
                payload = data.get("payload")
                if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD or not is_button_payload(payload):
                    raise Refused("bad_payload", "a button payload is one of the bot's own")
                to_rasa = payload
            else:
                to_rasa = as_typed_text(self.chat.checked_text(data.get("text"), language))
        except Refused as refused:
            await socket.send_json(notice_event(refused.text))
            return
        address = self.chat.address_of(request)
        flood = await self.chat.check_flood(sender, address, language)
        if flood is not None:
            if flood:
                await socket.send_json(notice_event(flood))
            return
        client, out = self.chat.client_key(address), self.chat.outbox(sender)
        self.chat.conversations.run_in_order(
            sender, lambda: self.chat.conversations.turn(sender, to_rasa, language, out, client)
        )


def add_routes(app: web.Application, chat: WebChat) -> None:
    app.router.add_get("/ws", WebSocketChat(chat).websocket)
