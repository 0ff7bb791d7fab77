"""The cluster of `make cluster` under faults: nginx in front of two gateways, two Rasa servers and
two action servers, on the machine's real PostgreSQL and a Redis server of this module's own (so
it can be stopped without disturbing anything else). Everything goes through the load balancer.

The module starts the cluster once; the tests that break something come last and mend it."""

import asyncio
import dataclasses
import json
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import pytest
import redis
import requests
import sqlalchemy as sa

from bot.pseudonyms import Pseudonyms, load_secret
from core.reference_codes import normalise_code
from ops.cluster import plan_cluster, restart_the_dead, start_cluster, wait_for_cluster
from ops.processes import action_server_up, stop
from tests.conftest import console_socket, free_port, next_event, postgres_url, visitor_socket  # noqa: F401 (fixture)
from tests.fake_telegram import FakeTelegram


class RedisServer:
    def __init__(self, port: int) -> None:
        self.port, self.process = port, None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(50):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def telegram():
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(stack, postgres_url, tmp_path_factory, telegram):
    own_redis = RedisServer(free_port())
    own_redis.start()
    env = {
        "TRACKER_STORE_URL": postgres_url,
        "DATABASE_URL": postgres_url,
        "LOCK_STORE_URL": "",
        "GATEWAY_REDIS_URL": f"redis://127.0.0.1:{own_redis.port}/0",
        "FLOOD_MESSAGES": "50",
        "WEB_ADDRESS_MESSAGES": "100000",
        "BOOKINGS_PER_ADDRESS_PER_DAY": "100000",
        "WEB_ADDRESS_REQUESTS": "100000",
        "WEB_SOCKETS_PER_ADDRESS": "1000",
        "TELEGRAM_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.api_url,
        "TELEGRAM_POLL_TIMEOUT": "1",
    }
    base = dataclasses.replace(stack.settings, var_dir=tmp_path_factory.mktemp("cluster-var"))
    plan = plan_cluster(base, 2, free_port(), iter(free_port, None), env)
    running = start_cluster(plan)
    try:
        wait_for_cluster(running, timeout=400)
        yield running, own_redis, Pseudonyms(load_secret(base))
    finally:
        stop(list(reversed(running.processes)))
        own_redis.stop()


def post(cluster, session, text):
    running, _, _ = cluster
    response = requests.post(
        f"{running.plan.url}/api/v1/messages", json={"session": session, "text": text}, timeout=120
    )
    assert response.status_code == 200, response.text
    return response


def joined(response) -> str:
    return "\n\n".join(message["text"] for message in response.json()["messages"])


def payloads(response):
    return [button["payload"] for message in response.json()["messages"] for button in message["buttons"]]


def slot_payloads(response):
    """The payloads of the times offered (not "Andre tider")."""
    return [p for p in payloads(response) if "booking_slot" in p]


def events_of(postgres_url, sender):
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
        ).all()
    engine.dispose()
    return [(kind, json.loads(data)) for kind, data in rows]


def user_texts(events):
    return [data.get("text") for kind, data in events if kind == "user"]


def assert_turns_do_not_interleave(events):
    """Each user message is followed by its own answer before the next one arrives."""
    kinds = [kind if kind != "action" else data.get("name") for kind, data in events]
    users = [n for n, kind in enumerate(kinds) if kind == "user"]
    for here, following in zip(users, users[1:] + [len(kinds)]):
        turn = kinds[here + 1 : following]
        assert "bot" in turn and turn[-1] == "action_listen", kinds[here:following]


def offered_slots(cluster) -> list:
    """The chat slots the bot offers a new user now (their button payloads)."""
    session = uuid.uuid4().hex
    post(cluster, session, "jeg vil bestille en samtale")
    offered = slot_payloads(post(cluster, session, '/inform{"booking_channel": "chat"}'))
    post(cluster, session, "/restart")
    return offered


def book(cluster, session, slot_payload=None):
    """A chat booking, message by message (the first slot offered, or the one given); returns
    the replicas that answered and the last reply."""
    replicas, replies = [], []
    for say in ["jeg vil bestille en samtale", '/inform{"booking_channel": "chat"}', None, "/affirm"]:
        if say is None:
            say = slot_payload or slot_payloads(replies[-1])[0]
        replies.append(post(cluster, session, say))
        replicas.append(replies[-1].headers["X-Gateway-Replica"])
    return replicas, replies


