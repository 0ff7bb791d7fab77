"""The Telegram channel: python-telegram-bot in the gateway, relaying private chats to Rasa.

PTB's handlers sort the updates (commands, taps, texts, the rest); a message's turn is
bot/conversations.py's, shown here through a TelegramOutbox. Long polling by default; webhook
mode when TELEGRAM_WEBHOOK_URL is set (every request must carry the secret token). Rasa sees
only a keyed hash of the chat id; names, usernames and media are never passed on or stored.
One chat's messages are handled in order, one at a time.
"""

import asyncio
import hashlib
import hmac
import html
import logging
import time
from typing import Dict, List, Optional
from urllib.parse import urlparse

from aiohttp import web
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.channels.telegram_format import (
    GATEWAY_PREFIX,
    CallbackKeys,
    OutgoingMessage,
    telegram_messages,
    to_html,
)
from bot.conversations import Conversations
from bot.flood_guard import Verdict
from bot.pseudonyms import Pseudonyms
from bot.replies import BotMessage
from bot.settings import Settings
from bot.texts import buttons, gateway_text, language_from_code, privacy_url, text
from core.content import load
from core.handoff_store import ChatMessage

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
CHOSEN = "gw:chosen"  # callback data of the "✓ choice" button left after a tap
GROUP_REMINDER_SECONDS = 3600  # in a group, say "private chats only" at most this often
TYPING_EVERY_SECONDS = 4.5  # Telegram shows "typing…" for about 5 s per chat action


TEXTS = "telegram.yml"


