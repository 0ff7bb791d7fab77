"""Rasa's REST replies as the messages a person should see, for every channel.

Rasa's REST channel sends each paragraph of an answer as a reply of its own; a channel shows
consecutive texts as one message, and a reply with buttons closes a message. A message stays
within MAX_MESSAGE_CHARS (one phone screen): a text that would make it longer starts the next
one, so an answer and its follow-up may arrive as two. Images and custom payloads are not shown.
"""

from dataclasses import dataclass, field
from typing import List

MAX_MESSAGE_CHARS = 600


@dataclass
class BotMessage:
    text: str
    buttons: List[dict] = field(default_factory=list)  # [{"title", "payload"}]


def pack(replies: List[dict]) -> List[BotMessage]:
    messages: List[BotMessage] = []
    texts: List[str] = []

    def close(buttons: List[dict]) -> None:
        if texts or buttons:
            messages.append(BotMessage("\n\n".join(texts), buttons))
            texts.clear()

    for reply in replies:
        if isinstance(reply.get("text"), str) and reply["text"]:
            if texts and len("\n\n".join(texts + [reply["text"]])) > MAX_MESSAGE_CHARS:
                close([])
            texts.append(reply["text"])
        if reply.get("buttons"):
            close(
                [
                    {"title": b["title"], "payload": b["payload"]}
                    for b in reply["buttons"]
                    if isinstance(b, dict) and b.get("title") and b.get("payload")
                ]
            )
    close([])
    return messages