def book_as_a_user_would(cluster, session, slot_payload, tries=3) -> list:
    """Books the given slot; when the bot says it is gone (a race the test does not claim to
    avoid), takes the first time it offers instead, as a user would. Returns the replies' texts."""
    _, replies = book(cluster, session, slot_payload)
    story = [joined(reply) for reply in replies]
    for _ in range(tries):
        offered = slot_payloads(replies[-1])
        if "Referansen din er" in story[-1] or not offered:
            break
        replies = [post(cluster, session, offered[0]), post(cluster, session, "/affirm")]
        story += [joined(reply) for reply in replies]
    return story


def test_a_booking_whose_turns_alternate_between_gateway_replicas_keeps_its_state(cluster, postgres_url):
    running, _, pseudonyms = cluster
    session = uuid.uuid4().hex
    replicas, replies = book(cluster, session)
    assert set(replicas) == {"gateway-1", "gateway-2"}  # nginx took turns
    assert "Stemmer dette?" in joined(replies[2])
    assert "Referansen din er" in joined(replies[3])
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        booked = connection.execute(
            sa.text("SELECT count(*) FROM bookings WHERE sender_id = :s"), {"s": pseudonyms.sender_id("web", session)}
        ).scalar()
    engine.dispose()
    assert booked == 1


def test_telegram_long_polling_runs_in_exactly_one_replica_and_answers(cluster, telegram):
    """Two pollers would take updates from each other (Telegram answers the second with 409),
    so the cluster gives the token to the first gateway only, unless a webhook is set."""
    running, _, _ = cluster
    logs = running.plan.base.var_dir / "logs"
    assert "Telegram channel on (long polling)" in (logs / "gateway-1.log").read_text()
    assert "Telegram channel off" in (logs / "gateway-2.log").read_text()
    chat = 424242
    telegram.message(chat, "hva er klamydia")
    answer = telegram.wait_for_messages(chat, 1)
    assert "lamydia" in answer[0]["text"]


def test_twenty_messages_at_once_over_http_are_each_answered_once(cluster, postgres_url):
    """The requests are spread over both gateways; the conversation's turn in Redis makes them
    reach Rasa one at a time, so each is stored once, with its answer before the next."""
    _, _, pseudonyms = cluster
    session = uuid.uuid4().hex
    texts = [f"hva er klamydia nummer {n}" for n in range(20)]
    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(lambda text: post(cluster, session, text), texts))
    assert {r.headers["X-Gateway-Replica"] for r in responses} == {"gateway-1", "gateway-2"}
    assert all(r.json()["messages"] for r in responses)
    events = events_of(postgres_url, pseudonyms.sender_id("web", session))
    assert sorted(user_texts(events)) == sorted(texts)
    assert_turns_do_not_interleave(events)


def test_twenty_messages_at_once_on_one_socket_keep_their_order(cluster, postgres_url):
    running, _, pseudonyms = cluster
    session = uuid.uuid4().hex
    texts = [f"hva er gonoré nummer {n}" for n in range(20)]

    async def visitor():
        async with visitor_socket(running.plan.url, session) as socket:
            for number, text in enumerate(texts):
                await socket.send_json({"type": "message", "id": f"m{number}", "text": text})
            answers = 0
            while answers < len(texts):
                event = await socket.receive_json(timeout=120)
                answers += event["type"] == "message"

    asyncio.run(visitor())
    events = events_of(postgres_url, pseudonyms.sender_id("web", session))
    assert user_texts(events) == texts
    assert_turns_do_not_interleave(events)


def test_a_message_pushed_to_a_visitor_on_the_other_replica_arrives(cluster):
    running, _, _ = cluster
    session = uuid.uuid4().hex

    async def visitor():
        async with visitor_socket(running.plan.url, session) as socket:
            socket_replica = socket._response.headers["X-Gateway-Replica"]
            loop = asyncio.get_running_loop()
            for _ in range(4):  # round robin: the other replica within two requests
                response = await loop.run_in_executor(None, post, cluster, session, "hva er syfilis")
                if response.headers["X-Gateway-Replica"] != socket_replica:
                    break
            assert response.headers["X-Gateway-Replica"] != socket_replica
            while True:
                event = await socket.receive_json(timeout=30)
                if event["type"] == "message" and "yfilis" in event["message"]["text"]:
                    return True

    assert asyncio.run(visitor())


