"""Live chat with a counsellor: the gateway hands a conversation to a person, in the same chat.

State per conversation, in the gateway's database (core/handoff_store.py):

    bot ──ask for a person──▶ waiting ──"Ta samtalen"──▶ with_counsellor ──end──▶ bot
                                 └────"avbryt" / unclaimed and left─────────────────┘

While a conversation waits or talks with a counsellor its messages never go to Rasa: they go to
the handoff store and, through the console bus (Redis pub/sub when replicas share it), to the
counsellors' consoles (bot/console.py). A counsellor's words reach the visitor through the
channel's reach: the widget's push bus, or Telegram's Bot API from whichever replica sends.
Every text the visitor sees is in content/handoff.yml.
"""

import asyncio
import logging
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable, Dict, List, Optional

from bot.payloads import is_button_payload
from bot.redaction import redact
from bot.replies import BotMessage
from bot.texts import buttons, gateway_text
from bot.texts import text as content_text
from core.audit_log import AuditLog
from core.availability import Schedule
from core.clock import Clock
from core.content import load
from core.counsellor_accounts import CounsellorAccounts
from core.crisis_phrases import crisis_in
from core.dates import format_time
from core.handoff_store import ChatMessage, Handoff, HandoffStore
from core.protocol import FEEDBACK_PAYLOADS, HANDOFF_MARKER
from core.settings import HandoffSettings
from core.text_normalise import normalise

log = logging.getLogger(__name__)
TEXTS = "handoff.yml"
DELETE_PAYLOAD = "/forget_me"  # what the channels send for a confirmed deletion
EVERYONE = "*"  # the console bus's key for an event every counsellor's console hears
Publish = Callable[[str, dict], Awaitable[None]]


def said(key: str, language: str, **values: object) -> str:
    return content_text(TEXTS, key, language, **values)


def offer_buttons(language: str) -> List[dict]:
    return buttons(TEXTS, "offer_buttons", language)


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", normalise(text or ""))).strip()


def _listed(text: str, key: str) -> bool:
    return _words(text) in {_words(entry) for entry in load(TEXTS).get(key) or []}


def handoff_request_in(replies: List[dict]) -> Optional[int]:
    """The index of Rasa's request for a person among its replies (actions/handoff_request.py)."""
    for index, reply in enumerate(replies):
        if isinstance(reply.get("custom"), dict) and HANDOFF_MARKER in reply["custom"]:
            return index
    return None


