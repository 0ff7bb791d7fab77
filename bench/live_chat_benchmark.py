"""Live chat benchmark: message latency visitor → counsellor and counsellor → visitor through the
cluster (nginx → two gateway replicas → PostgreSQL and Redis), with 20 live chats at once and
the normal bot load (bench/load_benchmark.py's simulated users) running beside them.

Each chat is a visitor on the widget's socket and a counsellor on the console's socket, both
through nginx, so they land on whichever replica the balancer picks. A visitor writes, the
counsellor's console shows it (latency 1); the counsellor answers, the widget shows it
(latency 2); both "type" for 1–3 s between messages. Prints p50/p95/max of each direction.

    .venv/bin/python bench/live_chat_benchmark.py [--chats 20] [--users 50] [--seconds 60]
"""

import argparse
import asyncio
import dataclasses
import json
import os
import random
import re
import string
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_benchmark import Target, percentile, run_load, start  # noqa: E402
from bot.passwords import hash_password  # noqa: E402
from core.booking_store import BookingStore  # noqa: E402
from core.counsellor_accounts import CounsellorAccounts  # noqa: E402
from ops.cluster import ensure_database  # noqa: E402
from ops.processes import stop  # noqa: E402

PASSWORD = "benchmark-passord-langt"
OPEN_HOURS_NOW = "2026-12-02T11:00:00+01:00"  # the staffed-hours check sees a Wednesday morning
THINK = (1.0, 3.0)
ASK = "kan jeg snakke med et menneske nå?"
WORDS = ["hei", "takk", "jeg lurer på noe", "ok", "det er vanskelig", "skjønner", "ja", "nei"]


async def reader(socket, seen: Dict[str, float], texts_of: Callable[[dict], List[str]]) -> None:
    """Notes when each text first shows on the socket."""
    async for frame in socket:
        if frame.type != aiohttp.WSMsgType.TEXT:
            continue
        for text in texts_of(json.loads(frame.data)):
            seen.setdefault(text, time.monotonic())


def console_texts(event: dict) -> List[str]:
    if event.get("type") != "view":
        return []
    return [m["text"] for chat in event.get("chats", []) for m in chat["live"]]


def widget_texts(event: dict) -> List[str]:
    message = event.get("message") or {}
    return [message.get("text", "")] if event.get("type") == "message" else []


