"""Which address counts for per-address limits and the audit log (bot/client_address.py), asked
of a real aiohttp server over loopback (the request always comes from 127.0.0.1)."""

import asyncio

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from bot.client_address import client_address


def seen_address(trusted_proxies: tuple, forwarded: str = "") -> str:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=str(client_address(request, trusted_proxies)))

    async def ask() -> str:
        app = web.Application()
        app.router.add_get("/", handler)
        async with TestServer(app, host="127.0.0.1") as server, ClientSession() as client:
            headers = {"X-Forwarded-For": forwarded} if forwarded else {}
            async with client.get(server.make_url("/"), headers=headers) as response:
                return await response.text()

    return asyncio.run(ask())


def test_without_trusted_proxies_the_header_is_ignored():
    assert seen_address((), "198.51.100.1") == "127.0.0.1"


def test_behind_a_trusted_balancer_the_client_it_saw_counts():
    assert seen_address(("127.0.0.1",), "198.51.100.1") == "198.51.100.1"


def test_a_forged_hop_before_the_real_client_is_not_believed():
    assert seen_address(("127.0.0.1",), "10.9.9.9, 198.51.100.1") == "198.51.100.1"


def test_a_request_from_an_untrusted_address_cannot_pose_as_someone_else():
    assert seen_address(("10.0.0.1",), "198.51.100.1") == "127.0.0.1"


def test_a_trusted_proxy_without_the_header_is_the_address():
    assert seen_address(("127.0.0.1",)) == "127.0.0.1"
