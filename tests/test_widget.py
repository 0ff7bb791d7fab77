"""The web widget in Debian's Chromium (Playwright), against the real gateway, Rasa server and
action server; and its HTTP form without a browser."""

import hashlib
import hmac
import http.server
import json
import re
import sqlite3
import threading
import uuid

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from tests.conftest import ROOT, reference_and_pin

CHROMIUM = "/usr/bin/chromium"
STORAGE_KEY = "radgivning-chat"
ACCENT = "rgb(29, 79, 124)"  # --rb-accent, #1d4f7c

HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another site</title>
<style>* {{ font-family: "Comic Sans MS", cursive !important; color: red; }}
button {{ background: lime !important; }}</style>
</head><body><h1>Another site</h1><p>Some page that embeds the chat.</p>
<script src="{gateway}/widget.js" data-title="Chat (test)" data-exit-url="{origin}/neutral.html" defer></script>
</body></html>"""
NEUTRAL_PAGE = "<!doctype html><html lang='en'><head><title>Weather</title></head><body><h1>Weather</h1></body></html>"


@pytest.fixture(scope="module")
def host_page(stack):
    """Serves a page on another origin (another port) that embeds the widget with the one tag."""
    pages = {
        "/": HOST_PAGE.format(gateway=stack.settings.gateway_url, origin=stack.host_page_origin),
        "/neutral.html": NEUTRAL_PAGE,
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.split("?")[0], "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            """Quiet: the test output needs no access log of the host page."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", stack.host_page_port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield stack.host_page_origin
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nb-NO")
    tab = context.new_page()
    yield tab
    context.close()


def shadow(page):
    """The widget's elements: Playwright's locators pierce the open shadow root."""
    return page.locator("#radgivning-chat")


def open_chat(page, url):
    page.goto(url)
    page.get_by_role("button", name="Åpne chatten").click()
    expect(page.get_by_role("log")).to_contain_text("chatbot")


def say(page, text):
    box = page.get_by_role("textbox", name="Skriv en melding")
    box.fill(text)
    box.press("Enter")


def bot_messages(page):
    return page.locator(".message.bot")


def wait_for_bot_messages(page, count, timeout=60000):
    expect(bot_messages(page)).to_have_count(count, timeout=timeout)
    return bot_messages(page).nth(count - 1)


def session_of(page) -> str:
    return page.evaluate(f"JSON.parse(sessionStorage.getItem('{STORAGE_KEY}')).session")


def sender_of(stack, session: str) -> str:
    digest = hmac.new(stack.sender_secret(), f"web:{session}".encode(), hashlib.sha256)
    return f"web-{digest.hexdigest()[:32]}"


def tracker_events(stack, sender: str) -> int:
    with sqlite3.connect(stack.settings.tracker_db) as db:
        return db.execute("select count(*) from events where sender_id = ?", (sender,)).fetchone()[0]


# --- the widget in the browser -------------------------------------------------------------------


def test_the_widget_is_small_and_needs_nothing_from_elsewhere():
    js, css = (ROOT / "bot" / "web" / "widget.js").read_text(), (ROOT / "bot" / "web" / "widget.css").read_text()
    assert len(js.encode()) + len(css.encode()) < 25_000
    assert not re.search(r"https?://(?!www\.yr\.no)", js.replace("https://…", "")), "no third-party address"


def test_open_greets_as_a_bot_with_the_privacy_notice_and_answers_a_question(page, stack):
    open_chat(page, stack.settings.gateway_url)
    welcome = bot_messages(page).first
    expect(welcome).to_contain_text("ikke et menneske")
    expect(welcome).to_contain_text("Personvern")
    say(page, "hvor kan jeg teste meg for klamydia?")
    answer = wait_for_bot_messages(page, 2)
    expect(answer).to_contain_text("fastlege")
    expect(answer.locator("time")).to_have_text(re.compile(r"^\d\d[:.]\d\d$"))
    expect(page.locator(".message.user")).to_have_text(re.compile("hvor kan jeg teste meg"))


