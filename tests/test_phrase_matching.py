from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.message import Message

from components.safety_backstop import SafetyBackstop
from core.phrase_matcher import PhraseMatcher
from core.text_normalise import normalise

ROOT = Path(__file__).resolve().parent.parent


def test_normalise_folds_norwegian_letters_and_punctuation():
    assert normalise("Jeg BLØR, og får  SÅR!!") == "jeg blor og far sar"
    assert normalise("blaa maerker, naa") == "bla maerker na"
    assert normalise("Gonoré?") == "gonore"
    assert normalise("I don't want to live, it won’t stop") == "i dont want to live it wont stop"


def test_phrase_words_in_order_with_a_bounded_gap():
    matcher = PhraseMatcher({"x": ["ta livet mitt"]}, max_gap=2)
    assert matcher.best_match("jeg vil ta  LIVET mitt").label == "x"
    assert matcher.best_match("jeg vil ta snart kanskje livet mitt").label == "x"
    assert matcher.best_match("ta det helt med ro i livet ditt mitt") is None
    assert matcher.best_match("livet mitt ta") is None


def test_the_most_specific_phrase_wins():
    matcher = PhraseMatcher({"assault": ["tvunget til sex"], "exploitation": ["tvunget til a selge sex"]})
    assert matcher.best_match("hun ble tvunget til å selge sex").label == "exploitation"
    assert matcher.best_match("jeg ble tvunget til sex").label == "assault"


def test_regular_expression_phrases_search_the_normalised_text():
    matcher = PhraseMatcher({"x": [r"re:\bvar (1[0-7])\b(?! dager)"]})
    assert matcher.best_match("Hun VAR 15!").label == "x"
    assert matcher.best_match("det var 14 dager siden") is None


def test_prefix_words():
    matcher = PhraseMatcher({"x": ["selvmord*"]})
    assert matcher.best_match("tenker på selvmordsplaner") is not None
    assert matcher.best_match("selv mord") is None


def test_the_first_word_index_finds_what_checking_every_phrase_finds():
    matcher = PhraseMatcher({"a": ["hvor far jeg", "selvmord*", "re:\\bpep\\b"], "b": ["far jeg", "hvor"]})
    assert matcher.best_match("hvor får jeg det").text == "hvor far jeg"
    assert matcher.best_match("får jeg det").text == "far jeg"
    assert matcher.best_match("tenker på selvmordet").text == "selvmord*"
    assert matcher.best_match("trenger jeg pep").text.startswith("re:")
    assert matcher.best_match("ingenting her") is None
    # of equally specific phrases, the first in the file wins, as before the index
    assert PhraseMatcher({"x": ["to ord"], "y": ["ord to", "to ord"]}).best_match("to ord to ord").label == "x"


@pytest.fixture(scope="module")
def backstop():
    config = SafetyBackstop.get_default_config()
    config["phrases_file"] = str(ROOT / "content" / "safety_phrases.yml")
    return SafetyBackstop(config)


@pytest.mark.parametrize(
    "text, intent",
    [
        ("jeg vil ikke leve lenger", "crisis_suicide"),
        ("tenker paa selvmord", "crisis_suicide"),
        ("eg vil ta livet mitt", "crisis_suicide"),
        ("i want to kill myself", "crisis_suicide"),
        ("jeg ble voldtatt på fest", "crisis_assault"),
        ("eg vart valdteken", "crisis_assault"),
        ("i was raped last night", "crisis_assault"),
        ("han puster ikke", "crisis_medical"),
        ("hun bløder kraftig og er besvimt", "crisis_medical"),
        ("jenta så ut som hun var under 18", "crisis_exploitation"),
        ("drakk altfor mye, husker ingenting, men han sier vi hadde sex", "crisis_assault"),
        ("jeg er redd noen har hatt sex med meg mens jeg var borte", "crisis_assault"),
        ("kjæresten min sliter med å puste etter tabletten", "crisis_medical"),
        ("tunga er hoven etter at jeg tok medisinen", "crisis_medical"),
        ("jeg tror jenta på salongen blir tvunget av sjefen sin", "crisis_exploitation"),
        ("I don't want to live anymore", "crisis_suicide"),
        ("there's so much blood down there and it won't stop", "crisis_medical"),
        ("eg har begynt å skjera meg på armane igjen sidan helga", "crisis_suicide"),
        ("jag skär mig när det blir för mycket", "crisis_suicide"),
        ("already decided. the flat is empty friday, i will finish it there before anyone finds out", "crisis_suicide"),
    ],
)
def test_backstop_catches_high_risk_phrases(backstop, text, intent):
    assert backstop.crisis_for(text, {"name": "faq", "confidence": 0.99})["intent"] == intent


@pytest.mark.parametrize(
    "text",
    [
        "blir jeg tvunget til å oppgi navn når jeg tester meg",
        "husker ingenting av det legen sa om prøvesvaret",
        "de sier man ikke blir tvunget til noe der",
        "er det vanskelig å få time hos fastlegen",
        "han kuttet seg på kjøkkenet mitt og jeg stelte såret uten hansker",
        "I cut myself on a knife at work, can hepatitis spread that way?",
        "i will finish it before anyone asks about the PEP course",
    ],
)
def test_backstop_leaves_ordinary_questions_alone(backstop, text):
    assert backstop.crisis_for(text, {"name": "faq", "confidence": 0.99}) is None


def test_backstop_is_silent_on_every_faq_and_dialogue_training_example(backstop):
    false_alarms = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            intent = block.get("intent", "")
            if not intent or intent.startswith("crisis_"):
                continue
            for line in block["examples"].splitlines():
                text = line.strip()[2:]
                if text and backstop.crisis_for(text, {"name": intent, "confidence": 0.9}):
                    false_alarms.append((intent, text))
    assert false_alarms == []


def test_backstop_keeps_a_hesitant_crisis_prediction(backstop):
    result = backstop.crisis_for("noe uklart", {"name": "crisis_assault", "confidence": 0.3})
    assert result == {"intent": "crisis_assault", "reason": "classifier"}
    assert backstop.crisis_for("noe uklart", {"name": "crisis_assault", "confidence": 0.1}) is None


def test_backstop_overrides_the_intent_of_the_message(backstop):
    message = Message(
        data={
            "text": "jeg vil ta livet mitt etter testen",
            "intent": {"name": "faq", "confidence": 0.8},
            "intent_ranking": [{"name": "faq", "confidence": 0.8}, {"name": "crisis_suicide", "confidence": 0.1}],
        }
    )
    backstop.process([message])
    assert message.get("intent") == {"name": "crisis_suicide", "confidence": 1.0}
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == "crisis_suicide"
    assert [r["name"] for r in ranking].count("crisis_suicide") == 1
    assert message.get("safety_backstop") == "phrase"
