"""Live chat with a counsellor through the real gateway app (aiohttp test server, SQLite) in
front of a small fake Rasa: the visitor's widget socket and the counsellor's console socket
side by side. Checked: the queue, the claim, messages both ways, Rasa never hearing the human
part, the end and the bot back, the anonymous feedback count, deletion removing the transcript."""

import asyncio
import re
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.handoff import said
from bot.passwords import hash_password
from core.booking_store import BookingStore
from core.content import service_details
from core.handoff_store import HandoffStore
from core.protocol import DELETE_MARKER, HANDOFF_MARKER
from core.settings import CounsellorPageSettings, HandoffSettings
from tests.conftest import gateway_in_process, next_event

SESSION = "handoff-in-process-0001"
PASSWORD = "et-langt-passord-for-test"
OPEN_WEDNESDAY = "2026-12-02T11:00:00+01:00"  # the chat is staffed Monday–Thursday 10–18


class FakeRasa:
    """A request for a person is answered as actions/handoff_request.py does, after a crisis's
    numbers and before a form's next question; everything else is echoed."""

    def __init__(self) -> None:
        self.heard = []
        self.answers_for_person = None  # what a request for a person gets (None: crisis first, then a form)
        self.app = web.Application()
        self.app.add_routes(
            [
                web.post("/webhooks/gateway/webhook", self.message),
                web.get("/conversations/{sender}/tracker", self.tracker),
            ]
        )

    async def message(self, request: web.Request) -> web.Response:
        text = (await request.json())["message"]
        self.heard.append(text)
        if text == "/forget_me":
            return web.json_response([{"text": "Slettet."}, {"custom": {DELETE_MARKER: True}}])
        if "person" in text and self.answers_for_person is not None:
            return web.json_response(self.answers_for_person)
        if "person" in text:
            request_ = {HANDOFF_MARKER: {"crisis": True, "topics": ["crisis_suicide", "faq/pep"]}}
            return web.json_response([{"text": "Ring 113 ved fare."}, {"custom": request_}, {"text": "Hvilken dag?"}])
        return web.json_response([{"text": f"svar: {text}"}])

    async def tracker(self, request: web.Request) -> web.Response:
        events = [
            {"event": "user", "text": "jeg har det vondt", "timestamp": 1.0},
            {"event": "bot", "text": "Takk for at du sier det.", "timestamp": 2.0, "data": {}},
        ]
        return web.json_response({"events": events})


def run(scenario, tmp_path: Path, clock: str = OPEN_WEDNESDAY):
    clock_file = tmp_path / "handoff_clock"
    clock_file.write_text(clock)

    async def main():
        rasa = FakeRasa()
        async with gateway_in_process(
            rasa.app,
            tmp_path,
            database_url=f"sqlite:///{tmp_path / 'bookings.db'}",
            counsellors=CounsellorPageSettings(user="kari", password_hash=hash_password(PASSWORD), secure_cookie=False),
            handoff=HandoffSettings(clock_file=clock_file, check_seconds=3600),
        ) as (client, settings):
            return await scenario(client, rasa, settings)

    return asyncio.run(main())