def test_booking_a_counsellor_with_quick_replies(page, stack):
    from core.booking_store import BookingStore

    open_chat(page, stack.settings.gateway_url)
    say(page, "jeg vil bestille en samtale med en rådgiver")
    wait_for_bot_messages(page, 2)
    page.locator(".reply", has_text="chat").first.click()
    expect(page.locator(".message.user").last).to_contain_text("chat")
    wait_for_bot_messages(page, 3)
    page.locator(".reply").first.click()
    expect(wait_for_bot_messages(page, 4)).to_contain_text("Stemmer dette?")
    page.locator(".reply", has_text="Ja").click()
    booked = wait_for_bot_messages(page, 5)
    expect(booked).to_contain_text("Referansen din er")
    reference, _ = reference_and_pin(booked.inner_text())
    stored = BookingStore(f"sqlite:///{stack.settings.var_dir / 'bookings.db'}").find(reference)
    assert stored.channel == "chat" and stored.sender_id == sender_of(stack, session_of(page))


def test_a_reload_and_navigation_keep_the_conversation_once(page, stack):
    open_chat(page, stack.settings.gateway_url)
    say(page, "hva er klamydia")
    wait_for_bot_messages(page, 2)
    page.reload()
    expect(page.get_by_role("log")).to_contain_text("hva er klamydia")  # still open, history from the server
    expect(bot_messages(page)).to_have_count(2)
    page.goto(stack.settings.gateway_url + "/?side=testing")  # another page of the same site
    expect(page.locator(".message.user")).to_have_count(1)
    expect(bot_messages(page)).to_have_count(2)


def test_after_the_gateway_restarts_the_widget_reconnects_without_losing_or_repeating(page, stack):
    open_chat(page, stack.settings.gateway_url)
    say(page, "hva er gonoré")
    wait_for_bot_messages(page, 2)
    stack.restart_gateway()
    say(page, "hva koster det å teste seg")
    expect(bot_messages(page).nth(2)).to_contain_text("gratis", timeout=60000)
    expect(page.locator(".message.user")).to_have_count(2)
    expect(page.locator(".message.pending")).to_have_count(0)
    expect(page.locator(".status")).to_be_hidden()


def test_a_message_pushed_by_the_server_reaches_the_open_widget(page, stack):
    """The socket carries messages the visitor did not ask for right then (later: counsellors)."""
    open_chat(page, stack.settings.gateway_url)
    requests.post(
        f"{stack.settings.gateway_url}/api/v1/messages",
        json={"session": session_of(page), "text": "hva er syfilis"},
        timeout=60,
    ).raise_for_status()
    expect(wait_for_bot_messages(page, 2)).to_contain_text("yfilis")


def test_start_over_and_delete_the_conversation(page, stack):
    open_chat(page, stack.settings.gateway_url)
    say(page, "hva er herpes")
    wait_for_bot_messages(page, 2)
    page.get_by_role("button", name="Start på nytt").click()
    expect(bot_messages(page)).to_have_count(1)
    say(page, "hva er hiv")
    wait_for_bot_messages(page, 2)
    old_sender = sender_of(stack, session_of(page))
    assert tracker_events(stack, old_sender) > 0
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Slett samtalen").click()
    expect(page.get_by_role("log")).to_contain_text("slettet fra våre servere")
    assert tracker_events(stack, old_sender) == 0
    expect(page.locator(".status")).to_be_hidden()
    assert sender_of(stack, session_of(page)) != old_sender  # a new, unrelated conversation


def test_quick_exit_leaves_at_once_clears_storage_and_deletes(page, stack, host_page):
    open_chat(page, host_page)
    say(page, "jeg er redd for at jeg har fått klamydia")
    wait_for_bot_messages(page, 2)
    sender = sender_of(stack, session_of(page))
    page.get_by_role("button", name="Rask utgang").click()
    page.wait_for_url(f"{host_page}/neutral.html")
    assert page.evaluate(f"sessionStorage.getItem('{STORAGE_KEY}')") is None
    page.go_back()  # the page with the chat was replaced in the history
    assert page.url != f"{host_page}/"
    for _ in range(50):
        if tracker_events(stack, sender) == 0:
            break
        page.wait_for_timeout(200)
    assert tracker_events(stack, sender) == 0


def test_escape_pressed_twice_is_a_quick_exit(page, host_page):
    open_chat(page, host_page)
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(f"{host_page}/neutral.html")


