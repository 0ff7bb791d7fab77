"""The Telegram channel end to end: the real gateway (python-telegram-bot), Rasa server and action
server, against the local fake Bot API server in tests/fake_telegram.py."""

import dataclasses
import hashlib
import hmac
import random
import sqlite3
import time

import pytest
import requests
import yaml

from ops.processes import start_gateway, stop, wait_for_gateway
from tests.conftest import ROOT, free_port, reference_and_pin
from tests.fake_telegram import FakeTelegram

SERVICE = yaml.safe_load((ROOT / "content" / "service.yml").read_text())
SENDER_SECRET = "test-sender-secret-not-for-production"
WEBHOOK_SECRET = "webhook-secret_123"


def gateway_env(fake: FakeTelegram, **extra) -> dict:
    return dict(
        TELEGRAM_TOKEN=fake.token,
        TELEGRAM_API_URL=fake.api_url,
        TELEGRAM_POLL_TIMEOUT="1",
        SENDER_ID_SECRET=SENDER_SECRET,
        RASA_SLOW_SECONDS="3",
        RASA_RETRY_MAX_DELAY="2",
        FLOOD_MESSAGES="8",
        FLOOD_WINDOW_SECONDS="10",
        **extra,
    )


@pytest.fixture(scope="module")
def fake(stack):
    server = FakeTelegram().start()
    settings = dataclasses.replace(stack.settings, gateway_port=free_port())
    gateway = start_gateway(settings, "gateway-telegram.log", **gateway_env(server))
    try:
        wait_for_gateway(settings, gateway)
        server.wait_for(lambda: server.calls_of("getUpdates"), 60, "polling to start")
        yield server
    finally:
        stop([gateway])
        server.stop()


@pytest.fixture(scope="module")
def webhook(stack):
    server = FakeTelegram().start()
    settings = dataclasses.replace(stack.settings, gateway_port=free_port())
    env = gateway_env(
        server, TELEGRAM_WEBHOOK_URL="https://bot.example.no/telegram/hook", TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET
    )
    gateway = start_gateway(settings, "gateway-webhook.log", **env)
    try:
        wait_for_gateway(settings, gateway)
        server.wait_for(lambda: server.webhook, 60, "the webhook to be set")
        yield server, f"{settings.gateway_url}/telegram/hook"
    finally:
        stop([gateway])
        server.stop()


def new_chat() -> int:
    return random.randint(10**8, 10**10)


def sender_of(chat_id: int) -> str:
    digest = hmac.new(SENDER_SECRET.encode(), f"telegram:{chat_id}".encode(), hashlib.sha256)
    return f"telegram-{digest.hexdigest()[:32]}"


def tracker_events(stack, chat) -> int:
    with sqlite3.connect(stack.settings.tracker_db) as db:
        return db.execute("select count(*) from events where sender_id = ?", (sender_of(chat),)).fetchone()[0]


def converse(fake, chat_id, text, expect=1, **content):
    """Sends a message and returns the bot messages that came for it."""
    before = len(fake.sent_to(chat_id))
    fake.message(chat_id, text, **content)
    return fake.wait_for_messages(chat_id, before + expect)[before:]


def tap(fake, chat_id, message, title_part, expect=1):
    before = len(fake.sent_to(chat_id))
    button = next(b for row in message["reply_markup"]["inline_keyboard"] for b in row if title_part in b["text"])
    fake.tap(chat_id, message, button["callback_data"])
    return fake.wait_for_messages(chat_id, before + expect)[before:]


def with_keyboard(messages):
    return next(m for m in messages if m.get("reply_markup"))


def test_commands_are_registered_in_norwegian(fake):
    assert [c["command"] for c in fake.commands] == ["start", "hjelp", "ny", "slett"]
    assert all(c["description"] for c in fake.commands)


def test_start_says_it_is_a_bot_with_the_privacy_notice_and_how_to_delete(fake):
    [welcome] = converse(fake, new_chat(), "/start")
    assert "chatbot" in welcome["text"] and SERVICE["service_name"] in welcome["text"]
    assert "Personvern" in welcome["text"] and "/slett" in welcome["text"]
    assert "<b>Personvern:</b>" in welcome["html"]
    assert '/personvern">Les mer om personvern</a>' in welcome["html"]


def test_faq_answer_arrives_as_one_html_message_after_a_typing_indicator(fake):
    chat = new_chat()
    [answer] = converse(fake, chat, "hvor kan jeg teste meg for klamydia?")
    assert "fastlege" in answer["text"] and SERVICE["service_address"] in answer["text"]
    assert any(
        c["params"].get("action") == "typing" and int(c["params"]["chat_id"]) == chat
        for c in fake.calls_of("sendChatAction")
    )


