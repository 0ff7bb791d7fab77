"""The risk check: a short form (when, what kind of contact, condom, symptoms, and pregnancy only
where it matters) that ends with what to do now, by when, and the user's own test dates.

Texts and answer words: content/risk_check.yml. Medical rules: content/risk_rules.yml. The
arithmetic: actions/risk_advice.py. It never asks for names or who the partner was.

Answers are read from buttons (entities) or from the text. Unlike the booking form, a message the
classifier takes for an FAQ question is still read as an answer first ("munnsex" answers "what
kind of contact"); only when no answer is found does the form let the FAQ rule answer it.
"""

from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Text
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.contact_time import ContactTime, parse_contact_time
from actions.form_reading import heard_first, must_not_be_read
from actions.risk_advice import Advice, Deadline, Situation, advise
from core.content import buttons_in, language_of, load, service_details, text_in
from core.dates import format_date
from core.phrase_matcher import PhraseMatcher

OSLO = ZoneInfo("Europe/Oslo")
TEXTS, RULES = "risk_check.yml", "risk_rules.yml"
RISK_SLOTS = ("risk_when", "risk_contact", "risk_protection", "risk_symptoms", "risk_pregnancy")
ANSWERS = {
    "risk_contact": ("vaginal", "anal", "oral", "hand", "unknown"),
    "risk_protection": ("intact", "broke", "none", "unknown"),
    "risk_symptoms": ("yes", "no", "unknown"),
    "risk_pregnancy": ("yes", "no", "unknown"),
}


def now() -> datetime:
    """Now in Europe/Oslo (actions/clock.py)."""
    return clock.now().astimezone(OSLO)


def say(key: str, language: str, **values: Any) -> str:
    return text_in(load(TEXTS)[key], language).format(**{**service_details(), **values})


def window_for_button(code: str, at: datetime) -> ContactTime:
    """The window of a "when" button: "yesterday" is all of yesterday, and so on."""
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    days_back = {
        "today": (0, 0),
        "yesterday": (1, 1),
        "days_2_3": (3, 2),
        "days_4_7": (7, 4),
        "weeks_1_2": (14, 7),
        "weeks_2_12": (84, 14),
    }
    if code not in days_back:
        return ContactTime(unknown=True)
    first, last = days_back[code]
    latest = min(midnight - timedelta(days=last - 1, minutes=1), at)
    return ContactTime(midnight - timedelta(days=first), latest)


def answer_in_text(slot: str, text: str, asked: bool) -> Optional[str]:
    """The answer to `slot` written in `text`; yes/no words count only when the slot was asked."""
    content = load(TEXTS)
    words = content["answer_words"][slot]
    if not asked:
        generic = set(content["only_when_asked"])
        words = {label: [w for w in phrases if w not in generic] for label, phrases in words.items()}
    match = PhraseMatcher(words).best_match(text)
    return match.label if match else None


def narrows(new: str, old: str) -> bool:
    """True when the time window `new` lies inside `old` and is shorter."""
    try:
        new_window, old_window = ContactTime.decode(new), ContactTime.decode(old)
    except (ValueError, AttributeError):
        return False
    if new_window.earliest is None or old_window.earliest is None:
        return False
    inside = old_window.earliest <= new_window.earliest and new_window.latest <= old_window.latest
    return inside and (new_window.latest - new_window.earliest) < (old_window.latest - old_window.earliest)


def user_texts(tracker: Tracker, starting: bool) -> List[str]:
    """The message to read; when the check starts, also the message before it (the one an FAQ
    answer with the "check" button replied to), so "kondomen sprakk i går" is not asked again."""
    texts = [event.get("text") or "" for event in reversed(tracker.events) if event.get("event") == "user"]
    texts = [text for text in texts[: 2 if starting else 1] if not text.startswith("/")]
    return texts


class ValidateRiskCheckForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_risk_check_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[Text]:
        contact, protection = tracker.slots.get("risk_contact"), tracker.slots.get("risk_protection")
        slots = ["risk_when", "risk_contact"]
        if contact != "hand":
            slots.append("risk_protection")
        slots.append("risk_symptoms")
        if contact in ("vaginal", "unknown") and protection in ("broke", "none", "unknown"):
            slots.append("risk_pregnancy")
        return slots

    def _extract(self, slot: str, tracker: Tracker) -> Dict[Text, Any]:
        given = next(tracker.get_latest_entity_values(slot), None)
        if isinstance(given, str) and given:  # a button (a forged value is refused by validation)
            return {slot: given[:100]}
        # A crisis, goodbye or "slett samtalen" is never read as an answer; a question or small
        # talk is, if it holds one ("munnsex" parses as an FAQ question), else the rules answer it.
        if must_not_be_read(tracker):
            return {}
        requested = tracker.get_slot("requested_slot")
        asked, starting = requested == slot, requested is None
        if not (asked or starting):
            return self._said_besides(slot, tracker)
        for text in user_texts(tracker, starting):
            value = self._read(slot, text, asked)
            if value:
                return {slot: value}
        if asked and not heard_first(tracker) and not self._answers_another(slot, tracker):
            return {slot: "unclear"}
        return {}  # not an answer: the form rejects, and an FAQ question is answered by its rule

    def _said_besides(self, slot: str, tracker: Tracker) -> Dict[Text, Any]:
        """An answer to a question not asked now ("nei, ingen symptom enno" to the condom
        question): taken if that question is still open, or, for the time, if it narrows the
        time already given ("laurdag kveld" after "i helga")."""
        text = (tracker.latest_message or {}).get("text") or ""
        value = self._read(slot, text, asked=False)
        current = tracker.get_slot(slot)
        if not value or value == "future":
            return {}
        # (value == current: this message set it a moment ago, slots being read in order)
        if current in (None, value) or (slot == "risk_when" and narrows(value, current)):
            return {slot: value}
        return {}

    def _answers_another(self, slot: str, tracker: Tracker) -> bool:
        return any(self._said_besides(other, tracker) for other in RISK_SLOTS if other != slot)

    @staticmethod
    def _read(slot: str, text: str, asked: bool) -> Optional[str]:
        if slot != "risk_when":
            return answer_in_text(slot, text, asked)
        window = parse_contact_time(text, now())
        if window.future:
            return "future"
        return window.encode() if window.understood else None

    async def extract_risk_when(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._extract("risk_when", tracker)

    async def extract_risk_contact(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._extract("risk_contact", tracker)

    async def extract_risk_protection(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._extract("risk_protection", tracker)

    async def extract_risk_symptoms(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._extract("risk_symptoms", tracker)

    async def extract_risk_pregnancy(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._extract("risk_pregnancy", tracker)

    def validate_risk_when(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        language = language_of(tracker)
        if value == "future":
            dispatcher.utter_message(text=say("when_in_future", language))
            return {"risk_when": None}
        if "|" not in str(value) and value != "unclear":  # a button
            return {"risk_when": window_for_button(value, now()).encode()}
        if value == "unclear" or not ContactTime.is_encoded(value):
            dispatcher.utter_message(text=say("not_understood", language))
            return {"risk_when": None}
        return {"risk_when": value}

    def _validate_choice(self, slot: str, value, dispatcher, tracker) -> Dict[Text, Any]:
        if value in ANSWERS[slot]:
            return {slot: value}
        dispatcher.utter_message(text=say("not_understood", language_of(tracker)))
        return {slot: None}

    def validate_risk_contact(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._validate_choice("risk_contact", value, dispatcher, tracker)

    def validate_risk_protection(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._validate_choice("risk_protection", value, dispatcher, tracker)

    def validate_risk_symptoms(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._validate_choice("risk_symptoms", value, dispatcher, tracker)

    def validate_risk_pregnancy(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._validate_choice("risk_pregnancy", value, dispatcher, tracker)


class AskingOneQuestion:
    """Mixin for the ask actions: the question and its buttons from content/risk_check.yml.
    (Not an Action itself, so rasa-sdk does not register it.)"""

    question = ""

    def name(self) -> Text:
        return f"action_ask_risk_{self.question}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> List[EventType]:
        language = language_of(tracker)
        dispatcher.utter_message(
            text=say(f"ask_{self.question}", language),
            buttons=buttons_in(load(TEXTS)[f"{self.question}_buttons"], language),
        )
        return []


class ActionAskRiskWhen(AskingOneQuestion, Action):
    question = "when"


class ActionAskRiskContact(AskingOneQuestion, Action):
    question = "contact"


class ActionAskRiskProtection(AskingOneQuestion, Action):
    question = "protection"


class ActionAskRiskSymptoms(AskingOneQuestion, Action):
    question = "symptoms"


class ActionAskRiskPregnancy(AskingOneQuestion, Action):
    question = "pregnancy"


def situation_of(tracker: Tracker) -> Situation:
    return Situation(
        when=ContactTime.decode(tracker.get_slot("risk_when")),
        contact=tracker.get_slot("risk_contact") or "unknown",
        protection=tracker.get_slot("risk_protection") or "unknown",
        symptoms=tracker.get_slot("risk_symptoms") or "unknown",
        pregnancy=tracker.get_slot("risk_pregnancy") or "unknown",
    )


def _pep_line(pep: Deadline, language: str) -> str:
    limit = f"{pep.limit_hours:g}"
    if pep.hours_left is None:
        return say("pep_time_unknown", language, limit=limit)
    if pep.maybe_left:
        return say("pep_maybe", language, limit=limit)
    if pep.hours_left >= 1:
        return say("pep_hours_left", language, limit=limit, hours=int(pep.hours_left))
    if pep.hours_left > 0:
        return say("pep_under_an_hour", language, limit=limit)
    return say("pep_too_late", language, limit=limit)


def _pill_text(pill: Deadline, language: str) -> str:
    name = pill.name if isinstance(pill.name, str) else text_in(pill.name, language)
    values = dict(name=name, limit=f"{pill.limit_hours:g}")
    if pill.hours_left is None:
        return say("pill_time_unknown", language, **values)
    if pill.maybe_left:
        return say("pill_maybe", language, **values)
    return say("pill_hours_left", language, hours=max(int(pill.hours_left), 1), **values)


# One message fits a phone screen; the answer is split between its paragraphs, never inside one.
MAX_MESSAGE_CHARS = 600


def render(advice: Advice, situation: Situation, at: datetime, language: str) -> str:
    """The whole answer as one text."""
    return "\n\n".join(advice_paragraphs(advice, situation, at, language))


def render_messages(advice: Advice, situation: Situation, at: datetime, language: str) -> List[str]:
    """The answer as messages of at most MAX_MESSAGE_CHARS, paragraphs kept whole and in order."""
    messages: List[str] = []
    for paragraph in advice_paragraphs(advice, situation, at, language):
        for piece in _pieces_of(paragraph):
            if messages and len(messages[-1]) + 2 + len(piece) <= MAX_MESSAGE_CHARS:
                messages[-1] += "\n\n" + piece
            else:
                messages.append(piece)
    return messages


def _pieces_of(paragraph: str) -> List[str]:
    """A paragraph that is too long for one message, cut between its list lines."""
    if len(paragraph) <= MAX_MESSAGE_CHARS:
        return [paragraph]
    pieces: List[str] = []
    for line in paragraph.split("\n"):
        if pieces and len(pieces[-1]) + 1 + len(line) <= MAX_MESSAGE_CHARS:
            pieces[-1] += "\n" + line
        else:
            pieces.append(line)
    return pieces


def advice_paragraphs(advice: Advice, situation: Situation, at: datetime, language: str) -> List[str]:
    """What to do now (with hours left), then the test dates, then where."""
    content = load(TEXTS)
    urgent, later = [], []
    if advice.pep:
        (urgent if advice.pep.open else later).append(_pep_line(advice.pep, language))
    if advice.pills:
        open_pills = [_pill_text(pill, language) for pill in advice.pills if pill.open]
        if open_pills:
            joiner = " or " if language == "en" else " eller "
            urgent.append(say("pills", language, pills=joiner.join(open_pills)))
            if advice.copper_iud and advice.copper_iud.open:
                urgent.append(say("copper_iud", language, days=int(advice.copper_iud.limit_hours // 24)))
        else:
            later.append(say("contraception_too_late", language))
    if advice.see_doctor_now:  # "the dates below" only when dates follow (not after hand contact)
        urgent.append(say("symptoms_now" if advice.tests else "symptoms_now_no_dates", language))
    elif situation.symptoms == "unknown":
        urgent.append(say("symptoms_unsure", language))
    paragraphs = []
    if urgent:
        paragraphs.append(say("now_heading", language) + "\n" + "\n".join(f"– {line}" for line in urgent))
    if advice.pep and advice.pep.open:  # who PEP is for, and what instead: the partner's risk decides
        paragraphs.append(say("pep_who", language))
    paragraphs += later
    if advice.low_risk:  # "if you get symptoms" is not said to someone who has them
        paragraphs.append(say("low_risk_with_symptoms" if advice.see_doctor_now else "low_risk", language))
    if advice.tests:
        lines = [say("condom_held", language) if advice.condom_held else say("tests_heading", language)]
        for test in advice.tests:
            name = text_in(content["test_names"][test.test], language)
            if test.ready is None:
                lines.append(say("test_time_unknown", language, test=name, days=test.days))
            elif test.ready_now:
                lines.append(say("test_ready_now", language, test=name))
            else:
                lines.append(
                    say(
                        "test_ready_on",
                        language,
                        test=name,
                        days=test.days,
                        date=format_date(test.ready, language, at.date()),
                    )
                )
        paragraphs.append("\n".join(lines))
        paragraphs.append(say("test_early", language))
        # "or with us" only for a service that takes tests itself (content/service.yml)
        here = service_details().get("service_takes_tests", "").lower() == "true"
        paragraphs.append(say("where_and_here" if here else "where", language))
    return paragraphs


class ActionRiskAdvice(Action):
    def name(self) -> Text:
        return "action_risk_advice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> List[EventType]:
        language = language_of(tracker)
        situation, at = situation_of(tracker), now()
        advice = advise(situation, at, load(RULES))
        for message in render_messages(advice, situation, at, language):
            dispatcher.utter_message(text=message)
        dispatcher.utter_message(
            text=say("offer", language), buttons=buttons_in(load(TEXTS)["offer_buttons"], language)
        )
        return [SlotSet(slot, None) for slot in RISK_SLOTS]
