"""Rasa's replies as Telegram messages: HTML text, inline keyboards, 4096-character pieces."""

import hashlib
import html
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import List, Optional

from bot.replies import BotMessage, pack

MAX_TEXT = 4096  # Telegram's limit for one message
MAX_CALLBACK_BYTES = 64  # Telegram's limit for a button's callback data
KEY_PREFIX = "k:"  # callback data that stands for a longer payload
GATEWAY_PREFIX = "gw:"  # callback data the gateway handles itself (never sent to Rasa)

BOLD = re.compile(r"\*\*(.+?)\*\*")
LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")


def to_html(text: str) -> str:
    """Plain answer text with **bold** and [links](https://…) as Telegram HTML; all else escaped."""
    escaped = html.escape(text, quote=False)
    escaped = BOLD.sub(r"<b>\1</b>", escaped)
    # The text is escaped already (& < >); inside the href only the quote is left to escape.
    return LINK.sub(lambda m: f'<a href="{m.group(2).replace(chr(34), "&quot;")}">{m.group(1)}</a>', escaped)


def split_paragraphs(text: str, limit: int = MAX_TEXT) -> List[str]:
    """Pieces of at most `limit` characters, cut at blank lines, else at line ends, else at spaces.

    Plain text is cut before it becomes HTML, so a cut never falls inside a tag; Telegram counts
    the limit on the visible text, which HTML markup and escaping do not lengthen.
    """
    pieces: List[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        for part in _cut(paragraph, limit):
            candidate = f"{current}\n\n{part}" if current else part
            if len(candidate) <= limit:
                current = candidate
            else:
                pieces.append(current)
                current = part
    if current:
        pieces.append(current)
    return pieces


def _cut(text: str, limit: int) -> List[str]:
    if len(text) <= limit:
        return [text]
    for separator in ("\n", " "):
        cut = text.rfind(separator, 0, limit + 1)
        if cut > 0:
            return [text[:cut]] + _cut(text[cut + 1 :], limit)
    return [text[:limit]] + _cut(text[limit:], limit)


class CallbackKeys:
    """Short stand-ins for payloads longer than Telegram's 64 bytes (the most recent ones kept)."""

    def __init__(self, capacity: int = 10000) -> None:
        self.capacity = capacity
        self._payloads: "OrderedDict[str, str]" = OrderedDict()

    def data_for(self, payload: str) -> str:
        if len(payload.encode()) <= MAX_CALLBACK_BYTES and not payload.startswith(KEY_PREFIX):
            return payload
        key = KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:24]
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self.capacity:
            self._payloads.popitem(last=False)
        return key

    def payload_for(self, data: str) -> Optional[str]:
        """The payload behind callback data, or None for a key that was forgotten (e.g. a restart)."""
        if not data.startswith(KEY_PREFIX):
            return data
        return self._payloads.get(data)


@dataclass
class OutgoingMessage:
    html: str
    buttons: List[dict] = field(default_factory=list)  # [{"title", "payload"}] for the last piece


def messages_from_replies(replies: List[dict]) -> List[OutgoingMessage]:
    """Rasa's REST replies as Telegram messages of at most 4096 characters, buttons on the last."""
    return telegram_messages(pack(replies))


def telegram_messages(packed: List[BotMessage]) -> List[OutgoingMessage]:
    messages: List[OutgoingMessage] = []
    for message in packed:
        # buttons with no text still need a message to hang on
        pieces = [to_html(piece) for piece in split_paragraphs(message.text)] if message.text else ["…"]
        messages.extend(OutgoingMessage(piece) for piece in pieces)
        messages[-1].buttons = message.buttons
    return messages