def test_html_in_a_message_is_shown_as_text_and_never_run(page, stack):
    open_chat(page, stack.settings.gateway_url)
    hostile = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> hei'
    say(page, hostile)
    wait_for_bot_messages(page, 2)
    expect(page.locator(".message.user")).to_contain_text("<script>window.__pwned = 1</script>")
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".message img, .message script").count() == 0


def test_keyboard_only_from_the_page_to_an_answer_and_back(page, stack):
    page.goto(stack.settings.gateway_url)
    launcher = page.get_by_role("button", name="Åpne chatten")
    for _ in range(10):
        page.keyboard.press("Tab")
        if launcher.evaluate("el => el.getRootNode().activeElement === el"):
            break
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.shadowRoot.activeElement.id") == "rb-input"
    page.keyboard.type("hva er mykoplasma")
    page.keyboard.press("Enter")
    expect(wait_for_bot_messages(page, 2)).to_contain_text("ykoplasma")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert launcher.evaluate("el => el.getRootNode().activeElement === el")
    expect(launcher).to_have_attribute("aria-expanded", "false")


def test_new_messages_are_announced_to_screen_readers(page, stack):
    open_chat(page, stack.settings.gateway_url)
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("dialog")).to_have_attribute("aria-labelledby", "rb-title")


def test_no_serious_or_critical_accessibility_findings(page, stack):
    from axe_playwright_python.sync_playwright import Axe

    open_chat(page, stack.settings.gateway_url)
    say(page, "jeg vil bestille en samtale")
    wait_for_bot_messages(page, 2)
    expect(page.locator(".reply").first).to_be_visible()
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in serious]
    page.screenshot(path=str(stack.settings.var_dir / "widget-desktop.png"))


def test_on_a_phone_the_panel_fills_the_screen(browser, stack):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2, locale="nb-NO"
    )
    phone = context.new_page()
    try:
        open_chat(phone, stack.settings.gateway_url)
        say(phone, "hvor kan jeg teste meg")
        wait_for_bot_messages(phone, 2)
        box = phone.get_by_role("dialog").bounding_box()
        assert box["x"] == 0 and box["y"] == 0 and box["width"] == 390 and abs(box["height"] - 844) < 2
        input_box = phone.get_by_role("textbox", name="Skriv en melding").bounding_box()
        assert input_box["y"] + input_box["height"] <= 844
        phone.screenshot(path=str(stack.settings.var_dir / "widget-phone.png"))
    finally:
        context.close()


def test_the_widget_on_another_site_keeps_its_own_styles_and_leaves_the_page_alone(page, host_page):
    page.goto(host_page)
    launcher = page.get_by_role("button", name="Åpne chatten")
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") == ACCENT
    assert "Comic" not in launcher.evaluate("el => getComputedStyle(el).fontFamily")
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).color") == "rgb(255, 0, 0)"
    launcher.click()
    expect(page.get_by_role("heading", name="Chat (test)")).to_be_visible()


# --- the HTTP form of the channel and its limits ------------------------------------------------


def api(stack, body, **kwargs):
    return requests.post(f"{stack.settings.gateway_url}/api/v1/messages", json=body, timeout=60, **kwargs)


def new_session() -> str:
    return uuid.uuid4().hex


def test_http_form_answers_with_the_bot_messages(stack):
    response = api(stack, {"session": new_session(), "text": "hvor kan jeg teste meg for hiv"})
    assert response.status_code == 200
    assert "hiv" in response.json()["messages"][0]["text"].lower()
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "body, status",
    [
        ({"session": "kort", "text": "hei"}, 400),
        ({"session": 12345678901234567890123, "text": "hei"}, 400),
        ({"session": uuid.uuid4().hex, "text": ["hei"]}, 400),
        ({"session": uuid.uuid4().hex, "text": "   "}, 400),
        ({"session": uuid.uuid4().hex, "text": "a" * 2001}, 413),
    ],
)
def test_http_form_refuses_wrong_input_with_a_clear_error(stack, body, status):
    response = api(stack, body)
    assert response.status_code == status and response.json()["error"] and response.json()["message"]


