"""The Telegram channel: python-telegram-bot in the gateway, relaying private chats to Rasa.

Long polling by default; webhook mode when TELEGRAM_WEBHOOK_URL is set (every request must carry
the secret token). Rasa sees only a keyed hash of the chat id; names, usernames and media are
never passed on or stored. One chat's messages are handled in order, one at a time.
"""
import asyncio
import hashlib
import hmac
import logging
import time
from typing import Dict, List, Optional
from urllib.parse import urlparse

from aiohttp import web
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import AIORateLimiter, Application, ContextTypes, TypeHandler

from core.content import load
from bot.channels.telegram_format import (GATEWAY_PREFIX, CallbackKeys, OutgoingMessage,
                                          messages_from_replies, to_html)
from bot.emoji_words import meaning as emoji_meaning
from bot.chat_queues import ChatQueues
from bot.flood_guard import Verdict
from bot.forgetting import Forgetting, asks_to_forget
from bot.pseudonyms import Pseudonyms
from bot.relay import Relay
from bot.settings import Settings
from bot.shared_state import SharedFloodGuard
from bot.texts import buttons, gateway_text, privacy_path, text
from bot.turn_order import TurnOrder

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
CHOSEN = "gw:chosen"           # callback data of the "✓ choice" button left after a tap
GROUP_REMINDER_SECONDS = 3600  # in a group, say "private chats only" at most this often
TYPING_EVERY_SECONDS = 4.5     # Telegram shows "typing…" for about 5 s per chat action
COMMANDS = {"start": "start", "hjelp": "help", "help": "help", "ny": "new", "new": "new",
            "slett": "delete", "delete": "delete"}


TEXTS = "telegram.yml"


