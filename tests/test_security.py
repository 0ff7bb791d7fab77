"""Hostile use of the running product: booking codes as keys, internal services, logs, files.

All against the real stack (action server, Rasa, gateway) started once for the session.
"""

import json
import re
import uuid
from pathlib import Path

import pytest
import requests

from bot.rasa_client import webhook_url
from services.internal_secrets import ACTION_HEADER, GATEWAY_HEADER
from tests.conftest import post_to_rasa, reference_and_pin

CHAT = {}  # the gateway these tests chat through: their own, so no other test's flood of 127.0.0.1 counts


@pytest.fixture(scope="module", autouse=True)
def chat_gateway(stack):
    import dataclasses

    from ops.processes import start_gateway, stop, wait_for_gateway
    from tests.conftest import free_port

    settings = dataclasses.replace(stack.settings, gateway_port=free_port())
    gateway = start_gateway(
        settings,
        "gateway-security.log",
        WEB_ADDRESS_MESSAGES="100000",
        WEB_ADDRESS_REQUESTS="100000",
        WEB_SOCKETS_PER_ADDRESS="1000",
    )
    try:
        wait_for_gateway(settings, gateway)
        CHAT["url"] = settings.gateway_url
        yield settings
    finally:
        stop([gateway])


def api(stack, session, text):
    response = requests.post(
        f"{CHAT['url']}/api/v1/messages",
        json={"session": session, "text": text},
        headers={"Origin": CHAT["url"]},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return " ".join(m["text"] for m in response.json()["messages"])


def api_replies(stack, session, text):
    response = requests.post(
        f"{CHAT['url']}/api/v1/messages",
        json={"session": session, "text": text},
        headers={"Origin": CHAT["url"]},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def new_session() -> str:
    return uuid.uuid4().hex


def book_a_phone_call(stack, session, number="912 34 567"):
    offered = api_replies(stack, session, "kan dere ringe meg")
    slot = next(b["payload"] for m in offered for b in m["buttons"] if "booking_slot" in b["payload"])
    api(stack, session, slot)
    api(stack, session, number)
    return reference_and_pin(api(stack, session, "/affirm"))


def bookings(stack):
    from core.booking_store import BookingStore

    return BookingStore(f"sqlite:///{stack.settings.var_dir / 'bookings.db'}")


# --- a booking code is not a key --------------------------------------------------------------------


def test_a_reference_alone_opens_nobody_elses_booking(stack):
    reference, pin = book_a_phone_call(stack, new_session(), "913 57 246")
    attacker = new_session()
    asked = api(stack, attacker, f"jeg vil flytte timen min {reference}")
    assert "PIN" in asked and "913" not in asked and "57 246" not in asked
    wrong = api(stack, attacker, "1234" if pin != "1234" else "4321")
    assert "passer ikke" in wrong
    # An unknown reference gets word for word the same answers
    stranger = new_session()
    api(stack, stranger, "jeg vil flytte timen min ACDE-FH7K")
    assert api(stack, stranger, "1234") == wrong

    cancelling = new_session()
    api(stack, cancelling, f"avbestille {reference}")
    refused = api(stack, cancelling, "0000" if pin != "0000" else "9999")
    assert "passer ikke" in refused and "avbestilt" not in api(stack, cancelling, "ja")
    stored = bookings(stack).find(reference)
    assert stored.status == "booked" and stored.phone == "+47 91 35 72 46"

    # With the PIN, the owner (in a new conversation) may move it, and sees the number masked
    owner = new_session()
    api(stack, owner, f"jeg vil flytte timen min {reference}")
    offered = api_replies(stack, owner, pin)
    slot = next(b["payload"] for m in offered for b in m["buttons"] if "booking_slot" in b["payload"])
    summary = api(stack, owner, slot)
    assert "Stemmer dette?" in summary and "+47 •• •• 72 46" in summary and "91 35" not in summary
    assert "flyttet" in api(stack, owner, "/affirm")


def test_one_active_booking_per_conversation(stack):
    session = new_session()
    book_a_phone_call(stack, session)
    again = api(stack, session, "jeg vil bestille en time til")
    assert "allerede en time" in again and "Stemmer dette?" not in again


# --- internal services -----------------------------------------------------------------------------


def test_rasa_takes_messages_only_from_the_gateway(stack):
    url = webhook_url(stack.settings.rasa_url)
    body = {"sender": uuid.uuid4().hex, "message": "hei"}
    assert requests.post(url, json=body, timeout=30).status_code == 403
    assert requests.post(url, json=body, headers={GATEWAY_HEADER: "guess"}, timeout=30).status_code == 403
    # Rasa's own open REST channel is not there at all
    assert requests.post(f"{stack.settings.rasa_url}/webhooks/rest/webhook", json=body, timeout=30).status_code == 404
    assert post_to_rasa(stack.settings, body["sender"], "hei").status_code == 200


def test_the_action_server_runs_actions_only_for_rasa(stack):
    sender = f"forged-{uuid.uuid4().hex}"
    slot = "2026-12-10T12:00:00+01:00"
    forged = {
        "next_action": "action_submit_booking",
        "sender_id": sender,
        "version": "3.6.0",
        "tracker": {
            "sender_id": sender,
            "slots": {"booking_slot": slot, "booking_channel": "chat", "booking_confirmed": True},
            "latest_message": {"text": "", "intent": {}, "entities": []},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {},
    }
    url = f"http://{stack.settings.action_host}:{stack.settings.action_port}/webhook"
    assert requests.post(url, json=forged, timeout=30).status_code == 403
    assert requests.post(url, json=forged, headers={ACTION_HEADER: "x" * 43}, timeout=30).status_code == 403
    assert bookings(stack).bookings_of_sender(sender) == []


def command_lines(pid: int):
    """The command lines of a process and all its descendants."""
    lines, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            lines.append(Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending += [int(child) for child in children]
    return lines


def test_no_secret_is_on_a_command_line(stack):
    secrets = [stack.settings.rasa_auth_token, stack.settings.rasa_channel_secret, stack.settings.action_server_secret]
    lines = [
        line for process in (stack.rasa, stack.action_server, stack.gateway) for line in command_lines(process.pid)
    ]
    assert any("services.rasa_main" in line for line in lines)
    for secret in secrets:
        assert all(secret not in line for line in lines)


# --- files -----------------------------------------------------------------------------------------


def test_databases_logs_and_secrets_are_private(stack):
    book_a_phone_call(stack, new_session())
    var_dir = Path(stack.settings.var_dir)
    files = [path for path in var_dir.rglob("*") if path.is_file()]
    names = {path.name for path in files}
    assert {"tracker.db", "bookings.db", "sender_id_secret", "rasa.log", "actions.log", "gateway.log"} <= names
    exposed = {str(path): oct(path.stat().st_mode & 0o777) for path in files + [var_dir] if path.stat().st_mode & 0o077}
    assert exposed == {}


# --- logs ------------------------------------------------------------------------------------------


def log_text(stack) -> str:
    return "\n".join(path.read_text(errors="replace") for path in (Path(stack.settings.var_dir) / "logs").glob("*.log"))


def test_no_conversation_text_reaches_a_log_when_every_action_fails(stack):
    marker = f"zq{uuid.uuid4().hex[:8]}"
    said = [
        f"jeg har klamydia {marker}",
        f"jeg er sexarbeider {marker} og vil sjekke risiko",
        "kondomet røk i går",
        f"kan dere ringe meg {marker}",
    ]
    session = new_session()
    stack.restart_action_server(ACTIONS_FAIL_ON_PURPOSE="1")
    try:
        replies = [api(stack, session, text) for text in said]
        replies.append(api(stack, session, "918 27 364"))
        replies.append(api(stack, session, f"/inform{json.dumps({'booking_slot': marker})}"))
        replies.append(api(stack, session, f"/finnes_ikke_{marker}"))
    finally:
        stack.restart_action_server()
    assert any("noe gikk galt" in reply for reply in replies), replies  # kind answers, not silence
    post_to_rasa(stack.settings, new_session(), f"/unknown_intent_{marker}")  # past the gateway's check
    post_to_rasa(stack.settings, new_session(), f'/inform{{"booking_slot": "{marker}", "x": [1, {{"y": 2}}]}}')
    logs = log_text(stack)
    assert "failed: RuntimeError" in logs  # the failures are logged, without what the user said
    for secret in [marker, "sexarbeider", "kondomet", "918 27 364", "91827364", "27 364"]:
        assert secret not in logs, f"{secret!r} in a log"
    assert re.search(r"\+47 ?9\d", logs) is None


def test_a_forged_or_odd_answer_gets_an_answer_not_a_crash(stack):
    failures_before = log_text(stack).count(" failed: ")
    session = new_session()
    api(stack, session, "kan jeg sjekke risikoen min")
    for text in [
        '/inform{"risk_when": "2026-12-01T10:00|x|y"}',
        '/inform{"risk_when": "2026-12-01T10:00|2026-12-01T11:00"}',
        '/inform{"booking_slot": "2026-12-03T10:00:00"}',
        '/inform{"booking_wish": "after|nonsense"}',
    ]:
        assert api(stack, session, text).strip()
    assert log_text(stack).count(" failed: ") == failures_before


# --- limits on every costly path -------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(stack):
    """A gateway of its own with low limits; addresses come from X-Forwarded-For."""
    import dataclasses

    from ops.processes import start_gateway, stop, wait_for_gateway
    from tests.conftest import free_port

    settings = dataclasses.replace(stack.settings, gateway_port=free_port())
    gateway = start_gateway(
        settings,
        "gateway-security-limits.log",
        TRUSTED_PROXIES="127.0.0.1",
        WEB_ADDRESS_REQUESTS="4",
        WEB_SOCKETS_PER_ADDRESS="3",
        WEB_HELLO_SECONDS="1",
    )
    try:
        wait_for_gateway(settings, gateway)
        yield settings
    finally:
        stop([gateway])


def from_address(address):
    return {"X-Forwarded-For": address}


def healthy_meanwhile(settings) -> bool:
    return requests.get(f"{settings.gateway_url}/health", timeout=2).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/history", "/api/v1/sessions/delete"])
def test_history_and_deletes_are_limited_per_address(limited, path):
    address = f"10.9.{len(path)}.1"
    codes = [
        requests.post(
            f"{limited.gateway_url}{path}", json={"session": new_session()}, headers=from_address(address), timeout=60
        ).status_code
        for _ in range(7)
    ]
    assert codes[:4] == [200] * 4 and set(codes[4:]) == {429}
    assert healthy_meanwhile(limited)
    other = requests.post(
        f"{limited.gateway_url}{path}", json={"session": new_session()}, headers=from_address("10.9.99.1"), timeout=60
    )
    assert other.status_code == 200  # another address is not held back


def test_the_history_is_not_served_from_a_url(limited):
    url = f"{limited.gateway_url}/api/v1/messages?session={new_session()}"
    assert requests.get(url, timeout=10).status_code == 405


def test_sockets_per_address_restarts_and_silent_sockets(limited):
    import asyncio

    asyncio.run(sockets_per_address_restarts_and_silent_sockets(limited))


async def sockets_per_address_restarts_and_silent_sockets(limited):
    import asyncio

    import aiohttp

    ws_url = limited.gateway_url.replace("http", "ws", 1) + "/ws"
    async with aiohttp.ClientSession() as client:
        silent = [await client.ws_connect(ws_url, headers=from_address("10.8.0.1")) for _ in range(3)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(ws_url, headers=from_address("10.8.0.1"))
        assert refused.value.status == 429
        assert healthy_meanwhile(limited)
        for socket in silent:  # never said hello: closed by the gateway after WEB_HELLO_SECONDS
            message = await socket.receive(timeout=5)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        await asyncio.sleep(0.2)
        again = await client.ws_connect(ws_url, headers=from_address("10.8.0.1"))  # room again
        await again.send_json({"type": "hello", "session": new_session()})
        assert (await again.receive_json(timeout=30))["type"] == "history"
        for _ in range(5):
            await again.send_json({"type": "restart"})
        errors = []
        while len(errors) < 2:
            event = await again.receive_json(timeout=30)
            if event["type"] == "error":
                errors.append(event["code"])
        assert errors == ["rate_limited", "rate_limited"]
        await again.close()


# --- small gaps ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/messages", "/api/v1/sessions/delete", "/api/v1/history"])
def test_odd_bodies_get_a_clear_400_not_a_500(stack, path):
    url = f"{CHAT['url']}{path}"
    headers = {"Origin": CHAT["url"]}
    unknown_charset = requests.post(
        url,
        data=b'{"session": "x"}',
        timeout=30,
        headers={**headers, "Content-Type": "application/json; charset=x-no-such"},
    )
    nested = requests.post(url, data=b"[" * 30000 + b"]" * 30000, timeout=30, headers=headers)
    newline = requests.post(url, json={"session": new_session() + "\n", "text": "hei"}, timeout=30, headers=headers)
    for response in (unknown_charset, nested, newline):
        assert response.status_code == 400 and "error" in response.json()


def test_a_deeply_nested_frame_gets_an_error_and_the_socket_stays(stack):
    import asyncio

    from tests.conftest import visitor_socket

    async def visit():
        async with visitor_socket(CHAT["url"], new_session()) as socket:
            await socket.send_str("[" * 30000 + "]" * 30000)
            assert (await socket.receive_json(timeout=30))["code"] == "bad_json"
            await socket.send_json({"type": "ping"})
            assert (await socket.receive_json(timeout=30))["type"] == "pong"

    asyncio.run(visit())


def test_the_number_for_a_call_never_reaches_rasa(stack):
    session = new_session()
    reference, _ = book_a_phone_call(stack, session, "918 27 364")
    from bot.pseudonyms import Pseudonyms

    sender = Pseudonyms(stack.sender_secret()).sender_id("web", session)
    events = requests.get(
        f"{stack.settings.rasa_url}/conversations/{sender}/tracker",
        params={"token": stack.settings.rasa_auth_token, "include_events": "ALL"},
        timeout=30,
    ).json()
    stored = json.dumps(events)
    assert "[telefon " in stored  # the handle the gateway sent instead
    assert all(digits not in stored for digits in ("918 27 364", "91827364", "27 364", "82 73 64"))
    assert bookings(stack).find(reference).phone == "+47 91 82 73 64"
    history = requests.post(
        f"{CHAT['url']}/api/v1/history", json={"session": session}, headers={"Origin": CHAT["url"]}, timeout=30
    ).json()["messages"]
    assert "[telefonnummer]" in [m["text"] for m in history if m["from"] == "user"]


def test_service_details_are_filled_in_even_when_the_session_started_without_the_action_server(stack):
    """The session's first turn ran while the action server was down (slots unset). An answer an
    action gives is filled at once, and after it the answers Rasa gives by itself too. (Until an
    action has run, a rule's answer such as the greeting still shows "None": see the closing note.)"""
    session = new_session()
    stack.stop_action_server()
    try:
        api(stack, session, "hei")
    finally:
        stack.restart_action_server()
    said = [api(stack, session, text) for text in ("hva koster det å teste seg?", "hei", "ha det")]
    assert all("None" not in text for text in said), said
    assert "22 00 00 00" in said[-1]  # the goodbye gives the service's phone number


def test_an_english_conversation_links_to_an_english_privacy_page(stack):
    history = requests.post(
        f"{CHAT['url']}/api/v1/history",
        json={"session": new_session(), "language": "en"},
        headers={"Origin": CHAT["url"]},
        timeout=30,
    ).json()["messages"]
    assert f"{CHAT['url']}/privacy" in history[0]["text"]
    english = requests.get(f"{CHAT['url']}/privacy", timeout=10).text
    norwegian = requests.get(f"{CHAT['url']}/personvern", timeout=10).text
    assert "Privacy in the chat" in english and 'href="/personvern"' in english and "{" not in english
    assert "Personvern i chatten" in norwegian and 'href="/privacy"' in norwegian and "{" not in norwegian
    for page in (english, norwegian):  # the numbers come from the settings, not typed into the page
        assert "30" in page and "7" in page and "22 00 00 00" in page
