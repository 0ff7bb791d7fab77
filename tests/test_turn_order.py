"""The conversation turn across gateway replicas (bot/turn_order.py), on the real Redis: two
TurnOrder objects stand for two replicas sharing one Redis database."""

import asyncio
import time
import uuid

import pytest
import redis
from redis import asyncio as aioredis

from bot.shared_state import PREFIX
from bot.turn_order import TurnOrder

REDIS_URL = "redis://127.0.0.1:6379/6"


@pytest.fixture
def replicas():
    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


def two_replicas(url, **lease):
    return TurnOrder(aioredis.Redis.from_url(url), **lease), TurnOrder(aioredis.Redis.from_url(url), **lease)


def test_turns_of_one_conversation_never_overlap_and_go_in_ticket_order(replicas):
    async def scenario():
        first, second = two_replicas(replicas)
        conversation, inside, order = uuid.uuid4().hex, [], []

        async def job(replica, number):
            async with replica.turn(conversation):
                inside.append(number)
                assert len(inside) == 1, "two turns at once"
                order.append(number)
                await asyncio.sleep(0.01)
                inside.remove(number)

        tickets = aioredis.Redis.from_url(replicas)
        tasks = []
        for number in range(12):
            tasks.append(asyncio.create_task(job((first, second)[number % 2], number)))
            # the next job starts once this one holds its ticket, so tickets go in this order
            # whatever the machine's load (a fixed pause did not, with a benchmark beside it)
            while int(await tickets.get(f"{PREFIX}:turn:{conversation}:next") or 0) < number + 1:
                await asyncio.sleep(0.001)
        await asyncio.gather(*tasks)
        await tickets.close()
        return order

    assert asyncio.run(scenario()) == list(range(12))


def test_other_conversations_do_not_wait(replicas):
    async def scenario():
        first, second = two_replicas(replicas)
        busy = asyncio.Event()

        async def long_turn():
            async with first.turn("conversation-a"):
                busy.set()
                await asyncio.sleep(1.0)

        holder = asyncio.create_task(long_turn())
        await busy.wait()
        began = time.monotonic()
        async with second.turn("conversation-b"):
            waited = time.monotonic() - began
        await holder
        return waited

    assert asyncio.run(scenario()) < 0.5


def test_a_turn_held_by_a_replica_that_died_is_skipped_after_its_lease(replicas):
    async def scenario():
        dead, alive = two_replicas(replicas, lease_ms=400, heartbeat_seconds=0.1)
        conversation = uuid.uuid4().hex
        held = dead.turn(conversation)
        await held.__aenter__()  # takes the turn and then "dies": no release, no heartbeat
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()
        began = time.monotonic()
        async with alive.turn(conversation):
            return time.monotonic() - began

    assert 0.3 < asyncio.run(scenario()) < 3


def test_a_long_turn_keeps_its_lease_by_renewing_it(replicas):
    async def scenario():
        first, second = two_replicas(replicas, lease_ms=300, heartbeat_seconds=0.05)
        conversation, events = uuid.uuid4().hex, []

        async def slow():
            async with first.turn(conversation):
                events.append("slow starts")
                await asyncio.sleep(1.0)  # more than three leases
                events.append("slow ends")

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.05)
        async with second.turn(conversation):
            events.append("next")
        await task
        return events

    assert asyncio.run(scenario()) == ["slow starts", "slow ends", "next"]


def test_without_redis_a_turn_goes_ahead_and_the_log_says_why(caplog):
    async def scenario():
        unreachable = TurnOrder(aioredis.Redis(port=1, socket_connect_timeout=0.5))
        async with unreachable.turn("conversation"):
            return True

    assert asyncio.run(scenario())
    assert "Redis unavailable" in caplog.text
