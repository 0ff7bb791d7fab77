"""Marks short follow-up questions that only make sense after the previous answer.

"hvor får jeg det?", "hva med hiv?", "er det farlig?", "jeg vil ikke anmelde": as a message of
its own such a question names no topic, so the topic classifier can only guess. When a short
message matches a follow-up phrase (content/follow_ups.yml), the intent becomes `follow_up` and
the parse says which kind (`follow_up`: where, cost, how_long, dangerous, what_about, ...); the
dialogue (actions/follow_ups.py) resolves it against the conversation's last topic or crisis.
Runs after the fallback and before the crisis layer, so a crisis still wins.
"""

from pathlib import Path
from typing import Any, Dict, List, Text

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.stateless import StatelessComponent
from core.intents import FOLLOW_UP_INTENT, FOLLOW_UP_KEY, is_command
from core.phrase_matcher import PhraseMatcher
from core.text_normalise import words


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class FollowUpDetector(StatelessComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"follow_ups_file": "content/follow_ups.yml"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        content = yaml.safe_load(Path(config["follow_ups_file"]).read_text(encoding="utf-8")) or {}
        self.max_words = int(content.get("max_words", 8))
        self.max_words_other = int(content.get("max_words_other", self.max_words))
        self.matcher = PhraseMatcher(content.get("phrases") or {}, max_gap=1)
        self.fillers = set(words(" ".join(content.get("filler_words") or [])))
        self.needs_bare = set(content.get("bare_kinds") or [])

    def kind_of(self, text: str) -> str:
        tokens = words(text)
        if not text or is_command(text) or len(tokens) > self.max_words_other:
            return ""
        found = self.matcher.best_match(text)
        if found is None or (found.label in self.needs_bare and len(tokens) > self.max_words):
            return ""
        rest = set(tokens) - {part.rstrip("*") for part in found.parts}
        # "hvor får jeg det?" refers back; "hvor får jeg PEP?" names its topic and is no follow-up.
        if found.label in self.needs_bare and not rest <= self.fillers:
            return ""
        return found.label

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            kind = self.kind_of(message.get(TEXT) or "")
            if not kind:
                continue
            intent = {"name": FOLLOW_UP_INTENT, "confidence": 1.0}
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != FOLLOW_UP_INTENT]
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent] + ranking, add_to_output=True)
            message.set(FOLLOW_UP_KEY, kind, add_to_output=True)
        return messages