def test_http_form_refuses_what_is_not_json_and_what_is_too_big(stack):
    url = f"{stack.settings.gateway_url}/api/v1/messages"
    assert requests.post(url, data=b"\xff\xfe{", timeout=10).status_code == 400
    assert requests.post(url, data=b"[1, 2]", timeout=10).status_code == 400
    assert requests.post(url, data=b"x" * 100_000, timeout=10).status_code == 413


def test_other_origins_are_refused(stack):
    evil = {"Origin": "https://evil.example"}
    assert api(stack, {"session": new_session(), "text": "hei"}, headers=evil).status_code == 403
    assert (
        requests.get(
            f"{stack.settings.gateway_url}/ws",
            headers={
                **evil,
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            },
            timeout=10,
        ).status_code
        == 403
    )
    allowed = api(stack, {"session": new_session(), "text": "hei"}, headers={"Origin": stack.host_page_origin})
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == stack.host_page_origin


def test_one_session_flooding_gets_one_warning_then_is_refused(stack):
    session = new_session()
    codes = [api(stack, {"session": session, "text": f"hei nummer {n}"}).status_code for n in range(10)]
    assert codes[:8] == [200] * 8 and codes[8:] == [429, 429]


def test_one_address_is_limited_across_sessions(stack):
    import dataclasses

    from ops.processes import start_gateway, stop, wait_for_gateway
    from tests.conftest import free_port

    settings = dataclasses.replace(stack.settings, gateway_port=free_port())
    gateway = start_gateway(settings, "gateway-limits.log", WEB_ADDRESS_MESSAGES="3")
    try:
        wait_for_gateway(settings, gateway)
        url = f"{settings.gateway_url}/api/v1/messages"
        codes = [
            requests.post(url, json={"session": new_session(), "text": "hei"}, timeout=60).status_code for _ in range(5)
        ]
    finally:
        stop([gateway])
    assert codes == [200, 200, 200, 429, 429]


def test_the_demo_page_and_the_widget_send_strict_security_headers(stack):
    for path in ("/", "/widget.js", "/widget.css"):
        headers = requests.get(stack.settings.gateway_url + path, timeout=10).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer" and headers["X-Content-Type-Options"] == "nosniff"


def test_identifying_numbers_are_masked_before_they_are_stored(stack):
    session = new_session()
    fnr, email = "15108695088", "kari.nordmann@example.no"
    reply = api(
        stack, {"session": session, "text": f"jeg heter Kari, fnr {fnr}, e-post {email}, hvor kan jeg teste meg?"}
    )
    messages = reply.json()["messages"]
    assert "fjernet det fra meldingen" in messages[0]["text"]
    assert "fastlege" in " ".join(m["text"] for m in messages)
    with sqlite3.connect(stack.settings.tracker_db) as db:
        events = [
            json.loads(row[0])
            for row in db.execute("select data from events where sender_id = ?", (sender_of(stack, session),))
        ]
    stored = json.dumps(events, ensure_ascii=False)
    assert events and fnr not in stored and email not in stored
    [said] = [event["text"] for event in events if event["event"] == "user"]
    assert "[fødselsnummer]" in said and "[e-post]" in said


def test_the_phone_number_the_booking_asks_for_is_kept(stack):
    session = new_session()
    offered = api(stack, {"session": session, "text": "kan dere ringe meg"}).json()["messages"]
    slot = next(b["payload"] for m in offered for b in m["buttons"] if "booking_slot" in b["payload"])
    asked = api(stack, {"session": session, "text": slot}).json()["messages"]
    assert "nummer" in " ".join(m["text"] for m in asked)
    summary = " ".join(m["text"] for m in api(stack, {"session": session, "text": "912 34 567"}).json()["messages"])
    assert "+47 •• •• 45 67" in summary and "fjernet" not in summary  # taken, and shown masked


def test_the_privacy_page_is_linked_from_the_greeting_and_says_how_long_and_how_to_delete(page, stack):
    open_chat(page, stack.settings.gateway_url)
    link = page.get_by_role("link", name="Les mer om personvern")
    expect(link).to_have_attribute("href", f"{stack.settings.gateway_url}/personvern")
    response = requests.get(f"{stack.settings.gateway_url}/personvern", timeout=10)
    assert response.status_code == 200 and "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "30 dager etter siste melding" in response.text and "slett samtalen" in response.text
    assert "{" not in response.text