def webhook_secret(settings: Settings, sender_secret: bytes) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the sender-id key (stable, shared by replicas)."""
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret
    return hmac.new(sender_secret, b"telegram-webhook", hashlib.sha256).hexdigest()


class TelegramOutbox:
    """How a turn shows in one private chat: HTML messages, inline keyboards, "typing…"."""

    channel_name = "telegram"

    def __init__(self, channel: "TelegramChannel", chat_id: int, language: str) -> None:
        self.channel, self.chat_id, self.language = channel, chat_id, language
        self.reply_to = str(chat_id)  # a counsellor's words are sent here, from any replica
        self._typing: Optional[asyncio.Task] = None

    async def counsellor(self, message: ChatMessage, name: str) -> None:
        # Every message comes from the bot's account, so a counsellor's words say whose they are.
        label = text("handoff.yml", "counsellor_label", self.language) + (f" ({name})" if name else "")
        said = f"<b>{html.escape(label, quote=False)}:</b> {html.escape(message.text, quote=False)}"
        await self.channel.app.bot.send_message(
            self.chat_id, said, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
        )  # the console keeps a message within Telegram's 4096 characters

    async def typing(self, on: bool) -> None:
        if on and self._typing is None:
            self._typing = asyncio.create_task(self.channel.keep_typing(self.chat_id))
        elif not on and self._typing is not None:
            self._typing.cancel()
            self._typing = None

    async def notice(self, said: str) -> None:
        await self.channel.send(self.chat_id, [OutgoingMessage(to_html(said))])

    async def messages(self, messages: List[BotMessage]) -> None:
        await self.channel.send(self.chat_id, telegram_messages(messages))

    async def deleted(self, confirmation: str) -> None:
        in_app = text(TEXTS, "delete_in_app", self.language)
        await self.channel.send(self.chat_id, [OutgoingMessage(to_html(f"{confirmation}\n\n{in_app}"))])


class TelegramChannel:
    def __init__(self, settings: Settings, conversations: Conversations, pseudonyms: Pseudonyms, secret: str) -> None:
        self.settings, self.conversations, self.pseudonyms = settings, conversations, pseudonyms
        self.webhook_mode = bool(settings.telegram_webhook_url)
        self.secret = secret
        builder = (
            Application.builder()
            .token(settings.telegram_token)
            .base_url(settings.telegram_api_url)
            .rate_limiter(AIORateLimiter(max_retries=5))
            .concurrent_updates(False)
        )
        if self.webhook_mode:
            builder = builder.updater(None)
        self.app = builder.build()
        self._add_handlers()
        self.app.add_error_handler(self.on_error)
        self.keys = CallbackKeys()
        self.groups_told: Dict[int, float] = {}
        self._starter: Optional[asyncio.Task] = None
        self._initialized = False
        if conversations.handoffs is not None:
            conversations.handoffs.reach_with(
                "telegram", lambda handoff: TelegramOutbox(self, int(handoff.reply_to or 0), handoff.language)
            )

    def _add_handlers(self) -> None:
        # Group -1 sees every update first and stops what is not a private chat's, or too much of it.
        self.app.add_handler(TypeHandler(Update, self.admit), group=-1)
        self.app.add_handlers(
            [
                MessageHandler(filters.UpdateType.EDITED_MESSAGE, self.said("edited")),
                CommandHandler("start", self.said("start")),
                CommandHandler(["hjelp", "help"], self.said("help")),
                CommandHandler(["ny", "new"], self.on_new),
                CommandHandler(["slett", "delete"], self.said("delete_question", with_buttons="delete_buttons")),
                MessageHandler(filters.COMMAND, self.said("unknown_command")),
                CallbackQueryHandler(self.on_tap),
                MessageHandler(filters.TEXT, self.on_text),
                # stickers, photos, voice, files, locations, contacts …: never downloaded
                MessageHandler(filters.UpdateType.MESSAGE, self.said("text_only")),
            ]
        )

    # --- wiring into the gateway's aiohttp app ------------------------------------------------

    def attach(self, web_app: web.Application) -> None:
        if self.webhook_mode:
            web_app.router.add_post(urlparse(self.settings.telegram_webhook_url).path or "/", self.webhook)
        web_app.cleanup_ctx.append(self._running)

    async def _running(self, _app: web.Application):
        # Started in the background: the gateway (and the counsellors' page) must come up even
        # when Telegram cannot be reached yet.
        self._starter = asyncio.create_task(self._start_with_retries())
        yield
        if not self._starter.done():
            self._starter.cancel()
        if self.app.updater and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.conversations.drain()
        if self._initialized:
            await self.app.shutdown()

    async def _start_with_retries(self) -> None:
        delay = 2.0
        while True:
            try:
                await self._start()
                return
            except TelegramError as error:
                log.error("Telegram not reachable (%s); retrying in %.0f s", type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 120)

    async def _start(self) -> None:
        await self.app.initialize()
        self._initialized = True
        commands = [BotCommand(c["command"], c["description"]) for c in load(TEXTS)["commands"]]
        await self.app.bot.set_my_commands(commands)
        if self.webhook_mode:
            await self.app.bot.set_webhook(
                self.settings.telegram_webhook_url, secret_token=self.secret, allowed_updates=Update.ALL_TYPES
            )
            await self.app.start()
            log.info("Telegram: webhook mode as @%s", self.app.bot.username)
        else:
            assert self.app.updater is not None  # built with one unless in webhook mode
            await self.app.updater.start_polling(
                timeout=self.settings.telegram_poll_timeout, allowed_updates=Update.ALL_TYPES
            )
            await self.app.start()
            log.info("Telegram: long polling as @%s", self.app.bot.username)

    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST of one update; refused unless it carries the secret token."""
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), self.secret.encode()):
            return web.Response(status=403, text="forbidden")
        if not self.app.running:
            return web.Response(status=503, text="starting")  # Telegram retries later
        try:
            update = Update.de_json(await request.json(), self.app.bot)
        except Exception:  # any malformed body: refuse it, never crash
            return web.Response(status=400, text="bad update")
        await self.app.update_queue.put(update)
        return web.Response(text="ok")

    # --- which updates are a conversation's ------------------------------------------------------

    async def admit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or update.channel_post or update.edited_channel_post:
            raise ApplicationHandlerStop  # channel posts and chat-less updates are not conversations
        language = self._language(update)
        if chat.type != ChatType.PRIVATE:
            await self._tell_group(chat.id, language)
            raise ApplicationHandlerStop
        verdict = await self.conversations.flood_verdict(self._sender(chat.id))
        if verdict is Verdict.WARN:
            self._in_order(update, lambda chat_id, _sender, language: self._say(chat_id, "flood", language))
        if verdict is not Verdict.ACCEPT:
            raise ApplicationHandlerStop

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("Telegram update failed: %s", type(context.error).__name__, exc_info=context.error)

    def _sender(self, chat_id: int) -> str:
        # The pseudonym also names the conversation's queue and its turn in Redis.
        return self.pseudonyms.sender_id("telegram", chat_id)

    @staticmethod
    def _language(update: Update) -> str:
        user = update.effective_user
        return language_from_code(user.language_code if user else None)

    def _in_order(self, update: Update, job) -> None:
        """Runs job(chat_id, sender, language) after the chat's earlier messages."""
        assert update.effective_chat is not None  # admit() let only private chats through
        chat_id = update.effective_chat.id
        sender, language = self._sender(chat_id), self._language(update)
        self.conversations.run_in_order(sender, lambda: job(chat_id, sender, language))

    async def _tell_group(self, chat_id: int, language: str) -> None:
        now = time.monotonic()
        if now - self.groups_told.get(chat_id, -GROUP_REMINDER_SECONDS) < GROUP_REMINDER_SECONDS:
            return
        self.groups_told = {
            group: told for group, told in self.groups_told.items() if now - told < GROUP_REMINDER_SECONDS
        }  # only groups told within the hour
        self.groups_told[chat_id] = now
        await self._say(chat_id, "group_only", language)

    # --- commands and texts ---------------------------------------------------------------------------

    def said(self, name: str, with_buttons: str = ""):
        """A handler that answers with one of the channel's own texts."""

        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            self._in_order(update, lambda chat_id, _sender, language: self._say(chat_id, name, language, with_buttons))

        return handle

    async def on_new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        async def start_over(chat_id: int, sender: str, language: str) -> None:
            if await self.conversations.restart(sender, language, self.outbox(chat_id, language)):
                await self._say(chat_id, "start_over", language)

        self._in_order(update, start_over)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None  # filters.TEXT
        # A slash with no command behind it is typed text, never a button's payload.
        typed = (update.message.text or "").lstrip("/")
        self._in_order(update, lambda chat_id, sender, language: self._turn(chat_id, sender, typed, language))

    async def _turn(self, chat_id: int, sender: str, message: str, language: str) -> None:
        # a chat is its own client: the action server counts bookings and tries by it
        await self.conversations.turn(sender, message, language, self.outbox(chat_id, language), client=sender)

    def outbox(self, chat_id: int, language: str) -> TelegramOutbox:
        return TelegramOutbox(self, chat_id, language)

    # --- buttons -----------------------------------------------------------------------------------

    async def on_tap(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._acknowledge_tap(update)
        self._in_order(update, lambda chat_id, sender, language: self._on_tap(update, chat_id, sender, language))

    async def _acknowledge_tap(self, update: Update) -> None:
        """Answers the tap at once (Telegram shows a spinner until then) and leaves only the choice."""
        query = update.callback_query
        assert query is not None  # CallbackQueryHandler
        if query.data == CHOSEN:
            await query.answer(text(TEXTS, "already_chosen", self._language(update)))
            return
        await query.answer()
        title = self._title_of(query)
        if title and query.message:
            try:
                await query.edit_message_reply_markup(
                    InlineKeyboardMarkup([[InlineKeyboardButton(f"✓ {title}", callback_data=CHOSEN)]])
                )
            except BadRequest as error:  # e.g. the message is too old to edit
                log.info("Could not mark the choice: %s", error)

    @staticmethod
    def _title_of(query) -> Optional[str]:
        markup = getattr(query.message, "reply_markup", None)
        for row in markup.inline_keyboard if markup else []:
            for button in row:
                if button.callback_data == query.data:
                    return button.text
        return None

    async def _on_tap(self, update: Update, chat_id: int, sender: str, language: str) -> None:
        query = update.callback_query
        assert query is not None  # CallbackQueryHandler
        data = query.data or ""
        if data == CHOSEN:
            return
        if data == "gw:delete:yes":
            await self._turn(chat_id, sender, "/forget_me", language)  # Rasa's answer asks to delete
            return
        if data.startswith(GATEWAY_PREFIX):  # gw:delete:no
            await self._say(chat_id, "delete_kept", language)
            return
        payload = self.keys.payload_for(data)
        if payload is None:
            # A key from before a restart: the button's title, sent as text, is understood by
            # the same NLU as typed answers.
            payload = self._title_of(query)
        if not payload:
            await self._say(chat_id, "button_expired", language)
            return
        await self._turn(chat_id, sender, payload, language)

    # --- sending ---------------------------------------------------------------------------------

    async def keep_typing(self, chat_id: int) -> None:
        try:
            while True:
                await self.app.bot.send_chat_action(chat_id, ChatAction.TYPING)
                await asyncio.sleep(TYPING_EVERY_SECONDS)
        except TelegramError as error:
            log.info("Typing indicator failed: %s", type(error).__name__)

    async def _say(self, chat_id: int, name: str, language: str, with_buttons: str = "") -> None:
        """Sends one of the channel's own texts (content/telegram.yml, else content/gateway.yml)."""
        link = privacy_url(self.settings.public_base, language)
        said = text(TEXTS, name, language, privacy_url=link) if name in load(TEXTS) else gateway_text(name, language)
        keyboard = buttons(TEXTS, with_buttons, language) if with_buttons else []
        await self.send(chat_id, [OutgoingMessage(to_html(said), keyboard)])

    async def send(self, chat_id: int, messages: List[OutgoingMessage]) -> None:
        for message in messages:
            markup = None
            if message.buttons:
                markup = InlineKeyboardMarkup(
                    [
                        [InlineKeyboardButton(b["title"], callback_data=self.keys.data_for(b["payload"]))]
                        for b in message.buttons
                    ]
                )
            await self.app.bot.send_message(
                chat_id, message.html, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
            )