class Handoffs:
    def __init__(
        self,
        store: HandoffStore,
        accounts: CounsellorAccounts,
        settings: HandoffSettings,
        audit: AuditLog,
    ) -> None:
        self.store, self.accounts, self.settings, self.audit = store, accounts, settings, audit
        self.reaches: Dict[str, Callable[[Handoff], object]] = {}  # channel → the handoff's Outbox
        self.publish: Publish = self._nowhere  # the console bus (bot/console.py sets it)
        self.clock = Clock(settings.clock_file)  # real time unless a test sets HANDOFF_CLOCK_FILE

    @staticmethod
    async def _nowhere(_key: str, _event: dict) -> None:
        return None

    def reach_with(self, channel: str, outbox_for: Callable[[Handoff], object]) -> None:
        """How a channel shows the counsellor's side to a visitor outside the visitor's own turn."""
        self.reaches[channel] = outbox_for

    def _reach(self, handoff: Handoff):
        make = self.reaches.get(handoff.channel)
        return make(handoff) if make else None

    async def in_thread(self, call, *args):
        """The stores are synchronous; their calls run in a worker thread so no chat waits."""
        return await asyncio.get_running_loop().run_in_executor(None, call, *args)

    async def changed(self, counsellor: Optional[str] = None) -> None:
        """Tells the consoles to look again: every console (the queue), or one counsellor's."""
        await self.publish(counsellor or EVERYONE, {"type": "changed"})

    # --- the visitor's side -----------------------------------------------------------------------

    async def open_for(self, sender: str) -> Optional[Handoff]:
        return await self.in_thread(self.store.open_for, sender)

    async def transcript(self, sender: str) -> List[ChatMessage]:
        return await self.in_thread(self.store.transcript_of_sender, sender)

    @staticmethod
    def asks_to_delete(text: str) -> bool:
        """Typed "slett samtalen", or Telegram's confirmed /slett (its payload, as Rasa would get it)."""
        return text.strip() == DELETE_PAYLOAD or _listed(text, "delete_words")

    async def leave(self, sender: str) -> None:
        """The visitor starts over: an open chat or place in the queue ends, as if they wrote "avslutt"."""
        current = await self.open_for(sender)
        if current is not None:
            await self.end(current.id, "visitor")

    async def requested(self, sender: str, language: str, request: dict, out) -> None:
        """The user asked for a person (Rasa's marker): the queue, or when the chat is staffed."""
        now = self.clock.now()
        current = await self.open_for(sender)
        if current is not None:
            await self._already(current, language, out)
            return
        plan = Schedule.from_config(load("booking.yml"))
        if not plan.is_open(now, "chat"):
            opening = plan.next_opening(now, "chat")
            when = format_time(opening, language) if opening else said("next_open_unknown", language)
            await out.messages([BotMessage(said("closed", language, next_open=when), offer_buttons(language))])
            return
        if not await self.in_thread(self.accounts.available_now):
            await out.messages([BotMessage(said("nobody_free", language), offer_buttons(language))])
            return
        topics = [str(topic)[:40] for topic in (request.get("topics") or [])][:6]
        handoff = await self.in_thread(
            lambda: self.store.request(
                sender, out.channel_name, language, bool(request.get("crisis")), topics, reply_to=out.reply_to
            )
        )
        position = await self.in_thread(self.store.position, handoff)
        typical = await self.in_thread(self.store.typical_wait)
        if typical is None:
            wait = said("wait_unknown", language)
        else:
            wait = said("wait_measured", language, minutes=max(1, math.ceil(typical.total_seconds() / 60)))
        queued = said("queued", language, position=position, wait=wait)
        await self.in_thread(self.store.add_message, handoff.id, "bot", queued)  # the history shows it after a reload
        await out.messages([BotMessage(queued)])
        log.info("Handoff %s queued (%s, position %d)", handoff.id, handoff.channel, position)
        await self.changed()

    async def _already(self, handoff: Handoff, language: str, out) -> None:
        if handoff.state == "waiting":
            position = await self.in_thread(self.store.position, handoff)
            await out.notice(said("already_queued", language, position=position))
        else:
            await out.notice(said("already_talking", language))

    async def visitor_says(self, handoff: Handoff, text: str, language: str, out) -> None:
        """A message of a conversation in the queue or with a counsellor: to the counsellor only."""
        if _listed(text, "leave_words"):
            await self.end(handoff.id, "visitor")
            return
        if is_button_payload(text.strip()):  # an old button of the bot's: not words for the counsellor
            if text.strip() == "/talk_to_human":
                await self._already(handoff, language, out)
            else:
                await out.notice(said("button_in_chat", language))
            return
        # As for the bot: identifying numbers and addresses are masked before anything is stored.
        masked = redact(text)
        if masked.found:
            await out.notice(gateway_text("redacted", language))
        await self.in_thread(self.store.add_message, handoff.id, "visitor", masked.text)
        crisis = crisis_in(text)
        if crisis and not handoff.crisis:
            await self.in_thread(self.store.mark_crisis, handoff.id)
        if crisis and handoff.state == "waiting":
            await out.notice(said("crisis_while_waiting", language))
        # the holder's console shows the message; a crisis changes the queue every console shows
        await self.changed(None if crisis else handoff.counsellor)

    async def took_feedback(self, sender: str, text: str, language: str, out) -> bool:
        answer = FEEDBACK_PAYLOADS.get(text.strip())
        if answer is None:
            return False
        if await self.in_thread(self.store.take_feedback, sender, answer, datetime.now(timezone.utc).date()):
            await out.notice(said("feedback_thanks", language))
        return True  # a second tap, or one from an old message, is not counted and not sent to Rasa

    async def forget(self, sender: str) -> None:
        """The conversation is being deleted: an open chat ends for the counsellor, and every
        handoff of the conversation with its human transcript goes."""
        current = await self.open_for(sender)
        if current is not None:
            ended = await self.in_thread(self.store.end, current.id, "deleted")
            if ended is not None:
                self.audit.record(ended.counsellor or "(kø)", "chat_ended_deleted")
                await self.changed()  # every console, the holder's too
        await self.in_thread(self.store.delete_sender, sender)

    # --- the counsellor's side --------------------------------------------------------------------

    async def claim(self, handoff_id: int, counsellor: str) -> bool:
        account = await self.in_thread(self.accounts.get, counsellor)
        if account is None or account.disabled:
            return False
        held = await self.in_thread(self.store.held_by, counsellor)
        if len(held) >= account.max_chats:
            return False
        if not await self.in_thread(self.store.claim, handoff_id, counsellor):
            return False
        handoff = await self.in_thread(self.store.get, handoff_id)
        self.audit.record(counsellor, "chat_claimed")
        name = said("claimed_name", handoff.language, display_name=account.display_name) if account.display_name else ""
        claimed = said("claimed", handoff.language, name=name)
        await self.in_thread(self.store.add_message, handoff_id, "bot", claimed)
        reach = self._reach(handoff)
        if reach is not None:
            await reach.notice(claimed)
        await self.changed()  # every console, the claimer's too
        return True

    async def counsellor_says(self, handoff_id: int, counsellor: str, text: str) -> Optional[ChatMessage]:
        handoff = await self.in_thread(self.store.get, handoff_id)
        if handoff is None or handoff.state != "with_counsellor" or handoff.counsellor != counsellor:
            return None
        text = text.strip()
        if not text:
            return None
        message = await self.in_thread(self.store.add_message, handoff_id, "counsellor", text)
        account = await self.in_thread(self.accounts.get, counsellor)
        reach = self._reach(handoff)
        if reach is not None:
            await reach.counsellor(message, account.display_name if account else "")
        await self.changed(counsellor)
        return message

    async def end(self, handoff_id: int, by: str, counsellor: Optional[str] = None) -> bool:
        """Ends the chat (by "counsellor", "visitor" or "idle"); the visitor is told the bot is back."""
        handoff = await self.in_thread(self.store.get, handoff_id)
        if handoff is None or (counsellor is not None and handoff.counsellor != counsellor):
            return False
        ended = await self.in_thread(self.store.end, handoff_id, by)
        if ended is None:
            return False
        self.audit.record(ended.counsellor or "(kø)", f"chat_ended_{by}")
        if handoff.state == "waiting":
            ending = "left_queue"
        else:
            ending = {"counsellor": "ended_by_counsellor", "visitor": "ended_by_visitor"}.get(by, "ended_idle")
        told = said(ending, ended.language)
        await self.in_thread(self.store.add_message, handoff_id, "bot", told)
        reach = self._reach(handoff)
        if reach is not None:
            await reach.notice(told)
            if handoff.state != "waiting":
                question = said("feedback_question", ended.language)
                await reach.messages([BotMessage(question, buttons(TEXTS, "feedback_buttons", ended.language))])
        await self.changed()  # every console, the holder's too
        return True

    # --- the clock: unclaimed and idle chats ------------------------------------------------------

    async def check_clock(self, now: Optional[datetime] = None) -> None:
        """Run by every gateway every few seconds; each notice and each end happens once, on
        whichever replica's database update wins."""
        now = now or datetime.now(timezone.utc)
        wait = timedelta(minutes=self.settings.wait_minutes)
        for handoff in await self.in_thread(self.store.unclaimed_since, now - wait):
            reach = self._reach(handoff)
            if reach is not None:
                minutes = f"{self.settings.wait_minutes:g}"
                await reach.messages(
                    [BotMessage(said("unclaimed", handoff.language, minutes=minutes), offer_buttons(handoff.language))]
                )
        idle = timedelta(minutes=self.settings.idle_minutes)
        for handoff in await self.in_thread(self.store.silent_since, "with_counsellor", now - idle):
            await self.end(handoff.id, "idle")
        # A visitor who left the queue without a word (a closed tab) is not kept in it forever:
        # silent for the wait and the idle time together, the place goes.
        for handoff in await self.in_thread(self.store.silent_since, "waiting", now - wait - idle):
            await self.end(handoff.id, "idle")

    async def run_clock(self) -> None:
        while True:
            try:
                await self.check_clock()
            except Exception:  # a database hiccup must not stop the clock; the next round retries
                log.exception("Handoff clock failed")
            await asyncio.sleep(self.settings.check_seconds)