async def seen_by(seen: Dict[str, float], text: str, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while text not in seen:
        if time.monotonic() > deadline:
            raise TimeoutError(text)
        await asyncio.sleep(0.002)
    return seen[text]


async def log_in(client: aiohttp.ClientSession, base: str, name: str):
    form = await (await client.get(f"{base}/radgiver/login")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    await client.post(f"{base}/radgiver/login", data={"user": name, "password": PASSWORD, "csrf": csrf})
    return await client.ws_connect(f"{base.replace('http', 'ws', 1)}/radgiver/ws")


@dataclasses.dataclass
class Chat:
    client: aiohttp.ClientSession
    console: aiohttp.ClientWebSocketResponse
    visitor: aiohttp.ClientWebSocketResponse
    handoff: int
    console_seen: Dict[str, float]
    widget_seen: Dict[str, float]
    readers: List[asyncio.Task]

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await self.console.close()
        await self.visitor.close()
        await self.client.close()


async def open_chat(base: str, counsellor: str, index: int) -> Chat:
    """A visitor asks for a person and this counsellor takes the chat (the newest in the queue)."""
    client = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    console = await log_in(client, base, counsellor)
    await console.send_json({"type": "available", "on": True})
    visitor = await client.ws_connect(f"{base.replace('http', 'ws', 1)}/ws")
    await visitor.send_json({"type": "hello", "session": uuid.uuid4().hex})
    console_seen: Dict[str, float] = {}
    widget_seen: Dict[str, float] = {}
    queue: List[int] = []

    def console_events(event: dict) -> List[str]:
        if event.get("type") == "view":
            queue[:] = [item["id"] for item in event["queue"]]
        return console_texts(event)

    readers = [
        asyncio.create_task(reader(console, console_seen, console_events)),
        asyncio.create_task(reader(visitor, widget_seen, widget_texts)),
    ]
    await visitor.send_json({"type": "message", "id": f"ask-{index}", "text": ASK})
    deadline, claimed = time.monotonic() + 120, 0
    while not any("Du snakker nå med en rådgiver" in text for text in widget_seen):
        if time.monotonic() > deadline:
            raise TimeoutError("no chat to take")
        if queue and not claimed:
            claimed = max(queue)
            await console.send_json({"type": "claim", "handoff": claimed})
        await asyncio.sleep(0.1)
    return Chat(client, console, visitor, claimed, console_seen, widget_seen, readers)


async def chat_loop(chat: Chat, index: int, until: float, samples: Dict[str, list], rng: random.Random) -> None:
    number = 0
    while time.monotonic() < until:
        number += 1
        for direction, socket, seen, frame in (
            ("visitor → counsellor", chat.visitor, chat.console_seen, {"type": "message"}),
            ("counsellor → visitor", chat.console, chat.widget_seen, {"type": "send", "handoff": chat.handoff}),
        ):
            # letters only: digits could read as a phone number, which the gateway masks before storing
            token = f"{direction[0]} {rng.choice(WORDS)} {''.join(rng.choices(string.ascii_lowercase, k=10))}"
            sent = time.monotonic()
            await socket.send_json({**frame, "id": token, "text": token})
            try:
                samples[direction].append(await seen_by(seen, token) - sent)
            except TimeoutError:
                samples["lost"].append(direction)
                samples["late"].append((seen, token, sent))
            await asyncio.sleep(rng.uniform(*THINK))


def accounts_for(database_url: str, chats: int) -> List[str]:
    store = BookingStore(database_url)
    store.migrate()
    with store.engine.begin() as connection:  # a fresh start: no chats left open by an earlier run
        connection.exec_driver_sql("UPDATE handoffs SET state = 'ended' WHERE state <> 'ended'")
    accounts = CounsellorAccounts(store.engine)
    names = [f"bench{n}" for n in range((chats + 1) // 2)]
    password_hash = hash_password(PASSWORD)
    for name in names:
        accounts.save(name, password_hash, "counsellor", max_chats=2)
    return names


async def measure(base: str, database_url: str, chats: int, users: int, seconds: float) -> Tuple[Dict, Dict]:
    names = accounts_for(database_url, chats)
    opened = [await open_chat(base, names[index // 2], index) for index in range(chats)]  # one at a time
    samples: Dict[str, list] = {"visitor → counsellor": [], "counsellor → visitor": [], "lost": [], "late": []}
    until = time.monotonic() + seconds
    bot_load = asyncio.create_task(run_load(Target(base, False), users, seconds))
    await asyncio.gather(*(chat_loop(chat, i, until, samples, random.Random(i)) for i, chat in enumerate(opened)))
    bot_samples = await bot_load
    await asyncio.sleep(5)
    samples["late"] = [round(seen[token] - sent, 1) if token in seen else None for seen, token, sent in samples["late"]]
    samples["late"] = [delay for delay in samples["late"] if delay is not None]
    for chat in opened:
        await chat.close()
    bot = [s.latency for s in bot_samples if s.ok]
    return samples, {"messages": len(bot_samples), "errors": sum(not s.ok for s in bot_samples), "latencies": bot}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--users", type=int, default=50, help="simulated bot users at the same time")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/radgivning_bench_chat"),
    )
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"))
    args = parser.parse_args()
    ensure_database(args.postgres)
    clock = ROOT / "var" / "bench" / "handoff_clock"
    clock.parent.mkdir(parents=True, exist_ok=True)
    clock.write_text(OPEN_HOURS_NOW)
    os.environ["HANDOFF_CLOCK_FILE"] = str(clock)  # the cluster's gateways inherit it
    os.environ["COOKIE_SECURE"] = "0"  # the benchmark's counsellors log in over plain http on loopback
    running = start(2, args.postgres, args.redis)
    try:
        samples, bot = asyncio.run(measure(running.plan.url, args.postgres, args.chats, args.users, args.seconds))
    finally:
        stop(list(reversed(running.processes)))
    print(f"{args.chats} live chats and {args.users} bot users for {args.seconds:g} s, 2 replicas behind nginx:")
    for direction in ("visitor → counsellor", "counsellor → visitor"):
        values = [v * 1000 for v in samples[direction]]
        print(
            f"  {direction}: {len(values)} messages, p50 {percentile(values, 0.5):.0f} ms, "
            f"p95 {percentile(values, 0.95):.0f} ms, max {max(values, default=float('nan')):.0f} ms"
        )
    lost = {direction: samples["lost"].count(direction) for direction in set(samples["lost"])}
    print(
        f"  lost (not shown within 30 s): {len(samples['lost'])} {lost or ''}; "
        f"of those, shown later after (s): {samples['late'] or 'none'}"
    )
    latencies = [v * 1000 for v in bot["latencies"]]
    print(
        f"  bot load beside it: {bot['messages']} messages, {bot['errors']} errors, "
        f"p50 {percentile(latencies, 0.5):.0f} ms, p95 {percentile(latencies, 0.95):.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
