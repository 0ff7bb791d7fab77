"""Live chat with a counsellor from Telegram: the real gateway with python-telegram-bot against
the local fake Bot API, the counsellor on the same gateway's console socket, and Rasa's
tracker store checked for the human part."""

import asyncio
import dataclasses
import sqlite3

import aiohttp
import pytest

from ops.processes import start_gateway, stop, wait_for_gateway
from tests.conftest import console_socket, free_port, next_event
from tests.fake_telegram import FakeTelegram
from tests.test_telegram import gateway_env, new_chat, sender_of


@pytest.fixture(scope="module")
def telegram_gateway(stack):
    server = FakeTelegram().start()
    settings = dataclasses.replace(stack.settings, gateway_port=free_port())
    gateway = start_gateway(settings, "gateway-telegram-live.log", **gateway_env(server))
    try:
        wait_for_gateway(settings, gateway)
        server.wait_for(lambda: server.calls_of("getUpdates"), 60, "polling to start")
        yield server, settings
    finally:
        stop([gateway])
        server.stop()


async def next_view(socket, wanted, timeout: float = 30):
    return await next_event(socket, lambda event: event.get("type") == "view" and wanted(event), timeout)


def events_of(stack, chat) -> list:
    with sqlite3.connect(stack.settings.tracker_db) as db:
        return [row[0] for row in db.execute("select data from events where sender_id = ?", (sender_of(chat),))]


def test_a_telegram_user_talks_with_a_counsellor_in_the_same_chat(stack, telegram_gateway):
    fake, settings = telegram_gateway
    chat = new_chat()

    async def scenario():
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            console = await console_socket(client, settings.gateway_url)
            await console.send_json({"type": "available", "on": True})
            await next_view(console, lambda view: view["available"])
            fake.message(chat, "kan jeg snakke med et menneske nå?")
            queued = await asyncio.to_thread(
                fake.wait_for, lambda: [m for m in fake.sent_to(chat) if "i køen" in m["text"]], 60
            )
            view = await next_view(console, lambda view: any(item["channel"] == "telegram" for item in view["queue"]))
            item = next(item for item in view["queue"] if item["channel"] == "telegram")
            await console.send_json({"type": "claim", "handoff": item["id"]})
            await next_view(console, lambda view: view["chats"])
            await console.send_json({"type": "send", "handoff": item["id"], "text": "Hei, jeg er rådgiver <her>."})
            said = await asyncio.to_thread(
                fake.wait_for, lambda: [m for m in fake.sent_to(chat) if "jeg er rådgiver" in m["text"]], 10
            )
            events_before = len(events_of(stack, chat))
            fake.message(chat, "hei, jeg har et spørsmål om hiv")
            heard = await next_view(
                console,
                lambda view: view["chats"]
                and view["chats"][0]["live"]
                and view["chats"][0]["live"][-1]["author"] == "visitor",
            )
            fake.message(chat, "avslutt")
            back = await asyncio.to_thread(
                fake.wait_for, lambda: [m for m in fake.sent_to(chat) if "chatboten som svarer igjen" in m["text"]], 10
            )
            await next_view(console, lambda view: not view["chats"])
            await console.close()
            return queued, said, heard, back, events_before

    queued, said, heard, back, events_before = asyncio.run(scenario())
    assert "nummer" in queued[0]["text"]
    # the fake Bot API refuses HTML it cannot parse, so "<her>" arrived escaped and shows as typed
    assert said[0]["text"] == "Rådgiver: Hei, jeg er rådgiver <her>."
    assert heard["chats"][0]["live"][-1]["text"] == "hei, jeg har et spørsmål om hiv"
    assert any(message.get("reply_markup") for message in fake.sent_to(chat)[-2:])  # "Var samtalen til hjelp?"
    stored = events_of(stack, chat)
    assert len(stored) == events_before  # nothing of the human part reached Rasa
    assert not any("spørsmål om hiv" in data for data in stored)
