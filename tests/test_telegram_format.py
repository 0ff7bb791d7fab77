"""Rendering Rasa's replies for Telegram, and the gateway's small helpers (no servers needed)."""

import asyncio

from bot.channels.telegram_format import MAX_TEXT, CallbackKeys, messages_from_replies, split_paragraphs, to_html
from bot.chat_queues import ChatQueues
from bot.flood_guard import FloodGuard, Verdict
from bot.pseudonyms import Pseudonyms
from tests.fake_telegram import visible_text


def test_user_visible_text_is_escaped_and_markup_becomes_telegram_html():
    rendered = to_html('**Viktig:** <script>alert("x")</script> & mer på [nettsiden](https://example.no/?a=1&b=2)')
    assert rendered.startswith("<b>Viktig:</b> &lt;script&gt;")
    assert '<a href="https://example.no/?a=1&amp;b=2">nettsiden</a>' in rendered
    assert visible_text(rendered).startswith('Viktig: <script>alert("x")</script> & mer')


def test_long_text_is_split_at_paragraphs_within_the_limit():
    paragraphs = [("avsnitt %d " % n) * 60 for n in range(20)]
    pieces = split_paragraphs("\n\n".join(paragraphs))
    assert len(pieces) > 1 and all(len(piece) <= MAX_TEXT for piece in pieces)
    assert "\n\n".join(pieces) == "\n\n".join(paragraphs)
    assert all(piece.startswith("avsnitt") for piece in pieces)


def test_a_single_huge_paragraph_is_split_at_spaces():
    pieces = split_paragraphs("ord " * 3000)
    assert all(len(piece) <= MAX_TEXT for piece in pieces) and len(pieces) == 3


def test_rasa_paragraphs_are_packed_and_buttons_close_a_message():
    replies = [
        {"text": "Første avsnitt."},
        {"text": "Andre avsnitt."},
        {"text": "Vil du bestille?", "buttons": [{"title": "Ja", "payload": "/affirm"}]},
        {"text": "Etterpå."},
        {"image": "https://example.no/bilde.png"},
    ]
    messages = messages_from_replies(replies)
    assert [m.html for m in messages] == ["Første avsnitt.\n\nAndre avsnitt.\n\nVil du bestille?", "Etterpå."]
    assert messages[0].buttons == [{"title": "Ja", "payload": "/affirm"}] and not messages[1].buttons


def test_long_payloads_get_short_keys_and_forgotten_keys_are_none():
    keys = CallbackKeys(capacity=2)
    long_payload = '/inform{"booking_slot": "2026-12-01T10:00:00+01:00", "extra": "more than sixty-four bytes"}'
    assert keys.data_for("/affirm") == "/affirm"
    key = keys.data_for(long_payload)
    assert len(key.encode()) <= 64 and keys.payload_for(key) == long_payload
    keys.data_for(long_payload + "1"), keys.data_for(long_payload + "2")
    assert keys.payload_for(key) is None


def test_flood_guard_warns_once_then_drops_until_the_window_has_room():
    guard = FloodGuard(limit=3, window=10)
    verdicts = [guard.check("chat", now=t) for t in (0, 1, 2, 3, 4)]
    assert verdicts == [Verdict.ACCEPT] * 3 + [Verdict.WARN, Verdict.DROP]
    assert guard.check("chat", now=10.5) is Verdict.ACCEPT
    assert guard.check("other", now=4) is Verdict.ACCEPT


def test_flood_guard_forgets_idle_chats():
    guard = FloodGuard(limit=3, window=10)
    guard.check("chat", now=0)
    guard.check("other", now=25)
    assert "chat" not in guard._seen and "other" in guard._seen


def test_one_chats_jobs_run_in_order_while_chats_run_side_by_side():
    order = []

    async def job(chat, number, pause):
        await asyncio.sleep(pause)
        order.append((chat, number))

    async def main():
        queues = ChatQueues()
        for number, pause in enumerate([0.05, 0.0, 0.02]):
            queues.put("a", lambda n=number, p=pause: job("a", n, p))
        queues.put("b", lambda: job("b", 0, 0.0))
        await queues.drain()

    asyncio.run(main())
    assert [n for chat, n in order if chat == "a"] == [0, 1, 2]
    assert order[0] == ("b", 0)


def test_sender_ids_are_stable_keyed_and_reveal_nothing():
    one, other = Pseudonyms(b"key-1"), Pseudonyms(b"key-2")
    assert one.sender_id("telegram", 12345) == one.sender_id("telegram", 12345)
    assert one.sender_id("telegram", 12345) != other.sender_id("telegram", 12345)
    assert "12345" not in one.sender_id("telegram", 12345)
