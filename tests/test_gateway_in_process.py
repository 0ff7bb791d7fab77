"""The gateway's own behaviour, in process: the real gateway app (aiohttp test server, SQLite)
in front of a small fake Rasa that answers over real HTTP. Nothing here needs the model: what
is checked is what the gateway does before, around and after Rasa."""

import asyncio
import json
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.texts import gateway_text
from core.protocol import DELETE_MARKER
from tests.conftest import gateway_in_process

SESSION = "in-process-session-0001"


class FakeRasa:
    """Answers the gateway's channel as Rasa would: one reply echoing the message; a delete
    request's answer carries the delete marker; `down` makes every call fail."""

    def __init__(self) -> None:
        self.heard, self.down = [], False
        self.app = web.Application()
        self.app.add_routes(
            [
                web.post("/webhooks/gateway/webhook", self.message),
                web.get("/conversations/{sender}/tracker", self.tracker),
            ]
        )

    async def message(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        body = await request.json()
        self.heard.append(body["message"])
        if body["message"] == "/forget_me":
            return web.json_response([{"text": "Ok."}, {"custom": {DELETE_MARKER: True}}])
        return web.json_response([{"text": f"svar: {body['message']}"}])

    async def tracker(self, request: web.Request) -> web.Response:
        return web.json_response({"events": []})


def run(scenario, tmp_path: Path, **overrides):
    """Runs scenario(client, rasa) against a gateway configured by `overrides`."""

    async def main():
        rasa = FakeRasa()
        async with gateway_in_process(rasa.app, tmp_path, **overrides) as (client, _settings):
            return await scenario(client, rasa)

    return asyncio.run(main())


async def say(client: TestClient, text: str, session: str = SESSION):
    response = await client.post("/api/v1/messages", json={"session": session, "text": text})
    return response.status, await response.json()


def test_an_emoji_with_a_meaning_reaches_rasa_as_words_and_one_without_never_does(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bookings.db'}")

    async def scenario(client, rasa):
        thumbs = await say(client, "👍")
        unicorns = await say(client, "🦄🦄")
        return thumbs, unicorns, rasa.heard

    thumbs, unicorns, heard = run(scenario, tmp_path)
    assert heard == ["ja"]
    assert thumbs[1]["messages"][0]["text"] == "svar: ja"
    assert unicorns[1]["messages"][0]["text"] == gateway_text("no_words", "nb")


def test_a_flood_gets_one_kind_refusal_then_silence_and_rasa_hears_only_the_allowed(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bookings.db'}")

    async def scenario(client, rasa):
        answers = [await say(client, f"melding {number}") for number in range(5)]
        return answers, rasa.heard

    answers, heard = run(scenario, tmp_path, flood_messages=3, flood_window_seconds=60)
    assert heard == ["melding 0", "melding 1", "melding 2"]
    assert [status for status, _ in answers] == [200, 200, 200, 429, 429]
    assert answers[3][1]["message"] == gateway_text("flood", "nb")
    assert answers[4][1]["message"] == ""


def test_when_rasa_stays_down_the_user_hears_the_apology_and_the_give_up_text(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bookings.db'}")

    async def scenario(client, rasa):
        rasa.down = True
        return await say(client, "hei")

    status, body = run(scenario, tmp_path, rasa_slow_seconds=0.2, rasa_retry_seconds=0.5, rasa_retry_max_delay=0.2)
    assert status == 200
    assert [message["text"] for message in body["messages"]] == [
        gateway_text("rasa_trouble", "nb"),
        gateway_text("rasa_gave_up", "nb"),
    ]


def test_the_socket_shows_typing_until_the_answer_and_deleting_confirms(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bookings.db'}")

    async def scenario(client, rasa):
        socket = await client.ws_connect("/ws")
        await socket.send_json({"type": "hello", "session": SESSION})
        history = await socket.receive_json(timeout=10)
        await socket.send_json({"type": "message", "id": "m1", "text": "hei"})
        events = [await socket.receive_json(timeout=10) for _ in range(4)]
        await socket.send_json({"type": "message", "id": "m1", "text": "hei"})  # a resend after a reconnect
        await socket.send_json({"type": "delete"})
        after = []
        while not after or after[-1]["type"] != "deleted":
            after.append(await socket.receive_json(timeout=10))
        await socket.close()
        return history, events, after, rasa.heard

    history, events, after, heard = run(scenario, tmp_path)
    assert history["type"] == "history" and history["messages"][0]["id"] == "welcome"
    assert [event["type"] for event in events] == ["ack", "typing", "typing", "message"]
    assert events[1]["on"] is True and events[2]["on"] is False
    assert events[3]["message"]["text"] == "svar: hei"
    assert heard == ["hei", "/forget_me"]  # the resend was acknowledged, not sent again
    assert after[-1]["text"]


def test_every_response_has_the_baseline_headers_and_other_sites_may_not_chat(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bookings.db'}")

    async def scenario(client, rasa):
        texts = await client.get("/api/v1/widget-texts")
        health = await client.get("/health")
        foreign = await client.post(
            "/api/v1/messages",
            headers={"Origin": "https://evil.example"},
            data=json.dumps({"session": SESSION, "text": "hei"}),
        )
        return texts.headers, health.headers, foreign.status, rasa.heard

    texts, health, foreign, heard = run(scenario, tmp_path)
    for headers in (texts, health):
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert foreign == 403 and heard == []