def webhook_secret(settings: Settings, sender_secret: bytes) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the sender-id key (stable, shared by replicas)."""
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret
    return hmac.new(sender_secret, b"telegram-webhook", hashlib.sha256).hexdigest()


class TelegramChannel:
    def __init__(self, settings: Settings, relay: Relay, pseudonyms: Pseudonyms, forgetting: Forgetting,
                 secret: str, redis=None) -> None:
        self.settings, self.relay, self.pseudonyms, self.forgetting = settings, relay, pseudonyms, forgetting
        self.webhook_mode = bool(settings.telegram_webhook_url)
        self.secret = secret
        builder = (Application.builder().token(settings.telegram_token).base_url(settings.telegram_api_url)
                   .rate_limiter(AIORateLimiter(max_retries=5)).concurrent_updates(False))
        if self.webhook_mode:
            builder = builder.updater(None)
        self.app = builder.build()
        self.app.add_handler(TypeHandler(Update, self.on_update))
        self.app.add_error_handler(self.on_error)
        self.queues = ChatQueues(TurnOrder(redis))
        self.flood = SharedFloodGuard("telegram", settings.flood_messages, settings.flood_window_seconds, redis)
        self.keys = CallbackKeys()
        self.groups_told: Dict[int, float] = {}
        self._starter: Optional[asyncio.Task] = None
        self._initialized = False

    # --- wiring into the gateway's aiohttp app ------------------------------------------------

    def attach(self, web_app: web.Application) -> None:
        if self.webhook_mode:
            web_app.router.add_post(urlparse(self.settings.telegram_webhook_url).path or "/", self.webhook)
        web_app.on_startup.append(self._on_startup)
        web_app.on_cleanup.append(self._on_cleanup)

    async def _on_startup(self, _app: web.Application) -> None:
        # In the background: the gateway (and the counsellors' page) must come up even when
        # Telegram cannot be reached yet.
        self._starter = asyncio.create_task(self._start_with_retries())

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
            await self.app.bot.set_webhook(self.settings.telegram_webhook_url, secret_token=self.secret,
                                           allowed_updates=Update.ALL_TYPES)
            await self.app.start()
            log.info("Telegram: webhook mode as @%s", self.app.bot.username)
        else:
            await self.app.updater.start_polling(timeout=self.settings.telegram_poll_timeout,
                                                 allowed_updates=Update.ALL_TYPES)
            await self.app.start()
            log.info("Telegram: long polling as @%s", self.app.bot.username)

    async def _on_cleanup(self, _app: web.Application) -> None:
        if self._starter and not self._starter.done():
            self._starter.cancel()
        if self.app.updater and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.queues.drain()
        if self._initialized:
            await self.app.shutdown()

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

    # --- updates ---------------------------------------------------------------------------------

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Sorts every kind of update; the work for a private chat goes into that chat's queue."""
        chat = update.effective_chat
        if chat is None or update.channel_post or update.edited_channel_post:
            return  # channel posts and chat-less updates are not conversations with a user
        language = self._language(update)
        if chat.type != ChatType.PRIVATE:
            await self._tell_group(chat.id, language)
            return
        verdict = await self.flood.check(chat.id)
        if verdict is Verdict.DROP:
            return
        # The queue is keyed by the pseudonym: it also names the conversation's turn in Redis.
        sender = self.pseudonyms.sender_id("telegram", chat.id)
        if verdict is Verdict.WARN:
            self.queues.put(sender, lambda: self._say(chat.id, "flood", language))
            return
        if update.callback_query:
            await self._acknowledge_tap(update)
            self.queues.put(sender, lambda: self._on_tap(update, sender, language))
        elif update.edited_message:
            self.queues.put(sender, lambda: self._say(chat.id, "edited", language))
        elif update.message and update.message.text:
            self.queues.put(sender, lambda: self._on_text(chat.id, sender, update.message.text, language))
        elif update.message:  # stickers, photos, voice, files, locations, contacts …: never downloaded
            self.queues.put(sender, lambda: self._say(chat.id, "text_only", language))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("Telegram update failed: %s", type(context.error).__name__, exc_info=context.error)

    @staticmethod
    def _language(update: Update) -> str:
        user = update.effective_user
        return "en" if user and (user.language_code or "").lower().startswith("en") else "nb"

    async def _tell_group(self, chat_id: int, language: str) -> None:
        now = time.monotonic()
        if now - self.groups_told.get(chat_id, -GROUP_REMINDER_SECONDS) < GROUP_REMINDER_SECONDS:
            return
        self.groups_told = {group: told for group, told in self.groups_told.items()
                            if now - told < GROUP_REMINDER_SECONDS}  # only groups told within the hour
        self.groups_told[chat_id] = now
        await self._say(chat_id, "group_only", language)

    async def _on_text(self, chat_id: int, sender: str, text: str, language: str) -> None:
        if text.startswith("/"):
            await self._on_command(chat_id, sender, text, language)
        elif not any(character.isalnum() for character in text):
            emoji = emoji_meaning(text)  # 👍 is "ja", 😢 gets a kind answer, the rest "only words"
            if emoji.words:
                await self._relay(chat_id, sender, emoji.words, language)
            else:
                await self._say(chat_id, emoji.reply or "no_words", language)
        else:
            await self._relay(chat_id, sender, text, language)

    async def _on_command(self, chat_id: int, sender: str, text: str, language: str) -> None:
        name = text[1:].split(maxsplit=1)[0].split("@")[0].lower() if len(text) > 1 else ""
        command = COMMANDS.get(name)
        if command == "start":
            await self._say(chat_id, "start", language)
        elif command == "help":
            await self._say(chat_id, "help", language)
        elif command == "new":
            await self._relay(chat_id, sender, "/restart", language, show_replies=False)
            await self._say(chat_id, "start_over", language)
        elif command == "delete":
            await self._say(chat_id, "delete_question", language, with_buttons="delete_buttons")
        else:
            await self._say(chat_id, "unknown_command", language)

    # --- buttons -----------------------------------------------------------------------------------

    async def _acknowledge_tap(self, update: Update) -> None:
        """Answers the tap at once (Telegram shows a spinner until then) and leaves only the choice."""
        query = update.callback_query
        if query.data == CHOSEN:
            await query.answer(text(TEXTS, "already_chosen", self._language(update)))
            return
        await query.answer()
        title = self._title_of(query)
        if title and query.message:
            try:
                await query.edit_message_reply_markup(
                    InlineKeyboardMarkup([[InlineKeyboardButton(f"✓ {title}", callback_data=CHOSEN)]]))
            except BadRequest as error:  # e.g. the message is too old to edit
                log.info("Could not mark the choice: %s", error)

    @staticmethod
    def _title_of(query) -> Optional[str]:
        markup = getattr(query.message, "reply_markup", None)
        for row in (markup.inline_keyboard if markup else []):
            for button in row:
                if button.callback_data == query.data:
                    return button.text
        return None

    async def _on_tap(self, update: Update, sender: str, language: str) -> None:
        query, chat_id = update.callback_query, update.effective_chat.id
        data = query.data or ""
        if data == CHOSEN:
            return
        if data.startswith(GATEWAY_PREFIX):
            await self._on_gateway_button(chat_id, sender, data, language)
            return
        payload = self.keys.payload_for(data)
        if payload is None:
            # A key from before a restart: the button's title, sent as text, is understood by
            # the same NLU as typed answers.
            payload = self._title_of(query)
        if not payload:
            await self._say(chat_id, "button_expired", language)
            return
        await self._relay(chat_id, sender, payload, language)

    async def _on_gateway_button(self, chat_id: int, sender: str, data: str, language: str) -> None:
        if data == "gw:delete:yes":
            await self._relay(chat_id, sender, "/forget_me", language)  # Rasa's answer asks to delete
        elif data == "gw:delete:no":
            await self._say(chat_id, "delete_kept", language)

    # --- talking to Rasa and to the user --------------------------------------------------------

    async def _relay(self, chat_id: int, sender: str, text: str, language: str, show_replies: bool = True) -> None:
        typing = asyncio.create_task(self._keep_typing(chat_id))
        try:
            replies = await self.relay.deliver(sender, text, on_trouble=lambda: self._say(chat_id, "rasa_trouble", language),
                                               language=language, client=sender)  # a chat is its own client
        finally:
            typing.cancel()
        if replies is None:
            await self._say(chat_id, "rasa_gave_up", language)
        elif show_replies:
            await self._send(chat_id, messages_from_replies(replies))
        if replies and asks_to_forget(replies):
            await self._forget(chat_id, sender, language)

    async def _forget(self, chat_id: int, sender: str, language: str) -> None:
        """Deletes the conversation and the gateway's own traces of the chat, and says what was deleted."""
        confirmation = await self.forgetting.forget_and_confirm(sender, language)
        self.relay.forget(sender)
        await self.flood.forget(chat_id)
        self.groups_told.pop(chat_id, None)
        in_app = text(TEXTS, "delete_in_app", language)
        await self._send(chat_id, [OutgoingMessage(to_html(f"{confirmation}\n\n{in_app}"))])

    async def _keep_typing(self, chat_id: int) -> None:
        try:
            while True:
                await self.app.bot.send_chat_action(chat_id, ChatAction.TYPING)
                await asyncio.sleep(TYPING_EVERY_SECONDS)
        except TelegramError as error:
            log.info("Typing indicator failed: %s", type(error).__name__)

    async def _say(self, chat_id: int, name: str, language: str, with_buttons: str = "") -> None:
        """Sends one of the channel's own texts (content/telegram.yml, else content/gateway.yml)."""
        privacy_url = f"{self.settings.public_base}{privacy_path(language)}"
        said = text(TEXTS, name, language, privacy_url=privacy_url) if name in load(TEXTS) else gateway_text(name, language)
        keyboard = buttons(TEXTS, with_buttons, language) if with_buttons else []
        await self._send(chat_id, [OutgoingMessage(to_html(said), keyboard)])

    async def _send(self, chat_id: int, messages: List[OutgoingMessage]) -> None:
        for message in messages:
            markup = None
            if message.buttons:
                markup = InlineKeyboardMarkup([[InlineKeyboardButton(b["title"], callback_data=self.keys.data_for(b["payload"]))]
                                               for b in message.buttons])
            await self.app.bot.send_message(chat_id, message.html, parse_mode=ParseMode.HTML,
                                            reply_markup=markup, link_preview_options=NO_PREVIEW)
