"""Intents decided by words where the classifier is unreliable (content/intent_guards.yml).

- `require`: an intent whose answer cannot be undone needs the word for it. Deleting the
  conversation is final, so `forget_me` stands only when the message says so ("slett", "delete",
  "glem meg", ...); otherwise ("og ikke send sms for all del") the next label of the topic
  classifier's ranking takes its place.
- `when_unsure`: a short message with one of these phrases gets the intent when the classifier
  is unsure ("egentlig er jeg ikke klar for dette" is `stop`).
- `decide`: a short message with one of these phrases gets the intent whatever the classifier
  says ("nei itj book nåkka no, æ ringer heller" is `stop`); the crisis layer runs later.
- A message that is only a booking reference code ("e3ha-kddk") or only a PIN is an answer
  (`inform`): its random letters and digits mean nothing to the classifier, which read one as
  goodbye and ended the form that had just asked for it.
Runs right after the topic classifier, before the fallback.
"""

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.stateless import StatelessComponent
from components.topic_classifier import RETRIEVAL_INTENT, intent_of, response_selector_output
from core.intents import DECIDED_BY_WORDS_KEY, TOPIC_RANKING_KEY, is_command
from core.phrase_matcher import PhraseMatcher
from core.reference_codes import codes_in_text, without_codes
from core.text_normalise import words

ANSWER_INTENT = "inform"
PIN = re.compile(r"\d{4,6}")


def only_a_code_or_pin(text: str) -> bool:
    """The whole message is a reference code (with a digit or its dash) or a PIN of 4-6 digits."""
    bare = text.strip().strip(".,!?:;")
    if PIN.fullmatch(bare.replace(" ", "")):
        return True
    return any(True for _ in codes_in_text(bare)) and not without_codes(bare).strip(" .,!?:;-")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class IntentGuard(StatelessComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"guards_file": "content/intent_guards.yml"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        guards = yaml.safe_load(Path(config["guards_file"]).read_text(encoding="utf-8")) or {}
        self.matchers = {
            intent: PhraseMatcher({intent: phrases}, max_gap=2)
            for intent, phrases in (guards.get("require") or {}).items()
        }
        unsure = guards.get("when_unsure") or {}
        self.unsure_below = float(unsure.get("below", 0.6))
        self.unsure_max_words = int(unsure.get("max_words", 14))
        self.unsure = PhraseMatcher(unsure.get("intents") or {}, max_gap=2)
        self.decide = [
            (PhraseMatcher({intent: entry["phrases"]}, max_gap=1), int(entry.get("max_words", 20)))
            for intent, entry in (guards.get("decide") or {}).items()
        ]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            text = message.get(TEXT) or ""
            if is_command(text):
                continue
            if only_a_code_or_pin(text):
                self._set(message, ANSWER_INTENT)
                continue
            if intent in self.matchers and self.matchers[intent].best_match(text) is None:
                self._step_down(message, intent)
            decided = self._decided(text)
            if decided:
                self._set(message, decided)
                message.set(DECIDED_BY_WORDS_KEY, True, add_to_output=True)
                continue
            confidence = float((message.get(INTENT) or {}).get("confidence") or 0)
            if confidence < self.unsure_below and len(words(text)) <= self.unsure_max_words:
                found = self.unsure.best_match(text)
                if found:
                    self._set(message, found.label)
        return messages

    def _decided(self, text: str) -> Optional[str]:
        length = len(words(text))
        for matcher, max_words in self.decide:
            found = matcher.best_match(text) if length <= max_words else None
            if found:
                return found.label
        return None

    @staticmethod
    def _set(message: Message, intent: str) -> None:
        chosen = {INTENT_NAME_KEY: intent, "confidence": 1.0}
        message.set(INTENT, chosen, add_to_output=True)
        message.set(
            INTENT_RANKING_KEY,
            [chosen] + [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != intent],
            add_to_output=True,
        )

    @staticmethod
    def _step_down(message: Message, intent: str) -> None:
        ranking = [r for r in message.get(TOPIC_RANKING_KEY) or [] if intent_of(r[INTENT_NAME_KEY]) != intent]
        if not ranking:
            return
        best = ranking[0]
        message.set(
            INTENT,
            {INTENT_NAME_KEY: intent_of(best[INTENT_NAME_KEY]), "confidence": best["confidence"]},
            add_to_output=True,
        )
        message.set(
            INTENT_RANKING_KEY,
            [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != intent],
            add_to_output=True,
        )
        message.set(TOPIC_RANKING_KEY, ranking, add_to_output=True)
        faq = [
            (r[INTENT_NAME_KEY], r["confidence"])
            for r in ranking
            if r[INTENT_NAME_KEY].startswith(RETRIEVAL_INTENT + "/")
        ]
        if faq:
            message.set("response_selector", response_selector_output(faq), add_to_output=True)
