"""Load benchmark: simulated users chatting through the cluster's load balancer.

For each number of users (default 50 and 200) it measures, for a fixed time each:
  * the cluster with one replica (nginx → 1 gateway → 1 Rasa → 1 action server),
  * the cluster with two replicas,
  * the same load sent straight to one Rasa server's REST channel (no nginx, no gateway),
and prints p50/p95/p99 latency, messages per second and errors, the two-replica/one-replica
throughput ratio and the gateway's latency ratio (through the gateway ÷ straight to Rasa).
Writes bench/out/load.json and a latency-over-time picture, docs/images/load_latency.png.

Each user has a session of their own, sends a message, waits for the answer, "types" for a
while (THINK seconds) and goes on; about one in ten does a whole booking. Everything runs on
this machine, so the load generator shares the two cores with the servers.

    .venv/bin/python bench/load_benchmark.py [--users 50 200] [--seconds 40]
"""

import argparse
import asyncio
import dataclasses
import itertools
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, List

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.rasa_client import webhook_url  # noqa: E402
from core.settings import load_settings  # noqa: E402
from ops.cluster import ensure_database, plan_cluster, start_cluster, wait_for_cluster  # noqa: E402
from ops.processes import free_port, stop, with_auth_token  # noqa: E402
from services.internal_secrets import GATEWAY_HEADER  # noqa: E402

OUT = ROOT / "bench" / "out"
PICTURE = ROOT / "docs" / "images" / "load_latency.png"
THINK = (2.0, 6.0)  # seconds between a user's answer and their next message
WARM_UP = 5.0  # seconds of load before measuring starts
BOOKING_SHARE = 0.1
QUESTIONS = [  # a realistic mix: Bokmål, nynorsk, English, typos, greetings, worries
    "hei",
    "hvor kan jeg teste meg?",
    "hva koster det å teste seg",
    "er testen anonym",
    "hvor lenge etter sex bør jeg teste meg for klamydia",
    "kondomen sprakk i går",
    "jeg er redd for hiv",
    "kor kan eg teste meg",
    "what are the symptoms of chlamydia",
    "hva er syfilis",
    "kan jeg få pep",
    "svir når jeg tisser",
    "må jeg fortelle det til partneren min",
    "takk for hjelpen",
    "hva er gonore",
    "jeg har kjøpt sex og er bekymret",
    "kan jeg snakke med noen",
    "hvordan smitter herpes",
]
BOOKING = ["jeg vil bestille en samtale", '/inform{"booking_channel": "chat"}', "SLOT", "/affirm"]


@dataclasses.dataclass
class Sample:
    started: float  # seconds since measuring began
    latency: float  # seconds
    ok: bool


class Target:
    """Where the users' messages go: the gateway's HTTP API or Rasa's REST channel."""

    def __init__(self, url: str, straight_to_rasa: bool, channel_secret: str = "") -> None:
        self.url, self.straight_to_rasa, self.channel_secret = url, straight_to_rasa, channel_secret

    async def say(self, client: aiohttp.ClientSession, session: str, text: str) -> List[dict]:
        if self.straight_to_rasa:
            async with client.post(
                webhook_url(self.url),
                json={"sender": session, "message": text},
                headers={GATEWAY_HEADER: self.channel_secret},
            ) as r:
                if r.status != 200:
                    raise RuntimeError(f"HTTP {r.status}")
                replies = await r.json()
            return [{"text": reply.get("text", ""), "buttons": reply.get("buttons") or []} for reply in replies]
        async with client.post(f"{self.url}/api/v1/messages", json={"session": session, "text": text}) as r:
            if r.status != 200:
                raise RuntimeError(f"HTTP {r.status}")
            return (await r.json())["messages"]


async def user(
    target: Target, client: aiohttp.ClientSession, began: float, until: float, samples: List[Sample], rng: random.Random
) -> None:
    await asyncio.sleep(rng.uniform(0, THINK[1]))  # users arrive spread out, not all at once
    while time.monotonic() < until:
        session = uuid.uuid4().hex
        script = BOOKING if rng.random() < BOOKING_SHARE else rng.sample(QUESTIONS, 4)
        last: List[dict] = []
        for text in script:
            if time.monotonic() >= until:
                return
            if text == "SLOT":
                slots = [b["payload"] for m in last for b in m.get("buttons", []) if "booking_slot" in b["payload"]]
                text = rng.choice(slots) if slots else "i morgen"
            sent = time.monotonic()
            try:
                last = await target.say(client, session, text)
                ok = bool(last)
            except (aiohttp.ClientError, asyncio.TimeoutError, RuntimeError, ValueError):
                ok, last = False, []
            if sent >= began:
                samples.append(Sample(sent - began, time.monotonic() - sent, ok))
            await asyncio.sleep(rng.uniform(*THINK))


