"""Gets one user message through to Rasa, however long Rasa is slow or down, with identifying
numbers and addresses masked first (bot/redaction.py).

The channel is told once (`on_trouble`) when Rasa is slow or unreachable, so it can apologise
to the user; the message is then retried with growing pauses until it gets through or
`retry_seconds` have passed. A request that is only slow is waited for, not sent again, so
Rasa does not see the message twice.
"""

import asyncio
import logging
import time
import uuid
from typing import Awaitable, Callable, Dict, List, Optional

from bot.rasa_client import RasaClient, RasaUnavailable
from bot.redaction import redact
from bot.texts import gateway_text
from core.phone_numbers import find_phone, with_handle
from core.protocol import EXPECTS_PHONE

log = logging.getLogger(__name__)


class Relay:
    def __init__(
        self,
        rasa: RasaClient,
        slow_seconds: float,
        retry_seconds: float,
        max_delay: float,
        keep_phone: Optional[Callable[[str, str], str]] = None,
    ) -> None:
        self.rasa = rasa
        # Keeps the number a booking asked for outside Rasa, returns its handle (core/phone_numbers.py)
        self.keep_phone = keep_phone
        self.slow_seconds, self.retry_seconds, self.max_delay = slow_seconds, retry_seconds, max_delay
        self.phone_asked: Dict[str, bool] = {}  # senders whose last answer asked for a phone number

    async def deliver(
        self,
        sender_id: str,
        text: str,
        on_trouble: Callable[[], Awaitable[None]],
        language: str = "nb",
        client: str = "",
    ) -> Optional[List[dict]]:
        """Rasa's replies (after a note when something was masked), or None if Rasa stayed
        unreachable for the whole retry period. `client` is the pseudonymised address or chat
        the action server counts bookings and failed tries by."""
        phone_expected = self.phone_asked.pop(sender_id, False)
        if phone_expected:
            text = await self._swap_phone_for_handle(sender_id, text)
        redacted = redact(text, phone_expected=phone_expected)
        replies = await self._send(sender_id, redacted.text, on_trouble, client)
        if replies is None:
            return None
        if not replies:  # Rasa had nothing to say (an action failed, say): never leave the user in silence
            replies = [{"text": gateway_text("no_answer", language)}]
        if any(reply.get("custom") == EXPECTS_PHONE for reply in replies):
            self.phone_asked[sender_id] = True
        if redacted.found:
            replies = [{"text": gateway_text("redacted", language)}] + replies
        return replies

    async def _swap_phone_for_handle(self, sender_id: str, text: str) -> str:
        found = None if text.startswith("/") else find_phone(text)  # a button's payload holds times, not numbers
        if found is None or self.keep_phone is None:
            return text
        number, start, end = found
        handle = await asyncio.get_running_loop().run_in_executor(None, self.keep_phone, sender_id, number)
        return with_handle(text, start, end, handle)

    def forget(self, sender_id: str) -> None:
        self.phone_asked.pop(sender_id, None)

    async def _send(
        self, sender_id: str, text: str, on_trouble: Callable[[], Awaitable[None]], client: str = ""
    ) -> Optional[List[dict]]:
        give_up_at = time.monotonic() + self.retry_seconds
        told_user, delay = False, 1.0
        turn_id = uuid.uuid4().hex  # the same for every try (see RasaClient.send)
        while True:
            request = asyncio.ensure_future(self.rasa.send(sender_id, text, turn_id, client))
            done, _ = await asyncio.wait({request}, timeout=self.slow_seconds)
            if not done:
                if not told_user:
                    told_user = True
                    await on_trouble()
                done, _ = await asyncio.wait({request})
            try:
                return request.result()
            except RasaUnavailable as error:
                log.warning("Rasa unavailable for %s…: %s", sender_id[:16], error)
            if not told_user:
                told_user = True
                await on_trouble()
            if time.monotonic() + delay > give_up_at:
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_delay)
