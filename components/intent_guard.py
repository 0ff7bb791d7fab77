"""Intents whose answer cannot be undone need the word for it in the message.

Deleting the conversation is final, so `forget_me` stands only when the message says so in words
("slett", "delete", "glem meg", ...: content/intent_guards.yml); otherwise ("og ikke send sms for
all del") the next label of the topic classifier's ranking takes its place. Runs right after the
topic classifier, before the fallback.
"""
from pathlib import Path
from typing import Any, Dict, List, Text

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.parse_keys import TOPIC_RANKING_KEY, is_command
from components.phrase_matcher import PhraseMatcher
from components.stateless import StatelessComponent
from components.topic_classifier import RETRIEVAL_INTENT, intent_of, response_selector_output


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class IntentGuard(StatelessComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"guards_file": "content/intent_guards.yml"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        guards = yaml.safe_load(Path(config["guards_file"]).read_text(encoding="utf-8")) or {}
        self.matchers = {intent: PhraseMatcher({intent: phrases}, max_gap=2) for intent, phrases in guards.items()}

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            text = message.get(TEXT) or ""
            if intent in self.matchers and not is_command(text) and self.matchers[intent].best_match(text) is None:
                self._step_down(message, intent)
        return messages

    @staticmethod
    def _step_down(message: Message, intent: str) -> None:
        ranking = [r for r in message.get(TOPIC_RANKING_KEY) or [] if intent_of(r[INTENT_NAME_KEY]) != intent]
        if not ranking:
            return
        best = ranking[0]
        message.set(INTENT, {INTENT_NAME_KEY: intent_of(best[INTENT_NAME_KEY]), "confidence": best["confidence"]},
                    add_to_output=True)
        message.set(INTENT_RANKING_KEY, [r for r in message.get(INTENT_RANKING_KEY) or []
                                         if r.get(INTENT_NAME_KEY) != intent], add_to_output=True)
        message.set(TOPIC_RANKING_KEY, ranking, add_to_output=True)
        faq = [(r[INTENT_NAME_KEY], r["confidence"]) for r in ranking if r[INTENT_NAME_KEY].startswith(RETRIEVAL_INTENT + "/")]
        if faq:
            message.set("response_selector", response_selector_output(faq), add_to_output=True)