def test_rasa_sees_only_a_keyed_hash_never_the_telegram_identity(stack, fake):
    chat = new_chat()
    converse(fake, chat, "hei, jeg heter ikke noe her")
    with sqlite3.connect(stack.settings.tracker_db) as db:
        senders = {row[0] for row in db.execute("select distinct sender_id from events")}
        stored = " ".join(
            row[0] or "" for row in db.execute("select data from events where sender_id = ?", (sender_of(chat),))
        )
    assert sender_of(chat) in senders
    assert not any(str(chat) in sender for sender in senders)
    assert stored and str(chat) not in stored and f"kari_{chat}" not in stored and "Nordmann" not in stored


def test_a_crisis_gets_the_emergency_numbers_first(fake):
    messages = converse(fake, new_chat(), "jeg orker ikke mer, jeg vil ta livet mitt")
    text = messages[0]["text"]
    assert "113" in text and "116 123" in text
    assert text.index("113") < text.index("116 123") or "113" in text[:200]


def test_booking_a_chat_conversation_with_button_taps(stack, fake):
    from core.booking_store import BookingStore

    chat = new_chat()
    asked = with_keyboard(converse(fake, chat, "jeg vil bestille en samtale med en rådgiver"))
    offered = with_keyboard(tap(fake, chat, asked, "hat"))  # "Chat"
    slot_row = offered["reply_markup"]["inline_keyboard"][0][0]
    summary = with_keyboard(tap(fake, chat, offered, slot_row["text"]))
    assert "Stemmer dette?" in summary["text"]
    booked = tap(fake, chat, summary, "Ja")
    reference, _ = reference_and_pin(booked[-1]["text"])
    store = BookingStore(f"sqlite:///{stack.settings.var_dir / 'bookings.db'}")
    stored = store.find(reference)
    assert stored.channel == "chat" and stored.sender_id == sender_of(chat)
    assert len(fake.calls_of("answerCallbackQuery")) >= 3

    deleted = converse(fake, chat, "slett samtalen min", expect=2)  # typed, not the command
    assert "Bestillingen din er ikke lenger koblet" in deleted[-1]["text"]
    assert store.find(reference).sender_id is None and store.find(reference).status == "booked"
    assert tracker_events(stack, chat) == 0


def test_a_tap_shows_the_choice_and_a_second_tap_is_not_sent_again(fake):
    chat = new_chat()
    asked = with_keyboard(converse(fake, chat, "jeg vil bestille en samtale"))
    title = asked["reply_markup"]["inline_keyboard"][0][0]["text"]
    tap(fake, chat, asked, title)
    edited = next(m for m in fake.sent_to(chat) if m["message_id"] == asked["message_id"])
    [[choice]] = edited["reply_markup"]["inline_keyboard"]
    assert choice["text"] == f"✓ {title}"
    before = len(fake.sent_to(chat))
    fake.tap(chat, edited, choice["callback_data"])
    time.sleep(2)
    assert len(fake.sent_to(chat)) == before


def test_an_old_keyboard_from_before_a_restart_still_works_by_its_title(fake):
    chat = new_chat()
    converse(fake, chat, "hei")
    old = {
        "message_id": 1,
        "date": int(time.time()) - 86400,
        "chat": {"id": chat, "type": "private"},
        "text": "Hvordan vil du snakke med oss?",
        "reply_markup": {
            "inline_keyboard": [[{"text": "Bestill en samtale", "callback_data": "k:ffffffffffffffffffffffff"}]]
        },
    }
    fake.tap(chat, old, "k:ffffffffffffffffffffffff")
    reply = fake.wait_for_messages(chat, 2)[-1]
    assert reply.get("reply_markup")  # the booking form asks how to talk, with buttons


def test_slett_asks_first_then_deletes_the_conversation_from_storage(stack, fake):
    chat = new_chat()
    converse(fake, chat, "hvor lenge tar det å få svar på en hiv-test")
    [question] = converse(fake, chat, "/slett")
    assert "slette samtalen" in question["text"] and tracker_events(stack, chat) > 0
    done = tap(fake, chat, question, "Ja", expect=2)
    assert "sletter" in done[0]["text"]
    assert "slettet fra våre servere" in done[-1]["text"] and "Slett chat" in done[-1]["text"]
    assert tracker_events(stack, chat) == 0
    assert "chatbot" in converse(fake, chat, "hei")[0]["text"]  # a new conversation starts


def test_slett_can_be_regretted(fake):
    chat = new_chat()
    [question] = converse(fake, chat, "/slett")
    [kept] = tap(fake, chat, question, "Nei")
    assert "ikke slettet" in kept["text"]


