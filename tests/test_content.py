"""The topic catalogue, training data and answers fit together."""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")
MAX_ANSWER = 600


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def topics(shared):
    return load(shared / "topics.yml")


@pytest.fixture(scope="module")
def examples():
    counts = Counter()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in load(path)["nlu"]:
            if "intent" in block:
                counts[block["intent"]] += sum(1 for line in block["examples"].splitlines() if line.strip())
    return counts


@pytest.fixture(scope="module")
def responses():
    merged = dict(load(ROOT / "domain.yml")["responses"])
    for path in (ROOT / "data" / "answers").glob("*.yml"):
        merged.update(load(path)["responses"])
    return merged


def test_every_topic_has_enough_training_examples(topics, examples):
    for topic in topics["faq"]:
        assert examples[f"faq/{topic['id']}"] >= 25, topic["id"]
    for topic in topics["safety"]:
        assert examples[topic["id"]] >= 25, topic["id"]
    for topic in topics["dialogue"]:
        assert examples[topic["id"]] >= 12, topic["id"]


def test_domain_lists_every_plain_intent(topics):
    intents = set(load(ROOT / "domain.yml")["intents"])
    for topic in topics["dialogue"] + topics["safety"]:
        assert topic["id"] in intents


def test_every_faq_topic_has_a_bokmaal_and_an_english_answer(topics, responses):
    for topic in topics["faq"]:
        variations = responses[f"utter_faq/{topic['id']}"]
        default = [v for v in variations if not v.get("condition")]
        english = [v for v in variations if v.get("condition") == [{"type": "slot", "name": "language", "value": "en"}]]
        assert len(default) == 1 and len(english) == 1, topic["id"]


def test_answers_fit_a_phone_screen_and_use_only_configured_placeholders(responses):
    from core.content import service_details

    service = service_details()  # content/service.yml and the hours written from the schedule
    for name, variations in responses.items():
        for variation in variations:
            text = variation["text"]
            filled = text.format(**service) if PLACEHOLDER.search(text) else text
            assert len(filled) <= MAX_ANSWER, (name, len(filled))
            for key in PLACEHOLDER.findall(text):
                assert key in service, (name, key)


SAFETY_NUMBERS = {
    "utter_crisis_suicide": ["113", "116 117", "116 123", "22 40 00 40"],
    "utter_crisis_assault": ["112", "113", "116 117", "116 006", "800 57 000"],
    "utter_crisis_medical": ["113", "116 117"],
    "utter_crisis_exploitation": ["112", "02800", "116 111", "22 33 11 60"],
}


@pytest.mark.parametrize("name, numbers", SAFETY_NUMBERS.items())
def test_crisis_answers_give_the_emergency_numbers_in_both_languages(responses, name, numbers):
    for variation in responses[name]:
        for number in numbers:
            assert number in variation["text"], (name, number)


def test_crisis_rules_answer_with_numbers_first(topics):
    rules = load(ROOT / "data" / "rules.yml")["rules"]
    for topic in topics["safety"]:
        rule = next(r for r in rules if r["steps"][0] == {"intent": topic["id"]})
        assert rule["steps"][1] == {"action": f"utter_{topic['id']}"}
        assert rule["steps"][-1] == {"action": "utter_offer_counsellor"}


def test_every_faq_topic_has_a_suggestion_title(topics):
    titles = load(ROOT / "content" / "topic_titles.yml")
    for topic in topics["faq"]:
        assert {"nb", "en"} <= set(titles[f"faq/{topic['id']}"]), topic["id"]


def test_no_answer_asks_for_a_name_or_national_id(responses):
    asks = re.compile(r"(hva heter du|ditt navn\?|oppgi (navnet|fødselsnummer)|what is your name)", re.I)
    for name, variations in responses.items():
        for variation in variations:
            assert not asks.search(variation["text"]), name


# Values the code fills in besides the service's details (core/content.py service_details), and
# who fills them. A name outside both would fail at run time, so it fails here first.
RUNTIME_VALUES = {
    "channel",
    "choices",
    "ruled_out",
    "time",
    "wish",
    "hours",
    "summary",
    "reference",
    "pin",  # booking
    "date",
    "days",
    "pills",
    "test",
    "name",  # risk check
    "form",
    "title",
    "limit",
    "phone",
    "privacy_url",
    "phone_days",  # forms, gateway
    "position",
    "wait",
    "minutes",
    "next_open",
    "asked",  # a named time that is not free (booking_texts.yml named_time_taken)
    "instead",
    "display_name",  # live chat (content/handoff.yml)
}


def content_texts(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from content_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from content_texts(item)
    elif isinstance(value, str):
        yield value


@pytest.mark.parametrize("path", sorted((ROOT / "content").glob("*.yml")), ids=lambda p: p.name)
def test_content_texts_use_only_known_placeholders(path):
    from core.content import service_details

    known = set(service_details()) | RUNTIME_VALUES
    for text in content_texts(load(path)):
        unknown = {key for key in PLACEHOLDER.findall(text.replace("{{", "").replace("}}", "")) if key not in known}
        assert not unknown, (path.name, unknown, text[:80])


# --- facts have one source -------------------------------------------------------------------------

FACT_NUMBER = re.compile(r"(?<![A-Za-z\d])\d+(?:[ .,:]\d+)*(?![A-Za-z\d])")  # not a code like 479K
NOT_ANSWERS = {
    "crisis_indicators.yml",
    "safety_phrases.yml",
    "intent_guards.yml",
    "language_markers.yml",
    "emoji.yml",
    "booking.yml",
    "risk_rules.yml",
    "service.yml",
}  # phrase lists and settings


def numbers_in(text: str):
    return {re.sub(r"[ .,:]", "", number) for number in FACT_NUMBER.findall(PLACEHOLDER.sub(" ", text))}


def all_answer_texts(responses):
    for name, variations in responses.items():
        for variation in variations:
            yield name, variation["text"]
    for path in sorted((ROOT / "content").glob("*.yml")):
        if path.name not in NOT_ANSWERS:
            for text in content_texts(load(path)):
                if not text.startswith("re:"):  # a pattern that recognises a message, not a text
                    yield path.name, text


def test_every_number_in_a_text_is_in_the_brief_or_the_service_configuration(responses, shared):
    """Phone numbers, hours, days, prices, ages and paragraph numbers: none typed from memory."""
    known = numbers_in((shared / "domain-facts.md").read_text(encoding="utf-8"))
    for name in ("service.yml", "booking.yml", "risk_rules.yml"):
        known |= numbers_in((ROOT / "content" / name).read_text(encoding="utf-8"))
    for where, text in all_answer_texts(responses):
        unknown = numbers_in(text) - known
        assert not unknown, (where, unknown, text[:80])


def english_texts(responses):
    for name, variations in responses.items():
        for variation in variations:
            if {"type": "slot", "name": "language", "value": "en"} in (variation.get("condition") or []):
                yield name, variation["text"]
    for path in sorted((ROOT / "content").glob("*.yml")):

        def walk(value):
            if isinstance(value, dict):
                for key, item in value.items():
                    if key == "en":
                        yield from content_texts(item)
                    else:
                        yield from walk(item)
            elif isinstance(value, list):
                for item in value:
                    yield from walk(item)

        for text in walk(load(path)):
            yield path.name, text


def test_english_texts_use_the_english_version_of_every_service_value(responses):
    from core.content import service_details

    details = service_details()
    norwegian_only = {key for key in details if f"{key}_en" in details}
    for where, text in english_texts(responses):
        assert not set(PLACEHOLDER.findall(text)) & norwegian_only, (where, text[:80])
