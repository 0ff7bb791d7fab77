"""The counsellors' page on a gateway of its own (short sessions, its own account, so its
lockouts do not touch the other tests' logins; addresses from X-Forwarded-For)."""

import dataclasses
import re

import pytest
import requests

from ops.processes import start_gateway, stop, wait_for_gateway
from tests.conftest import COUNSELLOR_PASSWORD, counsellor_login, free_port

USER = "radgiver-side"


@pytest.fixture(scope="module")
def page(stack):
    settings = dataclasses.replace(stack.settings, gateway_port=free_port())
    gateway = start_gateway(
        settings,
        "gateway-counsellors.log",
        COUNSELLOR_SESSION_SECONDS="3",
        COUNSELLOR_USER=USER,
        TRUSTED_PROXIES="127.0.0.1",
    )
    try:
        wait_for_gateway(settings, gateway)
        yield f"{settings.gateway_url}/radgiver/"
    finally:
        stop([gateway])


def logged_in(page, address="10.0.0.1"):
    browser = requests.Session()
    listing = counsellor_login(browser, page, USER, COUNSELLOR_PASSWORD, **{"X-Forwarded-For": address})
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
    from core.audit_log import AuditLog
    from core.booking_store import BookingStore

    browser, csrf = logged_in(page)
    assert browser.post(f"{page}logout", data={"csrf": csrf}, timeout=10).url.endswith("/radgiver/login")
    assert browser.get(page, timeout=10).url.endswith("/radgiver/login")
    store = BookingStore(f"sqlite:///{stack.settings.var_dir / 'bookings.db'}")
    assert AuditLog(store.engine).entries(5)[0].event == "logout"


def test_another_site_cannot_post_the_login_form(page, stack):
    stranger = requests.Session()
    data = {"user": USER, "password": "gjett"}
    assert stranger.post(f"{page}login", data=data, timeout=10).status_code == 403  # no CSRF token
    form = stranger.get(f"{page}login", timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    forged = stranger.post(
        f"{page}login", data={**data, "csrf": csrf}, headers={"Origin": "https://evil.example"}, timeout=10
    )
    assert forged.status_code == 403
    assert "login_failed" not in [e.event for e in audit_entries(stack, 5)]  # nothing was even counted


def audit_entries(stack, limit):
    from core.audit_log import AuditLog
    from core.booking_store import BookingStore

    return AuditLog(BookingStore(f"sqlite:///{stack.settings.var_dir / 'bookings.db'}").engine).entries(limit)


def test_lockout_per_address_and_per_account_and_only_known_names_audited(page, stack):
    attacker = requests.Session()
    for _ in range(5):
        assert (
            counsellor_login(
                attacker, page, "hemmelig-passord-i-feil-felt", "x", **{"X-Forwarded-For": "10.0.0.66"}
            ).status_code
            == 401
        )
    for _ in range(3):
        assert (
            counsellor_login(attacker, page, USER, COUNSELLOR_PASSWORD, **{"X-Forwarded-For": "10.0.0.66"}).status_code
            == 429
        )
    entries = audit_entries(stack, 20)
    assert all("hemmelig" not in e.actor for e in entries)
    assert [e.event for e in entries if e.address == "10.0.0.66"].count("login_locked") == 1
    logged_in(page, "10.0.0.2")  # the account still works from elsewhere

    # Twenty failures on the account from many addresses lock the account everywhere
    for n in range(20):
        counsellor_login(requests.Session(), page, USER, "gjett", **{"X-Forwarded-For": f"10.1.0.{n}"})
    assert (
        counsellor_login(
            requests.Session(), page, USER, COUNSELLOR_PASSWORD, **{"X-Forwarded-For": "10.0.0.3"}
        ).status_code
        == 429
    )