@pytest.mark.parametrize(
    "content",
    [
        {
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "u1",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        },
        {"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]},
        {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 3}},
        {"document": {"file_id": "d1", "file_unique_id": "u4", "file_name": "prøvesvar.pdf"}},
        {"location": {"latitude": 59.91, "longitude": 10.75}},
        {"contact": {"phone_number": "+4791234567", "first_name": "Ola"}},
    ],
    ids=["sticker", "photo", "voice", "document", "location", "contact"],
)
def test_anything_but_text_gets_a_kind_answer_and_is_never_downloaded(fake, content):
    [reply] = converse(fake, new_chat(), None, **content)
    assert "bare lese tekst" in reply["text"]
    assert not fake.calls_of("getFile")


def test_emoji_only_and_edited_messages_get_a_kind_answer(fake):
    chat = new_chat()
    assert "bare ord" in converse(fake, chat, "😀😀🙏")[0]["text"]
    before = len(fake.sent_to(chat))
    fake.message(chat, "endret tekst", kind="edited_message")
    assert "endringer" in fake.wait_for_messages(chat, before + 1)[-1]["text"]


def test_very_long_text_is_answered(fake):
    [reply] = converse(fake, new_chat(), ("jeg lurer på om jeg bør teste meg for klamydia " * 90)[:4000])
    assert reply["text"]


def test_in_a_group_it_only_says_it_works_in_private_chats_once(stack, fake):
    group = -new_chat()
    [reply] = converse(fake, group, "hei bot, hvor kan jeg teste meg?", chat_type="group")
    assert "private samtaler" in reply["text"]
    fake.message(group, "hallo?", chat_type="group")
    time.sleep(2)
    assert len(fake.sent_to(group)) == 1
    with sqlite3.connect(stack.settings.tracker_db) as db:
        assert not db.execute("select 1 from events where sender_id = ?", (sender_of(group),)).fetchone()


def test_channel_posts_are_ignored_and_the_bot_keeps_working(fake):
    fake.message(-new_chat(), "kanalinnlegg", chat_type="channel", kind="channel_post")
    chat = new_chat()
    assert converse(fake, chat, "/hjelp")[0]["text"]


def test_a_flood_gets_one_warning_and_the_rest_is_dropped(fake):
    chat = new_chat()
    for number in range(15):
        fake.message(chat, f"melding nummer {number} om testing")
    fake.wait_for(lambda: any("mange meldinger" in m["text"] for m in fake.sent_to(chat)), 60, "the flood warning")
    time.sleep(8)  # let the accepted ones be answered
    sent = fake.sent_to(chat)
    assert sum("mange meldinger" in m["text"] for m in sent) == 1
    assert len(sent) <= 8 + 1


def test_a_429_from_telegram_is_waited_out_and_the_message_still_arrives(fake):
    chat = new_chat()
    fake.message(chat, "/hjelp")
    fake.fail_next("sendMessage", 1)
    [reply] = fake.wait_for_messages(chat, 1)
    assert "/slett" in reply["text"]
    attempts = [c for c in fake.calls_of("sendMessage") if int(c["params"]["chat_id"]) == chat]
    assert len(attempts) == 2 and attempts[1]["at"] - attempts[0]["at"] >= 1.0


def test_webhook_refuses_a_wrong_or_missing_secret_and_nothing_reaches_rasa(stack, webhook):
    server, url = webhook
    assert server.webhook["url"] == "https://bot.example.no/telegram/hook"
    assert server.webhook["secret_token"] == WEBHOOK_SECRET
    chat = new_chat()
    update = server.message(chat, "hei")
    server.updates.clear()  # delivered by posting to the webhook below, not by polling
    assert requests.post(url, json=update, timeout=10).status_code == 403
    assert (
        requests.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}, timeout=10).status_code
        == 403
    )
    time.sleep(1)
    assert not server.sent_to(chat)
    with sqlite3.connect(stack.settings.tracker_db) as db:
        assert not db.execute("select 1 from events where sender_id = ?", (sender_of(chat),)).fetchone()

    ok = requests.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}, timeout=10)
    assert ok.status_code == 200
    assert "chatbot" in server.wait_for_messages(chat, 1)[0]["text"]
    bad = requests.post(
        url, data=b"\xff\xfe not json", headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}, timeout=10
    )
    assert bad.status_code == 400


def test_rasa_stopped_mid_conversation_the_user_gets_an_apology_and_the_answer_later(stack, fake):
    """Last in this file: it stops the session's Rasa server and starts it again."""
    chat = new_chat()
    converse(fake, chat, "hei")
    stack.stop_rasa()
    try:
        fake.message(chat, "hvor kan jeg teste meg for gonoré?")
        apology = fake.wait_for_messages(chat, 2, timeout=30)[-1]
        assert "Beklager" in apology["text"] and SERVICE["service_phone"] in apology["text"]
    finally:
        stack.start_rasa()
    answer = fake.wait_for_messages(chat, 3, timeout=60)
    assert len(answer) == 3 and "fastlege" in answer[-1]["text"]
