"""Live chat with a counsellor in real headless Chromium: a counsellor's console and a visitor's
widget in two browser contexts, against the real gateway, Rasa and action server."""

import sqlite3

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

from tests.conftest import COUNSELLOR_PASSWORD

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


def tracker_texts(stack) -> str:
    with sqlite3.connect(stack.settings.tracker_db) as db:
        return "\n".join(row[0] or "" for row in db.execute("select data from events"))


def test_a_counsellor_takes_a_visitors_chat_and_hands_it_back_to_the_bot(stack, chromium):
    gateway = stack.settings.gateway_url
    counsellor = chromium.new_context(locale="nb-NO").new_page()
    visitor = chromium.new_context(locale="nb-NO").new_page()
    try:
        # 1. The counsellor logs in and marks themself available.
        counsellor.goto(f"{gateway}/radgiver/login")
        counsellor.get_by_label("Brukernavn").fill("radgiver")
        counsellor.get_by_label("Passord").fill(COUNSELLOR_PASSWORD)
        counsellor.get_by_role("button", name="Logg inn").click()
        available = counsellor.get_by_label("Tilgjengelig for chat")
        available.check()
        expect(available).to_be_checked()
        counsellor.wait_for_timeout(500)  # the availability has reached the gateway

        # 2. A visitor in the widget asks for a person and is told about the queue.
        visitor.goto(gateway)
        visitor.get_by_role("button", name="Åpne chatten").click()
        expect(visitor.get_by_role("log")).to_contain_text("chatbot")
        box = visitor.get_by_role("textbox", name="Skriv en melding")
        box.fill("hva er klamydia?")
        box.press("Enter")
        expect(visitor.locator(".message.bot")).to_have_count(2, timeout=60000)
        box.fill("kan jeg snakke med et menneske nå?")
        box.press("Enter")
        expect(visitor.get_by_role("log")).to_contain_text("i køen", timeout=60000)

        # 3. The counsellor sees it, takes it with its bot history, and writes.
        take = counsellor.get_by_role("button", name="Ta samtalen")
        expect(take).to_have_count(1, timeout=10000)
        take.click()
        chat = counsellor.locator("section.chat")
        expect(chat).to_contain_text("hva er klamydia?", timeout=10000)
        findings = Axe().run(counsellor).response["violations"]
        serious = [v for v in findings if v["impact"] in ("serious", "critical")]
        assert not serious, [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in serious]
        chat.get_by_role("textbox", name="Svar").fill("Hei, jeg heter Kari og er rådgiver.")
        chat.get_by_role("button", name="Send").click()

        # 4. The visitor sees it and answers; the counsellor sees the answer.
        log = visitor.get_by_role("log")
        expect(log).to_contain_text("Du snakker nå med en rådgiver", timeout=5000)
        expect(log).to_contain_text("Hei, jeg heter Kari og er rådgiver.", timeout=5000)
        box.fill("takk, jeg er redd for at jeg er smittet")
        box.press("Enter")
        expect(chat).to_contain_text("takk, jeg er redd for at jeg er smittet", timeout=5000)

        # 5. The counsellor ends the chat; the bot is back and answers the next question.
        chat.get_by_role("button", name="Avslutt samtalen").click()
        expect(log).to_contain_text("chatboten som svarer igjen", timeout=5000)
        expect(counsellor.locator("section.chat")).to_have_count(0)
        bots_before = visitor.locator(".message.bot").count()
        box.fill("hvor kan jeg teste meg?")
        box.press("Enter")
        expect(visitor.locator(".message.bot")).to_have_count(bots_before + 1, timeout=60000)

        # 6. Rasa's tracker store holds none of the human part.
        stored = tracker_texts(stack)
        assert "hvor kan jeg teste meg" in stored
        assert "redd for at jeg er smittet" not in stored
        assert "jeg heter Kari" not in stored
    finally:
        counsellor.context.close()
        visitor.context.close()