async def live_chat_opened(client, visitor_url: str, counsellor_url: str, session: str):
    """A counsellor available on one replica, a visitor asking for a person on another, and the
    counsellor taking the chat; returns (console, visitor socket context, the handoff's id)."""
    console = await console_socket(client, counsellor_url)
    await console.send_json({"type": "available", "on": True})
    await next_event(console, lambda e: e["type"] == "view" and e["available"])
    visitor = visitor_socket(visitor_url, session)
    socket = await visitor.__aenter__()
    await socket.send_json({"type": "message", "id": "ask", "text": "kan jeg snakke med et menneske nå?"})
    await next_event(socket, bot_said("i køen"), 120)
    view = await next_event(console, lambda e: e["type"] == "view" and e["queue"])
    handoff = view["queue"][0]["id"]
    await console.send_json({"type": "claim", "handoff": handoff})
    await next_event(
        socket, lambda e: e["type"] == "message" and "Du snakker nå med en rådgiver" in e["message"]["text"]
    )
    return console, visitor, socket, handoff


def bot_said(fragment: str):
    return lambda e: e["type"] == "message" and fragment in e["message"]["text"]


def counsellor_said(text: str):
    return lambda e: e["type"] == "message" and e["message"]["from"] == "counsellor" and e["message"]["text"] == text


def visitor_seen(text: str):  # in the console's view (the visitor's words, or the counsellor's own)
    return lambda e: e["type"] == "view" and any(m["text"] == text for c in e["chats"] for m in c["live"])


def test_a_live_chat_with_the_visitor_on_one_replica_and_the_counsellor_on_the_other(cluster, postgres_url):
    running, _, _ = cluster
    visitor_url, counsellor_url = (replica.gateway.gateway_url for replica in running.plan.replicas)

    async def scenario():
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            console, visitor, socket, handoff = await live_chat_opened(
                client, visitor_url, counsellor_url, uuid.uuid4().hex
            )
            await console.send_json({"type": "send", "handoff": handoff, "text": "Hei fra den andre replikaen"})
            await next_event(socket, counsellor_said("Hei fra den andre replikaen"), 5)
            await socket.send_json({"type": "message", "id": "v1", "text": "og hei tilbake"})
            await next_event(console, visitor_seen("og hei tilbake"), 5)
            await console.send_json({"type": "end", "handoff": handoff})
            await next_event(
                socket, lambda e: e["type"] == "message" and "chatboten som svarer" in e["message"]["text"]
            )
            await visitor.__aexit__(None, None, None)
            await console.close()
        return True

    assert asyncio.run(scenario())


def cut_connections(postgres_url) -> int:
    """Terminates every server connection to the cluster's database (as a restart would)."""
    database = postgres_url.rsplit("/", 1)[1]
    engine = sa.create_engine(postgres_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        cut = connection.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :d AND pid <> pg_backend_pid()"
            ),
            {"d": database},
        ).scalar()
    engine.dispose()
    return cut


def test_postgresql_connections_cut_during_bookings_lose_or_double_nothing(cluster, postgres_url):
    _, _, pseudonyms = cluster
    sessions = [uuid.uuid4().hex for _ in range(4)]
    # one slot each, from one listing: a session's own list shifts as the others book
    slots = offered_slots(cluster)
    assert len(slots) >= len(sessions)
    stop_cutting = threading.Event()
    cuts = []

    def keep_cutting():
        while not stop_cutting.wait(0.7):
            cuts.append(cut_connections(postgres_url))

    cutter = threading.Thread(target=keep_cutting)
    cutter.start()
    try:
        with ThreadPoolExecutor(len(sessions)) as pool:
            results = list(pool.map(lambda pair: book_as_a_user_would(cluster, *pair), zip(sessions, slots)))
    finally:
        stop_cutting.set()
        cutter.join()
    assert sum(cuts) > 0, "no connection was cut: the test did not test anything"
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        for session, story in zip(sessions, results):
            told = re.search(r"Referansen din er (\S+) og", story[-1])
            assert told, (story, events_of(postgres_url, pseudonyms.sender_id("web", session)))
            rows = (
                connection.execute(
                    sa.text("SELECT reference FROM bookings WHERE sender_id = :s AND status = 'booked'"),
                    {"s": pseudonyms.sender_id("web", session)},
                )
                .scalars()
                .all()
            )
            assert [normalise_code(told.group(1))] == rows  # the one booking the user was told of
    engine.dispose()

    cut_connections(postgres_url)
    began = time.monotonic()
    assert joined(post(cluster, uuid.uuid4().hex, "hvor kan jeg teste meg"))
    assert time.monotonic() - began < 10


