"""Deleting what is stored about one user, on their request: the conversation in Rasa's tracker
store and the link (and, where it is no longer needed, the phone number) of their bookings.
The bookings themselves stay for the counsellors."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import List

from core.booking_store import BookingStore
from core.content import load, service_details, text_in
from core.conversation_store import ConversationStore
from core.protocol import DELETE_MARKER
from core.settings import phone_retention_days

log = logging.getLogger(__name__)


@dataclass
class Forgotten:
    events: int
    bookings: int
    phones_kept: int


def asks_to_forget(replies: List[dict]) -> bool:
    """True when Rasa's replies carry action_forget_me's request to delete the conversation."""
    return any(isinstance(r.get("custom"), dict) and r["custom"].get(DELETE_MARKER) for r in replies)


class Forgetting:
    def __init__(self, conversations: ConversationStore, bookings: BookingStore) -> None:
        self.conversations, self.bookings = conversations, bookings

    def forget(self, sender_id: str) -> Forgotten:
        detached, phones_kept = self.bookings.detach_sender(sender_id, datetime.now(timezone.utc))
        return Forgotten(self.conversations.delete(sender_id), detached, phones_kept)

    async def forget_and_confirm(self, sender_id: str, language: str) -> str:
        """Deletes (in a worker thread: the stores are synchronous) and says what was deleted."""
        texts = load("deletion.yml")
        try:
            forgotten = await asyncio.get_running_loop().run_in_executor(None, self.forget, sender_id)
        except Exception:
            log.exception("Deleting a conversation failed")
            return text_in(texts["failed"], language).format_map(service_details())
        log.info("Deleted on request: %d events, %d bookings unlinked", forgotten.events, forgotten.bookings)
        parts = [text_in(texts["deleted"], language)]
        if forgotten.bookings:
            parts.append(text_in(texts["bookings_detached"], language))
        if forgotten.phones_kept:
            parts.append(text_in(texts["phone_kept"], language))
        retention = {"phone_days": f"{phone_retention_days():g}"}
        return "\n\n".join(parts).format_map({**service_details(), **retention})
