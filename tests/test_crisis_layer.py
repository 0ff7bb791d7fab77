"""The crisis layer through the real model: every indicator kind in content/crisis_indicators.yml
has cases that must get its crisis answer and hard negatives that must not; long and two-question
messages through the whole stack."""

import uuid

import pytest
import requests
import yaml

from tests.conftest import ROOT, post_to_rasa

INDICATORS = yaml.safe_load((ROOT / "content" / "crisis_indicators.yml").read_text(encoding="utf-8"))
CRISIS = set(INDICATORS)
POSITIVES = [
    (intent, kind, text)
    for intent, group in INDICATORS.items()
    for kind, entry in group["kinds"].items()
    for text in entry["positive"]
]
HARD_NEGATIVES = [
    (kind, text)
    for group in INDICATORS.values()
    for kind, entry in group["kinds"].items()
    for text in entry["hard_negative"]
]


def parse(settings, text):
    response = requests.post(
        f"{settings.rasa_url}/model/parse", params={"token": settings.rasa_auth_token}, json={"text": text}, timeout=30
    )
    assert response.status_code == 200
    return response.json()


def say(settings, text, sender=None):
    response = post_to_rasa(settings, sender or uuid.uuid4().hex, text)
    assert response.status_code == 200
    return response.json()


def test_every_kind_has_its_source_cases_and_hard_negatives():
    for intent, group in INDICATORS.items():
        assert intent.startswith("crisis_") and group["source"]
        for kind, entry in group["kinds"].items():
            assert entry["about"] and len(entry["positive"]) >= 2 and entry["hard_negative"], kind
    kinds = {kind for group in INDICATORS.values() for kind in group["kinds"]}
    written = (ROOT / "bench" / "blind" / "CRISIS_KINDS.md").read_text(encoding="utf-8")
    assert all(f"- {kind}:" in written for kind in kinds)


@pytest.mark.parametrize("intent, kind, text", POSITIVES, ids=[f"{k}-{i}" for i, (_, k, _) in enumerate(POSITIVES)])
def test_indicator_gets_the_crisis_intent(stack, intent, kind, text):
    found = parse(stack.settings, text)["intent"]["name"]
    assert found in CRISIS, f"{kind}: {text!r} -> {found}"


@pytest.mark.parametrize("kind, text", HARD_NEGATIVES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(HARD_NEGATIVES)])
def test_hard_negative_is_not_a_crisis(stack, kind, text):
    found = parse(stack.settings, text)["intent"]["name"]
    assert found not in CRISIS, f"{kind}: {text!r} -> {found}"


def test_crisis_buried_in_the_last_sentence_of_a_long_message_comes_first(stack):
    letter = (
        "Hei, jeg har noen spørsmål om testing. Jeg var hos en kvinne på en massasjesalong for to uker "
        "siden, og vi brukte kondom hele tiden. Nå lurer jeg på når jeg kan ta en test som er til å "
        "stole på, og om det koster noe hos fastlegen. Jeg har ikke sagt noe til kona mi. "
        "Hvis svaret er positivt har jeg bestemt meg for å ta livet mitt."
    )
    replies = say(stack.settings, letter)
    assert "113" in replies[0]["text"]  # the numbers come first
    # (a paragraph per reply, except an answer with buttons: the counsellor offer keeps it whole)
    assert "116 123" in "\n".join(r.get("text", "") for r in replies[:2])
    # the question is not forgotten: it is answered after the numbers
    later = "\n".join(r.get("text", "") for r in replies[1:])
    assert "spurte også" in later


def test_two_questions_get_the_best_answer_and_the_offer_of_the_second(stack):
    parsed = parse(
        stack.settings,
        "Hvor lenge etter sex må jeg vente før en hivtest er sikker? Og hva koster det å teste seg hos fastlegen?",
    )
    topics = {parsed["response_selector"]["faq"]["response"]["intent_response_key"], parsed.get("second_topic")}
    assert topics == {"faq/test_window_period", "faq/test_cost"}
    replies = say(
        stack.settings,
        "Hvor lenge etter sex må jeg vente før en hivtest er sikker? Og hva koster det å teste seg hos fastlegen?",
    )
    offer = replies[-1]
    assert offer["text"] == "Les også:"
    assert offer["buttons"][0]["payload"].startswith("/choose_topic")


def test_the_kind_of_crisis_is_read_from_the_whole_story(stack):
    # The pain sentence alone reads as a medical emergency; the story around it is an assault
    # (lost memory after a drink), and the assault answer is the one that helps.
    story = (
        "Var på vors i går og fikk en drink av en kar jeg ikke kjente. Husker ingenting etter det. "
        "Våknet naken i en leilighet jeg ikke vet hvor er. Nå har jeg vondt nedentil og det blør litt."
    )
    assert parse(stack.settings, story)["intent"]["name"] == "crisis_assault"
