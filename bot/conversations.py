"""What a turn of a conversation does, once for every channel (web widget, Telegram).

A channel reads its own input (frames, updates, taps) and hands each message to `Conversations`,
with an `Outbox` that shows things in that channel. From there every channel gets the same:
one message at a time per conversation, in order, across replicas (bot/chat_queues.py); the
flood check; the emoji and no-words answers; the relay to Rasa with its apology when Rasa is
slow and its give-up text; Rasa's replies packed into messages; and deleting the conversation
when the user asked for it.
"""

import asyncio
import logging
from typing import Awaitable, Callable, List, Optional, Protocol

from bot.chat_queues import ChatQueues
from bot.emoji_words import meaning as emoji_meaning
from bot.flood_guard import Verdict
from bot.forgetting import Forgetting, asks_to_forget
from bot.handoff import Handoffs, handoff_request_in
from bot.rasa_client import RasaUnavailable
from bot.relay import Relay
from bot.replies import BotMessage, pack
from bot.shared_state import SharedFloodGuard
from bot.texts import gateway_text
from bot.turn_order import TurnOrder
from core.handoff_store import ChatMessage
from core.protocol import HANDOFF_MARKER

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[None]]


class Outbox(Protocol):
    """How one channel shows the bot's (and a counsellor's) side of one conversation."""

    channel_name: str  # "web", "telegram": the handoff store keeps it
    reply_to: str  # where a counsellor's words go outside the visitor's turn ("" when the sender says it)

    async def typing(self, on: bool) -> None: ...

    async def notice(self, said: str) -> None:
        """The gateway's own words (Rasa is slow, only words are understood, …)."""

    async def messages(self, messages: List[BotMessage]) -> None: ...

    async def deleted(self, confirmation: str) -> None:
        """The conversation is gone; `confirmation` says what was deleted."""

    async def counsellor(self, message: ChatMessage, name: str) -> None:
        """A counsellor's words in a live chat (bot/handoff.py); `name` is their display name or ""."""


class Conversations:
    def __init__(
        self,
        relay: Relay,
        forgetting: Forgetting,
        flood_messages: int,
        flood_window_seconds: float,
        redis=None,
        handoffs: Optional[Handoffs] = None,
    ) -> None:
        self.relay, self.forgetting, self.handoffs = relay, forgetting, handoffs
        self.queues = ChatQueues(TurnOrder(redis))
        self.flood = SharedFloodGuard("conversation", flood_messages, flood_window_seconds, redis)
        self._on_forget: List[Callable[[str], None]] = []

    def also_forget(self, drop: Callable[[str], None]) -> None:
        """A channel's own trace of a conversation (ids it remembers) goes when the conversation does."""
        self._on_forget.append(drop)

    # --- order and flood ------------------------------------------------------------------------

    async def flood_verdict(self, sender: str) -> Verdict:
        return await self.flood.check(sender)

    def run_in_order(self, sender: str, job: Job) -> asyncio.Future:
        """Queues the job behind the conversation's earlier ones; the future is done when it has run."""
        done = asyncio.get_running_loop().create_future()

        async def run() -> None:
            try:
                await job()
            finally:
                if not done.done():
                    done.set_result(None)

        self.queues.put(sender, run)
        return done

    async def drain(self) -> None:
        await self.queues.drain()

    # --- turns --------------------------------------------------------------------------------------

    async def turn(self, sender: str, text: str, language: str, out: Outbox, client: str = "") -> None:
        """Passes one message (typed text or a button's payload) to Rasa and shows what the user should
        see; while the conversation is with a counsellor (or waits for one), to the counsellor instead."""
        if self.handoffs is not None and await self._for_counsellor(sender, text, language, out):
            return
        if not any(character.isalnum() for character in text):
            emoji = emoji_meaning(text)  # 👍 is "ja", 😢 gets a kind answer, the rest "only words"
            if not emoji.words:
                await out.notice(gateway_text(emoji.reply or "no_words", language))
                return
            text = emoji.words
        replies = await self._deliver(sender, text, language, out, client)
        if replies is None:
            return
        request = handoff_request_in(replies) if self.handoffs is not None else None
        if request is not None:
            # the bot's words before the request (a crisis's numbers come first), then the queue;
            # what a form would ask after it waits until the chat is over
            await out.messages(pack(replies[:request]))
            assert self.handoffs is not None
            await self.handoffs.requested(sender, language, replies[request]["custom"][HANDOFF_MARKER] or {}, out)
            return
        await out.messages(pack(replies))
        if asks_to_forget(replies):
            await self.forget(sender, language, out)

    async def _for_counsellor(self, sender: str, text: str, language: str, out: Outbox) -> bool:
        """True when the message was the live chat's (or the anonymous feedback tap) and Rasa must not see it."""
        assert self.handoffs is not None
        handoff = await self.handoffs.open_for(sender)
        if handoff is None:
            return await self.handoffs.took_feedback(sender, text, language, out)
        if self.handoffs.asks_to_delete(text):
            await self.delete(sender, language, out)
        else:
            await self.handoffs.visitor_says(handoff, text, language, out)
        return True

    async def restart(self, sender: str, language: str, out: Outbox) -> bool:
        """Starts the conversation over in Rasa; False (and the user told) when Rasa stayed away.
        A chat with a counsellor (or a place in the queue) ends first: starting over leaves it."""
        if self.handoffs is not None:
            await self.handoffs.leave(sender)
        return await self._deliver(sender, "/restart", language, out) is not None

    async def delete(self, sender: str, language: str, out: Outbox) -> None:
        """Deletes the conversation at once (the widget's delete button, a quick exit): Rasa is told
        so its tracker starts over, but the deletion does not wait for Rasa to be well."""
        try:
            replies = await self.relay.rasa.send(sender, "/forget_me")
        except RasaUnavailable:
            replies = []
        if not asks_to_forget(replies):
            log.warning("Rasa did not confirm forget_me; deleting anyway")
        await self.forget(sender, language, out)

    async def forget(self, sender: str, language: str, out: Outbox) -> None:
        if self.handoffs is not None:
            await self.handoffs.forget(sender)  # the human transcript goes too
        confirmation = await self.forgetting.forget_and_confirm(sender, language)
        self.relay.forget(sender)
        await self.flood.forget(sender)
        for drop in self._on_forget:
            drop(sender)
        await out.deleted(confirmation)

    async def _deliver(
        self, sender: str, text: str, language: str, out: Outbox, client: str = ""
    ) -> Optional[List[dict]]:
        await out.typing(True)
        try:
            replies = await self.relay.deliver(
                sender,
                text,
                on_trouble=lambda: out.notice(gateway_text("rasa_trouble", language)),
                language=language,
                client=client,
            )
        finally:
            await out.typing(False)
        if replies is None:
            await out.notice(gateway_text("rasa_gave_up", language))
        return replies
