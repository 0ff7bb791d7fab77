"""A local stand-in for Telegram's Bot API, speaking its real HTTP protocol, for the tests.

It runs an aiohttp server on 127.0.0.1 in a thread of the test process. The gateway under test
points python-telegram-bot's `base_url` at it. It keeps what the bot sent, hands out updates
the test puts in (long polling, or the test posts them to the webhook itself) and enforces
Telegram's rules: 4096 visible characters, 1–64 bytes of callback data, well-formed HTML with
Telegram's tags only, known chats only; and it can answer 429 with retry_after.
"""

import asyncio
import html
import json
import re
import threading
import time
from typing import Callable, Dict, List, Optional

from aiohttp import web

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "blockquote",
}
TAG = re.compile(r'<(/?)([a-z-]+)((?:\s+[a-z-]+="[^"<>]*")*)\s*>')
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
BOT_USER = {
    "id": 424242,
    "is_bot": True,
    "first_name": "Rådgivningsbot",
    "username": "radgivning_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class BadRequest(Exception):
    """Telegram refused the request (HTTP 400)."""


def visible_text(markup: str) -> str:
    """The text Telegram would show for parse_mode HTML; BadRequest where Telegram would refuse it."""
    out, stack, i = [], [], 0
    while i < len(markup):
        char = markup[i]
        if char == "<":
            tag = TAG.match(markup, i)
            if not tag:
                raise BadRequest(f"can't parse entities: Unsupported start tag at byte offset {i}")
            closing, name, attributes = tag.groups()
            if name not in ALLOWED_TAGS:
                raise BadRequest(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {i}')
            if closing:
                if not stack or stack[-1] != name:
                    raise BadRequest(f"can't parse entities: Can't find end tag corresponding to start tag \"{name}\"")
                stack.pop()
            else:
                if name == "a" and 'href="' not in attributes:
                    raise BadRequest("can't parse entities: a tag without href")
                stack.append(name)
            i = tag.end()
        elif char == "&":
            entity = ENTITY.match(markup, i)
            if not entity:
                raise BadRequest(f"can't parse entities: Character '&' is reserved at byte offset {i}")
            out.append(html.unescape(entity.group()))
            i = entity.end()
        elif char == ">":
            raise BadRequest(f"can't parse entities: Character '>' is reserved at byte offset {i}")
        else:
            out.append(char)
            i += 1
    if stack:
        raise BadRequest(f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)


def check_keyboard(markup: Optional[dict]) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise BadRequest("BUTTON_TEXT_INVALID")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise BadRequest("BUTTON_DATA_INVALID")


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-token_for-the-fake") -> None:
        self.token = token
        self.lock = threading.Lock()
        self.calls: List[dict] = []  # every request: {"method", "params", "at"}
        self.sent: List[dict] = []  # messages the bot sent, as Message objects
        self.updates: List[dict] = []  # not yet confirmed by getUpdates' offset
        self.chats: Dict[int, dict] = {}  # chats that have written to the bot
        self.webhook: Optional[dict] = None
        self.commands: List[dict] = []
        self.failures: Dict[str, List[int]] = {}  # method -> retry_after values to answer with
        self._update_id, self._message_id = 1, 1000
        self._loop = asyncio.new_event_loop()
        self._runner: Optional[web.AppRunner] = None
        self.port = 0

    # --- running -------------------------------------------------------------------------------

    def start(self) -> "FakeTelegram":
        started = threading.Event()
        threading.Thread(target=self._serve, args=(started,), daemon=True).start()
        started.wait(10)
        return self

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        started.set()
        self._loop.run_forever()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # --- what tests do ---------------------------------------------------------------------------

    def user(self, chat_id: int) -> dict:
        return {
            "id": chat_id,
            "is_bot": False,
            "first_name": "Kari",
            "last_name": "Nordmann",
            "username": f"kari_{chat_id}",
            "language_code": "nb",
        }

    def add_update(self, kind: str, body: dict) -> dict:
        with self.lock:
            update = {"update_id": self._update_id, kind: body}
            self._update_id += 1
            chat = body.get("chat") or body.get("message", {}).get("chat")
            if chat:
                self.chats[chat["id"]] = chat
            self.updates.append(update)
            return update

    def message(
        self, chat_id: int, text: Optional[str] = None, chat_type: str = "private", kind: str = "message", **content
    ) -> dict:
        """A message from a user; `content` gives non-text parts such as sticker={…}."""
        chat = {"id": chat_id, "type": chat_type}
        chat.update({"first_name": "Kari"} if chat_type == "private" else {"title": "Vennegjengen"})
        body = {
            "message_id": self._next_message_id(),
            "date": int(time.time()),
            "chat": chat,
            **({"from": self.user(abs(chat_id))} if chat_type != "channel" else {}),
            **content,
        }
        if text is not None:
            body["text"] = text
            command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
            if command:  # as Telegram does: a command at the start is marked as one
                body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command.group())}]
        if kind == "edited_message":
            body["edit_date"] = int(time.time())
        return self.add_update(kind, body)

    def tap(self, chat_id: int, bot_message: dict, data: str) -> dict:
        """The user taps the button with callback data `data` on a message the bot sent."""
        body = {
            "id": str(self._next_message_id()),
            "from": self.user(chat_id),
            "chat_instance": "ci",
            "data": data,
            "message": bot_message,
        }
        return self.add_update("callback_query", body)

    def fail_next(self, method: str, retry_after: int) -> None:
        with self.lock:
            self.failures.setdefault(method, []).append(retry_after)

    def sent_to(self, chat_id: int) -> List[dict]:
        with self.lock:
            return [m for m in self.sent if m["chat"]["id"] == chat_id]

    def calls_of(self, method: str) -> List[dict]:
        with self.lock:
            return [c for c in self.calls if c["method"] == method]

    def wait_for(self, condition: Callable[[], object], timeout: float = 60, what: str = "") -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what or condition}")

    def wait_for_messages(self, chat_id: int, count: int, timeout: float = 60) -> List[dict]:
        """Waits until the bot has sent `count` messages to the chat, then a little more, and
        returns them (so tests also see messages that should not have come)."""
        self.wait_for(lambda: len(self.sent_to(chat_id)) >= count, timeout, f"{count} messages to {chat_id}")
        time.sleep(0.5)
        return self.sent_to(chat_id)

    # --- the Bot API -------------------------------------------------------------------------------

    def _next_message_id(self) -> int:
        self._message_id += 1
        return self._message_id

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        with self.lock:
            self.calls.append({"method": method, "params": params, "at": time.monotonic()})
            failures = self.failures.get(method)
            retry_after = failures.pop(0) if failures else None
        if retry_after is not None:
            return self._error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._error(404, "Not Found")
        try:
            result = handler(params) if method != "getUpdates" else await handler(params)
        except BadRequest as error:
            return self._error(400, f"Bad Request: {error}")
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _params(request: web.Request) -> dict:
        if request.content_type == "application/json":
            return await request.json()
        params = {}
        for key, value in (await request.post()).items():
            try:  # python-telegram-bot sends non-string values JSON-encoded in form fields
                params[key] = json.loads(value)
            except (TypeError, ValueError):
                params[key] = value
        return params

    @staticmethod
    def _error(status: int, description: str, retry_after: Optional[int] = None) -> web.Response:
        body = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    def _api_getMe(self, params: dict) -> dict:
        return BOT_USER

    async def _api_getUpdates(self, params: dict) -> list:
        if self.webhook:
            raise BadRequest("Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            with self.lock:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = list(self.updates[: int(params.get("limit") or 100)])
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.05)

    def _api_setWebhook(self, params: dict) -> bool:
        secret = params.get("secret_token")
        if secret is not None and not WEBHOOK_SECRET.match(str(secret)):
            raise BadRequest("secret token contains unallowed characters")
        self.webhook = params
        return True

    def _api_deleteWebhook(self, params: dict) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            with self.lock:
                self.updates.clear()
        return True

    def _api_setMyCommands(self, params: dict) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            if (
                not COMMAND_NAME.match(command.get("command", ""))
                or not 1 <= len(command.get("description", "")) <= 256
            ):
                raise BadRequest("BOT_COMMAND_INVALID")
        self.commands = commands
        return True

    def _known_chat(self, chat_id) -> dict:
        chat = self.chats.get(int(chat_id))
        if chat is None:
            raise BadRequest("chat not found")
        return chat

    def _api_sendMessage(self, params: dict) -> dict:
        chat = self._known_chat(params.get("chat_id"))
        text = str(params.get("text", ""))
        shown = visible_text(text) if params.get("parse_mode") == "HTML" else text
        if not shown.strip():
            raise BadRequest("message text is empty")
        if len(shown) > 4096:
            raise BadRequest("message is too long")
        markup = params.get("reply_markup")
        check_keyboard(markup)
        message = {
            "message_id": self._next_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": shown,
        }
        if markup:
            message["reply_markup"] = markup
        with self.lock:
            self.sent.append({**message, "html": text})
        return message

    def _api_sendChatAction(self, params: dict) -> bool:
        self._known_chat(params.get("chat_id"))
        return True

    def _api_answerCallbackQuery(self, params: dict) -> bool:
        if not params.get("callback_query_id"):
            raise BadRequest("query is too old and response timeout expired or query ID is invalid")
        return True

    def _api_editMessageReplyMarkup(self, params: dict) -> dict:
        check_keyboard(params.get("reply_markup"))
        with self.lock:
            for message in self.sent:
                if message["message_id"] == int(params.get("message_id", 0)) and message["chat"]["id"] == int(
                    params.get("chat_id", 0)
                ):
                    message["reply_markup"] = params.get("reply_markup")
                    return {k: v for k, v in message.items() if k != "html"}
        raise BadRequest("message to edit not found")
