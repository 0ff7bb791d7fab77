import contextlib
import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ops.processes import free_port  # noqa: E402,F401 (tests import it from here)

SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))


@contextlib.asynccontextmanager
async def visitor_socket(base_url: str, session: str):
    """The widget's WebSocket to the gateway (or balancer) at base_url, past hello → history."""
    import aiohttp

    async with aiohttp.ClientSession() as client:
        async with client.ws_connect(f"{base_url.replace('http', 'ws', 1)}/ws") as socket:
            await socket.send_json({"type": "hello", "session": session})
            assert (await socket.receive_json(timeout=30))["type"] == "history"
            yield socket


async def console_socket(client, base_url: str, user: str = "radgiver", password: str = ""):
    """Logs a counsellor in on the gateway at base_url (an aiohttp session with an unsafe cookie
    jar, for 127.0.0.1) and opens the live console's socket."""
    import re

    form = await (await client.get(f"{base_url}/radgiver/login")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    data = {"user": user, "password": password or COUNSELLOR_PASSWORD, "csrf": csrf}
    await client.post(f"{base_url}/radgiver/login", data=data)
    return await client.ws_connect(f"{base_url.replace('http', 'ws', 1)}/radgiver/ws")


async def next_event(socket, wanted, timeout: float = 30):
    """The next JSON event on a socket for which wanted(event) holds."""
    import asyncio

    async def wait():
        while True:
            event = await socket.receive_json()
            if wanted(event):
                return event

    return await asyncio.wait_for(wait(), timeout)


@contextlib.asynccontextmanager
async def gateway_in_process(rasa_app, var_dir: Path, **overrides):
    """The real gateway app in this process (aiohttp test server, SQLite in var_dir, no Telegram,
    no Redis) in front of `rasa_app`, a small fake Rasa served over real HTTP; yields (client, settings)."""
    import dataclasses

    from aiohttp.test_utils import TestClient, TestServer

    from bot.gateway import create_app
    from core.settings import load_settings

    async with TestServer(rasa_app) as rasa_server:
        settings = dataclasses.replace(
            load_settings(),
            rasa_host="127.0.0.1",
            rasa_port=rasa_server.port,
            var_dir=var_dir,
            tracker_db=var_dir / "tracker.db",
            telegram_token="",
            gateway_redis_url="",
            **overrides,
        )
        async with TestClient(TestServer(create_app(settings))) as client:
            yield client, settings


def counsellor_login(browser, page: str, user: str, password: str, **headers):
    """Logs in as a browser does: the form first (its CSRF cookie and field), then the post."""
    import re

    form = browser.get(f"{page}login", timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    return browser.post(
        f"{page}login", data={"user": user, "password": password, "csrf": csrf}, headers=headers, timeout=10
    )


def reference_and_pin(text: str):
    """(reference, PIN) from the bot's booking confirmation."""
    import re

    found = re.search(
        r"(?:Referansen din er|Your reference is) ([A-Z0-9]{4}-[A-Z0-9]{4}) "
        r"(?:og PIN-koden|and your PIN is) (\d{4})",
        text,
    )
    assert found, f"no reference and PIN in {text!r}"
    return found.group(1), found.group(2)


def post_to_rasa(settings, sender: str, text: str, timeout: float = 60):
    """A message straight to Rasa's channel, with the gateway's secret (as the gateway sends it)."""
    import requests

    from bot.rasa_client import webhook_url
    from services.internal_secrets import GATEWAY_HEADER

    return requests.post(
        webhook_url(settings.rasa_url),
        json={"sender": sender, "message": text},
        headers={GATEWAY_HEADER: settings.rasa_channel_secret},
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared() -> Path:
    return SHARED


COUNSELLOR_PASSWORD = "riktig-hest-batteri-stift"
# The action server's clock (actions/clock.py) during the tests: a Wednesday morning. Tests that
# need another time write it to stack.clock_file and put this back afterwards.
RISK_CHECK_NOW = "2026-12-02T10:00:00+01:00"
CHAT_OPEN_NOW = "2026-12-02T11:00:00+01:00"  # within the chat's hours (content/booking.yml)


class Stack:
    """The real action server, Rasa server and gateway, started once per test session."""

    def __init__(self, settings) -> None:
        from ops.processes import start_action_server, start_rasa

        self.settings = settings
        self.clock_file = Path(os.environ["ACTION_CLOCK_FILE"])
        self.host_page_port = free_port()  # a page on another origin that embeds the widget
        self.host_page_origin = f"http://127.0.0.1:{self.host_page_port}"
        self.action_server = start_action_server(settings, **self.ACTION_ENV)
        self.rasa = start_rasa(settings)
        self.gateway = self._start_gateway()

    def _start_gateway(self):
        from ops.processes import start_gateway

        origins = f"{self.settings.gateway_url},http://localhost:{self.settings.gateway_port},{self.host_page_origin}"
        # every test's visitor comes from 127.0.0.1: the per-address limits are tested on gateways of their own
        return start_gateway(
            self.settings,
            WEB_ALLOWED_ORIGINS=origins,
            WEB_ADDRESS_MESSAGES="1000",
            WEB_ADDRESS_REQUESTS="100000",
            WEB_SOCKETS_PER_ADDRESS="1000",
        )

    # the tests' users all come from 127.0.0.1 and book many times a day
    ACTION_ENV = {"BOOKINGS_PER_ADDRESS_PER_DAY": "100000"}

    def stop_action_server(self) -> None:
        from ops.processes import stop

        stop([self.action_server])

    def restart_action_server(self, **extra_env: str) -> None:
        """The action server again, with extra environment (none: as the session started it)."""
        from ops.processes import action_server_up, start_action_server, stop

        stop([self.action_server])
        self.action_server = start_action_server(self.settings, **{**self.ACTION_ENV, **extra_env})
        deadline = time.monotonic() + 60
        while not action_server_up(self.settings):
            assert time.monotonic() < deadline, "the action server did not come back"
            time.sleep(0.3)

    def restart_gateway(self) -> None:
        from ops.processes import stop, wait_for_gateway

        stop([self.gateway])
        self.gateway = self._start_gateway()
        wait_for_gateway(self.settings, self.gateway)

    def sender_secret(self) -> bytes:
        from bot.pseudonyms import load_secret

        return load_secret(self.settings)

    def wait_until_ready(self, timeout: float = 300) -> None:
        from ops.processes import wait_until_ready

        wait_until_ready(self.settings, [self.action_server, self.rasa, self.gateway], timeout, need_gateway=True)

    def stop_rasa(self) -> None:
        from ops.processes import stop

        stop([self.rasa])

    def start_rasa(self) -> None:
        """Starts Rasa again on the same port and tracker store; returns once its model is loaded."""
        from ops.processes import start_rasa, wait_until_ready

        self.rasa = start_rasa(self.settings)
        wait_until_ready(self.settings, [self.action_server, self.rasa], timeout=300)

    def stop(self) -> None:
        from ops.processes import stop

        stop([self.gateway, self.rasa, self.action_server])


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    from bot.passwords import hash_password
    from ops.processes import loopback_settings

    var_dir = tmp_path_factory.mktemp("var")
    clock_file = var_dir / "action_clock"
    clock_file.write_text(RISK_CHECK_NOW)
    clock_file.chmod(0o600)  # like every runtime file (tests/test_security.py checks them all)
    handoff_clock = var_dir / "handoff_clock"  # the live chat's staffed hours: open (a Wednesday, 11:00)
    handoff_clock.write_text(CHAT_OPEN_NOW)
    handoff_clock.chmod(0o600)
    os.environ.update(
        HANDOFF_CLOCK_FILE=str(handoff_clock),
        COUNSELLOR_USER="radgiver",
        COUNSELLOR_PASSWORD_HASH=hash_password(COUNSELLOR_PASSWORD),
        COOKIE_SECURE="0",
        ACTION_CLOCK_FILE=str(clock_file),
    )
    settings = loopback_settings(var_dir, ROOT / "models" / "current.tar.gz")
    running = Stack(settings)
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module")
def postgres_url():
    """A fresh database on the machine's PostgreSQL, dropped after the module."""
    import uuid

    import sqlalchemy as sa

    name = f"test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- markers: what a test needs (make check runs the unit tests only) -------------------------------
MARKERS = {
    "unit": "needs neither a trained model nor running servers (make check)",
    "stack": "needs the real action server, Rasa (trained model) and gateway",
    "browser": "drives the widget in headless Chromium (and needs the stack)",
    "cluster": "needs PostgreSQL, Redis and several replicas",
}


def pytest_configure(config):
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")


def pytest_collection_modifyitems(items):
    """Marks each test by the fixtures it needs (directly or through other fixtures)."""
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        if needs & {"cluster", "postgres_url"}:
            item.add_marker(pytest.mark.cluster)
        if "browser" in needs:
            item.add_marker(pytest.mark.browser)
        if "stack" in needs:
            item.add_marker(pytest.mark.stack)
        if not needs & {"stack", "browser", "cluster", "postgres_url"}:
            item.add_marker(pytest.mark.unit)