def test_without_redis_the_cluster_still_answers_and_warns(cluster):
    """Chosen behaviour: degrade, not fail. The gateways count limits and order turns per
    process and push to their own sockets; Rasa does not use Redis here at all."""
    running, own_redis, _ = cluster
    own_redis.stop()
    try:
        responses = [post(cluster, uuid.uuid4().hex, "hva koster det å teste seg") for _ in range(2)]
        assert {r.headers["X-Gateway-Replica"] for r in responses} == {"gateway-1", "gateway-2"}
        assert all(joined(r) for r in responses)
        logs = running.plan.base.var_dir / "logs"
        for name in ("gateway-1", "gateway-2"):
            assert "Redis unavailable" in (logs / f"{name}.log").read_text()
    finally:
        own_redis.start()


def test_with_every_action_server_down_the_user_gets_a_kind_answer_not_silence(cluster):
    """Rasa answers nothing when the action it predicted cannot run; the gateway then says so
    (content/gateway.yml: no_answer) instead of leaving the user waiting. The supervisor of
    make cluster (restart_the_dead) brings the action servers back."""
    running, _, _ = cluster
    for process in running.actions:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    try:
        said = joined(post(cluster, uuid.uuid4().hex, "jeg vil bestille en samtale"))
        assert "klarte jeg ikke å svare på" in said and "113" in said
    finally:
        restart_the_dead(running)
        deadline = time.monotonic() + 60
        while not all(action_server_up(r.action) for r in running.plan.replicas):
            assert time.monotonic() < deadline, "the action servers did not come back"
            time.sleep(0.5)
    # nginx rests a server that failed for fail_timeout (5 s) before trying it again
    deadline = time.monotonic() + 20
    while not any(
        "booking_channel" in p for p in payloads(post(cluster, uuid.uuid4().hex, "jeg vil bestille en samtale"))
    ):
        assert time.monotonic() < deadline, "bookings did not work again after the action servers came back"
        time.sleep(1)


def test_a_rasa_server_killed_mid_conversation_the_next_message_is_answered_by_the_other(cluster):
    running, _, _ = cluster
    session = uuid.uuid4().hex
    first = post(cluster, session, "jeg vil bestille en samtale")
    assert any("booking_channel" in p for p in payloads(first))
    running.rasa[0].send_signal(signal.SIGKILL)
    running.rasa[0].wait(timeout=10)
    for _ in range(3):  # whichever gateway and Rasa server the balancer picks
        offered = post(cluster, session, '/inform{"booking_channel": "chat"}')
        assert slot_payloads(offered)
        post(cluster, session, "/restart")
        post(cluster, session, "jeg vil bestille en samtale")


def test_a_gateway_replica_killed_mid_chat_loses_and_doubles_nothing(cluster, postgres_url):
    running, _, _ = cluster
    visitor_url, counsellor_url = (replica.gateway.gateway_url for replica in running.plan.replicas)
    session = uuid.uuid4().hex

    async def scenario():
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            console, visitor, socket, handoff = await live_chat_opened(client, visitor_url, counsellor_url, session)
            await console.send_json({"type": "send", "handoff": handoff, "text": "før"})
            await next_event(socket, counsellor_said("før"), 5)
            running.gateways[0].send_signal(signal.SIGKILL)  # the visitor's replica
            running.gateways[0].wait(timeout=10)
            await console.send_json({"type": "send", "handoff": handoff, "text": "mens du var borte"})
            await next_event(
                console,
                lambda e: e["type"] == "view"
                and any(m["text"] == "mens du var borte" for c in e["chats"] for m in c["live"]),
            )
            # the widget reconnects (here straight to the surviving replica): its history has it all, once
            async with client.ws_connect(f"{counsellor_url.replace('http', 'ws', 1)}/ws") as again:
                await again.send_json({"type": "hello", "session": session})
                history = await next_event(again, lambda e: e["type"] == "history")
                await again.send_json({"type": "message", "id": "v2", "text": "jeg er tilbake"})
                await next_event(console, visitor_seen("jeg er tilbake"), 5)
                await console.send_json({"type": "send", "handoff": handoff, "text": "fint"})
                await next_event(again, counsellor_said("fint"), 5)
            await console.send_json({"type": "end", "handoff": handoff})
            await console.close()
            return [m["text"] for m in history["messages"]]

    try:
        shown = asyncio.run(scenario())
    finally:
        restart_the_dead(running)
        wait_for_cluster(running, timeout=120)
    assert shown.count("før") == 1 and shown.count("mens du var borte") == 1
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        texts = [
            row[0]
            for row in connection.execute(
                sa.text(
                    "SELECT text FROM handoff_messages WHERE handoff_id = "
                    "(SELECT max(id) FROM handoffs) AND author <> 'bot' ORDER BY id"
                )
            )
        ]
    engine.dispose()
    assert texts == ["før", "mens du var borte", "jeg er tilbake", "fint"]
