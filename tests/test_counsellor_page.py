"""The counsellors' page on a gateway of its own (short sessions, its own lockout counter)."""
import dataclasses
import re

import pytest
import requests

from bot.processes import start_gateway, stop, wait_for_gateway
from tests.conftest import COUNSELLOR_PASSWORD, free_port


@pytest.fixture(scope="module")
def page(stack):
    settings = dataclasses.replace(stack.settings, gateway_port=free_port())
    gateway = start_gateway(settings, "gateway-counsellors.log", COUNSELLOR_SESSION_SECONDS="3")
    try:
        wait_for_gateway(settings, gateway)
        yield f"{settings.gateway_url}/radgiver/"
    finally:
        stop([gateway])


def logged_in(page):
    browser = requests.Session()
    listing = browser.post(f"{page}login", data={"user": "radgiver", "password": COUNSELLOR_PASSWORD}, timeout=10)
    assert listing.status_code == 200
    return browser, re.search(r'name="csrf" value="([^"]+)"', listing.text).group(1)


def test_a_form_without_its_csrf_token_is_refused(page):
    browser, _ = logged_in(page)
    assert browser.post(f"{page}logout", data={}, timeout=10).status_code == 403
    assert browser.post(f"{page}block", data={"start": "2030-01-01 09:00"}, timeout=10).status_code == 403


def test_the_session_expires(page):
    import time

    browser, csrf = logged_in(page)
    assert browser.get(page, timeout=10).url == page
    time.sleep(3.5)
    assert browser.get(page, timeout=10).url.endswith("/radgiver/login")
    assert browser.post(f"{page}logout", data={"csrf": csrf}, timeout=10).url.endswith("/radgiver/login")


def test_logging_out_ends_the_session_and_is_audited(page, stack):
    from actions.audit_log import AuditLog
    from actions.booking_store import BookingStore

    browser, csrf = logged_in(page)
    assert browser.post(f"{page}logout", data={"csrf": csrf}, timeout=10).url.endswith("/radgiver/login")
    assert browser.get(page, timeout=10).url.endswith("/radgiver/login")
    store = BookingStore(f"sqlite:///{stack.settings.var_dir / 'bookings.db'}")
    assert AuditLog(store.engine).entries(5)[0].event == "logout"
