"""Custom actions, run with rasa-sdk's real Tracker and dispatcher."""

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionAnswerTopic, ActionHandleFallback, misses_in_a_row, ranked_topics, topic_from_text
from actions.privacy import ActionForgetMe
from actions.session import ActionSessionStart
from core.content import service_details

DOMAIN = {"responses": {"utter_faq/test_where": [{"text": "x"}], "utter_faq/pep": [{"text": "y"}]}}


def user(intent, text="...", **parse):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.4}, **parse}}


def tracker(events=(), slots=None, latest=None):
    latest = latest or (events[-1]["parse_data"] | {"text": events[-1]["text"]} if events else {})
    return Tracker("pseudonym", slots or {}, latest, list(events), False, None, {}, "action_listen")


def run(action, track, domain=DOMAIN):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, track, domain))
    return dispatcher.messages, events


FALLBACK_PARSE = {
    "intent_ranking": [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "faq", "confidence": 0.45},
        {"name": "book_counsellor", "confidence": 0.3},
        {"name": "greet", "confidence": 0.2},
    ],
    "response_selector": {
        "faq": {
            "ranking": [
                {"intent_response_key": "faq/pep", "confidence": 0.6},
                {"intent_response_key": "faq/test_where", "confidence": 0.4},
            ]
        }
    },
}


def test_ranked_topics_expand_faq_into_its_sub_topics_and_skip_small_talk():
    ranked = [topic for topic, _ in ranked_topics(FALLBACK_PARSE)]
    assert ranked == ["book_counsellor", "faq/pep", "faq/test_where"]


def test_first_miss_offers_two_topics_and_something_else():
    events = [user("greet", "hei"), user("nlu_fallback", "asdf hmm", **FALLBACK_PARSE)]
    messages, result = run(ActionHandleFallback(), tracker(events))
    buttons = messages[0]["buttons"]
    assert messages[0]["text"].startswith("Jeg er ikke helt sikker")
    assert [b["payload"] for b in buttons] == [
        "/book_counsellor",
        '/choose_topic{"topic": "faq/pep"}',
        "/something_else",
    ]
    assert buttons[-1]["title"] == "Noe annet"
    assert result == [SlotSet("suggested_topics", ["book_counsellor", "faq/pep"])]


def test_second_miss_in_a_row_offers_a_human():
    events = [
        user("nlu_fallback", **FALLBACK_PARSE),
        user("something_else", "/something_else"),
        user("nlu_fallback", "blabla", **FALLBACK_PARSE),
    ]
    assert misses_in_a_row(tracker(events)) == 2
    messages, _ = run(ActionHandleFallback(), tracker(events))
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/book_counsellor", "/talk_to_human"]


def test_an_understood_message_ends_the_streak():
    events = [user("nlu_fallback"), user("faq"), user("nlu_fallback")]
    assert misses_in_a_row(tracker(events)) == 1


def test_fallback_speaks_english_in_an_english_conversation():
    events = [user("nlu_fallback", "hmm", **FALLBACK_PARSE)]
    messages, _ = run(ActionHandleFallback(), tracker(events, slots={"language": "en"}))
    assert messages[0]["text"].startswith("I'm not quite sure")
    assert messages[0]["buttons"][-1]["title"] == "Something else"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("den første", "faq/pep"),
        ("nr 2", "faq/test_where"),
        ("the second one", "faq/test_where"),
        ("det siste", "faq/test_where"),
        ("hmm", None),
    ],
)
def test_typed_choice_maps_to_a_suggested_topic(text, expected):
    assert topic_from_text(text, ["faq/pep", "faq/test_where"]) == expected


def test_answer_topic_from_a_button_payload():
    latest = {
        "text": "/choose_topic",
        "intent": {"name": "choose_topic"},
        "entities": [{"entity": "topic", "value": "faq/pep"}],
    }
    messages, events = run(ActionAnswerTopic(), tracker([], latest=latest))
    assert messages[0]["response"] == "utter_faq/pep"
    assert events == [SlotSet("suggested_topics", None)]


def test_answer_topic_unknown_asks_to_rephrase():
    latest = {"text": "den tredje", "intent": {"name": "choose_topic"}, "entities": []}
    messages, _ = run(ActionAnswerTopic(), tracker([], slots={"suggested_topics": ["faq/pep"]}, latest=latest))
    assert messages[0]["response"] == "utter_ask_rephrase"  # the rephrase text has one source, domain.yml


def test_session_start_fills_service_details_and_carries_the_language():
    _, events = run(ActionSessionStart(), tracker([], slots={"language": "en"}))
    names = {e.get("name"): e.get("value") for e in events if e.get("event") == "slot"}
    assert names["language"] == "en"
    for key, value in service_details().items():
        assert names[key] == value
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"


def test_forget_me_restarts_the_conversation_and_asks_the_gateway_to_delete_it():
    messages, events = run(ActionForgetMe(), tracker([]))
    assert events == [Restarted()]
    assert messages[0]["custom"] == {"delete_conversation": True}
