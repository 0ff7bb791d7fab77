"""Two gateway replicas sharing state in the real Redis (GATEWAY_REDIS_URL), and one whose Redis
is gone: pushes reach a socket on the other replica, limits hold across replicas, and without
Redis the gateway still answers (with a warning in its log)."""

import asyncio
import dataclasses
import uuid

import pytest
import redis
import requests

from ops.processes import start_gateway, stop, wait_for_gateway
from tests.conftest import free_port, visitor_socket

GATEWAY_REDIS_URL = "redis://127.0.0.1:6379/4"
NO_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


@pytest.fixture(scope="module")
def gateways(stack):
    redis.Redis.from_url(GATEWAY_REDIS_URL).flushdb()
    replicas, processes = [], []
    for name, url in (("a", GATEWAY_REDIS_URL), ("b", GATEWAY_REDIS_URL), ("without-redis", NO_REDIS_URL)):
        settings = dataclasses.replace(stack.settings, gateway_port=free_port())
        processes.append(
            start_gateway(
                settings,
                f"gateway-{name}.log",
                GATEWAY_REDIS_URL=url,
                WEB_ADDRESS_MESSAGES="1000",
                WEB_ADDRESS_REQUESTS="100000",
                WEB_SOCKETS_PER_ADDRESS="1000",
            )
        )
        replicas.append(settings)
    try:
        for settings, process in zip(replicas, processes):
            wait_for_gateway(settings, process)
        yield replicas
    finally:
        stop(processes)


def api(settings, session, text):
    return requests.post(f"{settings.gateway_url}/api/v1/messages", json={"session": session, "text": text}, timeout=60)


def test_a_message_for_a_visitor_reaches_their_socket_on_the_other_replica(gateways):
    first, second, _ = gateways
    session = uuid.uuid4().hex

    async def visitor():
        async with visitor_socket(first.gateway_url, session) as socket:
            await asyncio.get_running_loop().run_in_executor(None, api, second, session, "hva er syfilis")
            while True:
                event = await socket.receive_json(timeout=30)
                if event["type"] == "message":
                    return event["message"]["text"]

    assert "yfilis" in asyncio.run(visitor())


def test_a_sessions_flood_limit_holds_across_replicas(gateways):
    first, second, _ = gateways
    session = uuid.uuid4().hex
    codes = [api((first, second)[n % 2], session, f"hei {n}").status_code for n in range(10)]
    assert codes[:8] == [200] * 8 and codes[8:] == [429, 429]


def test_without_redis_the_gateway_answers_and_says_so_in_its_log(gateways, stack):
    _, _, alone = gateways
    response = api(alone, uuid.uuid4().hex, "hvor kan jeg teste meg")
    assert response.status_code == 200 and response.json()["messages"]
    log = (stack.settings.var_dir / "logs" / "gateway-without-redis.log").read_text()
    assert "Redis unavailable" in log