async def log_in(client: TestClient) -> None:
    form = await (await client.get("/radgiver/login")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    response = await client.post(
        "/radgiver/login", data={"user": "kari", "password": PASSWORD, "csrf": csrf}, allow_redirects=False
    )
    assert response.status == 303, await response.text()


def next_of(socket, wanted, timeout: float = 5):
    return next_event(socket, wanted, timeout)


async def available_console(client):
    """Kari logged in, her console open and marked available."""
    await log_in(client)
    console = await client.ws_connect("/radgiver/ws")
    await console.send_json({"type": "available", "on": True})
    await next_of(console, lambda e: e["type"] == "view" and e["available"])
    return console


async def visitor_asking(client, text: str = "en person takk"):
    """The visitor's widget socket, past hello, having asked for a person with `text`."""
    visitor = await client.ws_connect("/ws")
    await visitor.send_json({"type": "hello", "session": SESSION})
    await next_of(visitor, lambda e: e["type"] == "history")
    await visitor.send_json({"type": "message", "id": uuid.uuid4().hex, "text": text})
    return visitor


def texts_of(body) -> list:
    return [message["text"] for message in body["messages"]]


def test_a_visitor_talks_with_a_counsellor_and_rasa_never_hears_it(tmp_path):
    async def scenario(client, rasa, settings):
        await log_in(client)
        console = await client.ws_connect("/radgiver/ws")
        await next_of(console, lambda e: e["type"] == "view")
        await console.send_json({"type": "available", "on": True})
        await next_of(console, lambda e: e["type"] == "view" and e["available"])

        visitor = await client.ws_connect("/ws")
        await visitor.send_json({"type": "hello", "session": SESSION})
        await next_of(visitor, lambda e: e["type"] == "history")
        await visitor.send_json({"type": "message", "id": "m1", "text": "kan jeg snakke med en person nå?"})
        first = await next_of(visitor, lambda e: e["type"] == "message")
        queued = await next_of(visitor, lambda e: e["type"] == "message")
        view = await next_of(console, lambda e: e["type"] == "view" and e["queue"])

        item = view["queue"][0]
        await console.send_json({"type": "claim", "handoff": item["id"]})
        claimed = await next_of(visitor, lambda e: e["type"] == "message")
        chat_view = await next_of(console, lambda e: e["type"] == "view" and e["chats"])

        await visitor.send_json({"type": "message", "id": "m2", "text": "hei, er det noen der?"})
        seen = await next_of(
            console,
            lambda e: e["type"] == "view" and any(m["author"] == "visitor" for c in e["chats"] for m in c["live"]),
        )
        await console.send_json({"type": "send", "handoff": item["id"], "text": "Ja, jeg er her. Fortell."})
        answer = await next_of(visitor, lambda e: e["type"] == "message" and e["message"]["from"] == "counsellor")

        await console.send_json({"type": "end", "handoff": item["id"]})
        back = await next_of(visitor, lambda e: e["type"] == "message")
        question = await next_of(visitor, lambda e: e["type"] == "message")
        await visitor.send_json({"type": "button", "id": "m3", "payload": question["message"]["buttons"][0]["payload"]})
        thanks = await next_of(visitor, lambda e: e["type"] == "message")
        await visitor.send_json({"type": "message", "id": "m4", "text": "hva er pep?"})
        bot_again = await next_of(
            visitor,
            lambda e: e["type"] == "message" and e["message"]["from"] == "bot" and "svar:" in e["message"]["text"],
        )

        store = HandoffStore(BookingStore(settings.bookings_url).engine)
        await visitor.close()
        await console.close()
        return locals()

    seen = run(scenario, tmp_path)
    assert seen["first"]["message"]["text"] == "Ring 113 ved fare."  # the crisis's numbers first
    assert "nummer 1 i køen" in seen["queued"]["message"]["text"]
    assert "Hvilken dag?" not in seen["queued"]["message"]["text"]  # the form's question waits
    item = seen["item"]
    # kari is the environment's account, a supervisor: the queue's health, as numbers only
    assert seen["view"]["health"] == {
        "waiting": 1,
        "longest_wait_minutes": 0,
        "available": 1,
        "live": 0,
        "helpful": {},
    }
    assert item["crisis"] is True and item["channel"] == "web" and item["language"] == "nb"
    assert "jeg har det vondt" not in str(item)  # the queue shows no text
    assert seen["claimed"]["message"]["text"].startswith("Du snakker nå med en rådgiver")
    chat = seen["chat_view"]["chats"][0]
    assert [m["text"] for m in chat["bot_part"]] == ["jeg har det vondt", "Takk for at du sier det."]
    assert seen["answer"]["message"]["text"] == "Ja, jeg er her. Fortell."
    assert seen["back"]["message"]["text"] == said("ended_by_counsellor", "nb")
    assert seen["thanks"]["message"]["text"] == said("feedback_thanks", "nb")
    assert seen["bot_again"]["message"]["text"] == "svar: hva er pep?"
    # Rasa heard the request and the question after the chat; nothing of the human part
    assert seen["rasa"].heard == ["kan jeg snakke med en person nå?", "hva er pep?"]
    store = seen["store"]
    assert store.feedback_counts() == {"yes": 1}
    live = [m.text for m in store.transcript_of_sender(_sender(seen))]
    assert "hei, er det noen der?" in live and "Ja, jeg er her. Fortell." in live


def _sender(seen) -> str:
    with seen["store"].engine.connect() as connection:
        return connection.exec_driver_sql("SELECT sender_id FROM handoffs").scalar()


def test_deleting_the_conversation_mid_chat_removes_the_human_transcript(tmp_path):
    async def scenario(client, rasa, settings):
        console = await available_console(client)
        visitor = await visitor_asking(client)
        view = await next_of(console, lambda e: e["type"] == "view" and e["queue"])
        await console.send_json({"type": "claim", "handoff": view["queue"][0]["id"]})
        await next_of(console, lambda e: e["type"] == "view" and e["chats"])
        await visitor.send_json({"type": "message", "id": "m2", "text": "noe privat"})
        await next_of(
            console,
            lambda e: e["type"] == "view"
            and e["chats"]
            and e["chats"][0]["live"][-1:]
            and e["chats"][0]["live"][-1]["author"] == "visitor",
        )
        store = HandoffStore(BookingStore(settings.bookings_url).engine)
        before = len(store.transcript_of_sender(_sender({"store": store})))
        await visitor.send_json({"type": "message", "id": "m3", "text": "Slett samtalen!"})
        deleted = await next_of(visitor, lambda e: e["type"] == "deleted")
        after_view = await next_of(console, lambda e: e["type"] == "view" and not e["chats"])
        with store.engine.connect() as connection:
            left = connection.exec_driver_sql("SELECT COUNT(*) FROM handoff_messages").scalar()
            handoffs_left = connection.exec_driver_sql("SELECT COUNT(*) FROM handoffs").scalar()
        return before, deleted, after_view, left, handoffs_left, rasa.heard

    before, deleted, after_view, left, handoffs_left, heard = run(scenario, tmp_path)
    assert before >= 2
    assert (left, handoffs_left) == (0, 0)
    assert after_view["chats"] == []
    assert "noe privat" not in heard and "Slett samtalen!" not in heard


def test_outside_the_chat_hours_the_visitor_hears_when_it_opens_with_public_holidays_counted(tmp_path):
    async def scenario(client, rasa, settings):
        response = await client.post(
            "/api/v1/messages", json={"session": SESSION, "text": "kan jeg snakke med en person?"}
        )
        return await response.json()

    # Maundy Thursday 2027 (a public holiday from the holidays library), Easter Monday after it
    body = run(scenario, tmp_path, clock="2027-03-25T11:00:00+01:00")
    closed = texts_of(body)[-1]
    assert "tirsdag 30. mars kl. 10:00" in closed
    assert service_details()["service_phone"] in closed
    assert body["messages"][-1]["buttons"][0]["payload"] == "/book_counsellor"


def test_when_nobody_is_available_the_visitor_is_offered_a_booking_and_the_phone(tmp_path):
    async def scenario(client, rasa, settings):
        response = await client.post("/api/v1/messages", json={"session": SESSION, "text": "en person takk"})
        return await response.json()

    body = run(scenario, tmp_path)
    assert texts_of(body)[-1] == said("nobody_free", "nb")


def test_while_waiting_a_crisis_gets_the_numbers_first_numbers_are_masked_and_avbryt_leaves(tmp_path):
    async def scenario(client, rasa, settings):
        console = await available_console(client)
        rasa_request = {HANDOFF_MARKER: {"crisis": False, "topics": ["faq/test_where"]}}
        rasa.answers_for_person = [{"custom": rasa_request}]
        visitor = await visitor_asking(client)
        await next_of(visitor, lambda e: e["type"] == "message" and "i køen" in e["message"]["text"])
        await next_of(console, lambda e: e["type"] == "view" and e["queue"] and not e["queue"][0]["crisis"])
        await visitor.send_json({"type": "message", "id": "m2", "text": "jeg orker ikke mer, jeg vil ta livet mitt"})
        numbers = await next_of(visitor, lambda e: e["type"] == "message")
        urgent = await next_of(console, lambda e: e["type"] == "view" and e["queue"] and e["queue"][0]["crisis"])
        await visitor.send_json({"type": "message", "id": "m3", "text": "ring meg på 412 34 567"})
        masked = await next_of(visitor, lambda e: e["type"] == "message")
        await visitor.send_json({"type": "message", "id": "m4", "text": "Avbryt"})
        left = await next_of(visitor, lambda e: e["type"] == "message")
        emptied = await next_of(console, lambda e: e["type"] == "view" and not e["queue"])
        store = HandoffStore(BookingStore(settings.bookings_url).engine)
        stored = [m.text for m in store.transcript_of_sender(_sender({"store": store}))]
        await visitor.close()
        await console.close()
        return numbers, urgent, masked, left, emptied, stored, rasa.heard

    numbers, urgent, masked, left, emptied, stored, heard = run(scenario, tmp_path)
    assert numbers["message"]["text"] == said("crisis_while_waiting", "nb")
    assert "113" in numbers["message"]["text"]
    assert urgent["queue"][0]["crisis"] is True
    assert "fjernet" in masked["message"]["text"]
    assert "ring meg på [telefonnummer]" in stored and not any("412 34 567" in text for text in stored)
    assert left["message"]["text"] == said("left_queue", "nb")
    assert heard == ["en person takk"]  # nothing said in the queue reached Rasa


async def claimed_chat(client):
    """A counsellor available and a visitor whose chat the counsellor has taken: (console, visitor)."""
    console = await available_console(client)
    visitor = await visitor_asking(client)
    view = await next_of(console, lambda e: e["type"] == "view" and e["queue"])
    await console.send_json({"type": "claim", "handoff": view["queue"][0]["id"]})
    await next_of(visitor, lambda e: e["type"] == "message" and "Du snakker nå" in e["message"]["text"])
    return console, visitor


def test_starting_over_mid_chat_ends_it_and_a_confirmed_delete_payload_deletes(tmp_path):
    async def scenario(client, rasa, settings):
        console, visitor = await claimed_chat(client)
        await visitor.send_json({"type": "restart"})
        ended = await next_of(console, lambda e: e["type"] == "view" and not e["chats"])
        await next_of(visitor, lambda e: e["type"] == "history")
        heard_after_restart = list(rasa.heard)
        await console.close()
        await visitor.close()
        console, visitor = await claimed_chat(client)
        await visitor.send_json({"type": "message", "id": "del", "text": "/forget_me"})  # Telegram's "Ja, slett"
        deleted = await next_of(visitor, lambda e: e["type"] == "deleted")
        store = HandoffStore(BookingStore(settings.bookings_url).engine)
        with store.engine.connect() as connection:
            left = connection.exec_driver_sql("SELECT COUNT(*) FROM handoffs").scalar()
        await console.close()
        await visitor.close()
        return ended, heard_after_restart, deleted, left, rasa.heard

    ended, heard_after_restart, deleted, left, heard = run(scenario, tmp_path)
    assert ended["chats"] == []
    assert heard_after_restart[-1] == "/restart"
    assert left == 0 and heard[-1] == "/forget_me"  # Rasa is told to forget, nothing more


def test_two_counsellors_pressing_ta_samtalen_together_one_gets_it_and_the_other_is_told(tmp_path):
    async def scenario(client, rasa, settings):
        from core.counsellor_accounts import CounsellorAccounts

        CounsellorAccounts(BookingStore(settings.bookings_url).engine).save("ola", hash_password(PASSWORD))
        consoles = []
        for name in ("kari", "ola"):
            session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            base = str(client.make_url(""))
            form = await (await session.get(f"{base}/radgiver/login")).text()
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            await session.post(f"{base}/radgiver/login", data={"user": name, "password": PASSWORD, "csrf": csrf})
            console = await session.ws_connect(f"{base.replace('http', 'ws', 1)}/radgiver/ws")
            await console.send_json({"type": "available", "on": True})
            await next_of(console, lambda e: e["type"] == "view" and e["available"])
            consoles.append((session, console))
        visitor = await visitor_asking(client)
        views = [await next_of(console, lambda e: e["type"] == "view" and e["queue"]) for _, console in consoles]
        handoff = views[0]["queue"][0]["id"]
        await asyncio.gather(*(console.send_json({"type": "claim", "handoff": handoff}) for _, console in consoles))
        outcomes = []
        for _, console in consoles:
            event = await next_of(
                console, lambda e: e["type"] == "claim_failed" or (e["type"] == "view" and e["chats"])
            )
            outcomes.append(event["type"])
        for session, console in consoles:
            await console.close()
            await session.close()
        await visitor.close()
        return outcomes, views

    outcomes, views = run(scenario, tmp_path)
    assert sorted(outcomes) == ["claim_failed", "view"]
    assert "health" in views[0] and "health" not in views[1]  # only supervisors see the queue's health


def test_closing_the_console_or_logging_out_makes_the_counsellor_unavailable_and_the_limit_holds(tmp_path):
    async def scenario(client, rasa, settings):
        from core.counsellor_accounts import CounsellorAccounts

        accounts = CounsellorAccounts(BookingStore(settings.bookings_url).engine)
        console = await available_console(client)
        seen_available = [a.name for a in accounts.available_now()]
        await console.close()
        for _ in range(50):  # the gateway notices the closed socket
            if not accounts.available_now():
                break
            await asyncio.sleep(0.05)
        after_close = [a.name for a in accounts.available_now()]

        # the limit per account: kari (2 chats) cannot take a third
        console = await available_console(client)
        store = HandoffStore(BookingStore(settings.bookings_url).engine)
        waiting = [store.request(f"visitor-{n}", "web", "nb", False, []) for n in range(3)]
        outcomes = []
        for handoff in waiting:
            await console.send_json({"type": "claim", "handoff": handoff.id})
            event = await next_of(
                console,
                lambda e, h=handoff: e["type"] == "claim_failed"
                or (e["type"] == "view" and any(c["id"] == h.id for c in e["chats"])),
            )
            outcomes.append(event["type"])

        # logging out (the page's form) also makes her unavailable
        page = await (await client.get("/radgiver/")).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        await client.post("/radgiver/logout", data={"csrf": csrf})
        after_logout = [a.name for a in accounts.available_now()]
        await console.close()
        return seen_available, after_close, outcomes, after_logout

    seen_available, after_close, outcomes, after_logout = run(scenario, tmp_path)
    assert seen_available == ["kari"] and after_close == []
    assert outcomes == ["view", "view", "claim_failed"]
    assert after_logout == []


def test_an_old_bot_button_tapped_mid_chat_is_explained_and_never_shown_to_the_counsellor(tmp_path):
    async def scenario(client, rasa, settings):
        console, visitor = await claimed_chat(client)
        await visitor.send_json({"type": "button", "id": uuid.uuid4().hex, "payload": "/book_counsellor"})
        explained = await next_of(visitor, lambda e: e["type"] == "message")
        await visitor.send_json({"type": "button", "id": uuid.uuid4().hex, "payload": "/talk_to_human"})
        already = await next_of(visitor, lambda e: e["type"] == "message")
        store = HandoffStore(BookingStore(settings.bookings_url).engine)
        stored = [m.text for m in store.transcript_of_sender(_sender({"store": store}))]
        await console.close()
        await visitor.close()
        return explained, already, stored, rasa.heard

    explained, already, stored, heard = run(scenario, tmp_path)
    assert explained["message"]["text"] == said("button_in_chat", "nb")
    assert already["message"]["text"] == said("already_talking", "nb")
    assert not any(text.startswith("/") for text in stored)
    assert "/book_counsellor" not in heard