async def run_load(target: Target, users: int, seconds: float) -> List[Sample]:
    samples: List[Sample] = []
    began = time.monotonic() + WARM_UP
    until = began + seconds
    rng = random.Random(users)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as client:
        await asyncio.gather(
            *(user(target, client, began, until, samples, random.Random(rng.random())) for _ in range(users))
        )
    return samples


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def summarise(samples: List[Sample], seconds: float) -> Dict[str, float]:
    latencies = [s.latency * 1000 for s in samples if s.ok]
    return {
        "messages": len(samples),
        "errors": sum(not s.ok for s in samples),
        "per_second": sum(s.ok for s in samples) / seconds,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies) if latencies else float("nan"),
    }


def start(replicas: int, database_url: str, redis_url: str):
    base = dataclasses.replace(
        with_auth_token(load_settings()), var_dir=ROOT / "var" / "bench", tracker_store_url=database_url
    )
    env = {
        "TRACKER_STORE_URL": database_url,
        "DATABASE_URL": database_url,
        "LOCK_STORE_URL": "",
        "GATEWAY_REDIS_URL": redis_url,
        "WEB_ADDRESS_MESSAGES": "1000000",  # every user has one address here
        "BOOKINGS_PER_ADDRESS_PER_DAY": "1000000",
        "WEB_ADDRESS_REQUESTS": "1000000",
        "WEB_SOCKETS_PER_ADDRESS": "1000000",
    }
    plan = plan_cluster(base, replicas, free_port(), iter(free_port, None), env)
    running = start_cluster(plan)
    wait_for_cluster(running, timeout=400)
    return running


def picture(results: Dict[str, Dict], series: Dict[str, List[Sample]], users: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 4.5))
    for label, samples in series.items():
        by_second: Dict[int, List[float]] = {}
        for s in samples:
            if s.ok:
                by_second.setdefault(int(s.started), []).append(s.latency * 1000)
        seconds = sorted(by_second)
        axis.plot(seconds, [percentile(by_second[t], 0.95) for t in seconds], label=f"{label}: p95")
        axis.plot(seconds, [percentile(by_second[t], 0.50) for t in seconds], linestyle="--", label=f"{label}: p50")
    axis.set_xlabel("seconds into the run")
    axis.set_ylabel("latency (ms)")
    axis.set_title(f"{users} simulated users on 2 cores: latency per second of sending")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    PICTURE.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(PICTURE, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/radgivning_bench"),
    )
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    args = parser.parse_args()
    ensure_database(args.postgres)
    results: Dict[str, Dict] = {}
    series: Dict[int, Dict[str, List[Sample]]] = {users: {} for users in args.users}
    for replicas in (1, 2):
        running = start(replicas, args.postgres, args.redis)
        try:
            targets = {f"{replicas} replica{'s' if replicas > 1 else ''}": Target(running.plan.url, False)}
            if replicas == 1:
                targets["straight to Rasa"] = Target(
                    running.plan.replicas[0].rasa.rasa_url, True, running.plan.replicas[0].rasa.rasa_channel_secret
                )
            for users, (label, target) in itertools.product(args.users, targets.items()):
                samples = asyncio.run(run_load(target, users, args.seconds))
                results[f"{label}, {users} users"] = summarise(samples, args.seconds)
                series[users][label] = samples
                print(f"{label:>17}, {users:>3} users: " + format_row(results[f"{label}, {users} users"]), flush=True)
        finally:
            stop(list(reversed(running.processes)))
    print()
    for users in args.users:
        one, two, direct = (
            results[f"{label}, {users} users"] for label in ("1 replica", "2 replicas", "straight to Rasa")
        )
        print(
            f"{users} users: throughput 2 replicas / 1 replica = {two['per_second'] / one['per_second']:.2f}; "
            f"gateway latency ratio (1 replica ÷ straight to Rasa) p50 {one['p50_ms'] / direct['p50_ms']:.2f}, "
            f"p95 {one['p95_ms'] / direct['p95_ms']:.2f}; "
            f"throughput ratio {one['per_second'] / direct['per_second']:.2f}"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "load.json").write_text(
        json.dumps({"seconds": args.seconds, "think_seconds": THINK, "results": results}, indent=2)
    )
    picture(results, series[max(args.users)], max(args.users))
    print(f"\nWrote {OUT / 'load.json'} and {PICTURE}")
    return 0


def format_row(row: Dict[str, float]) -> str:
    return (
        f"{row['per_second']:6.1f} msg/s  p50 {row['p50_ms']:6.0f} ms  p95 {row['p95_ms']:6.0f} ms  "
        f"p99 {row['p99_ms']:6.0f} ms  errors {row['errors']}/{row['messages']}"
    )


if __name__ == "__main__":
    sys.exit(main())
