"""Deterministic safety backstop: a crisis phrase always yields the crisis intent.

Runs last among the intent classifiers, after the FallbackClassifier. Recall matters more than
precision for suicide, assault, medical emergencies and exploitation, so a high-risk phrase from
the phrase file overrides whatever the classifiers said (nlu_fallback included), and a crisis
intent the classifier ranked first but with low confidence is not lost to the fallback.
"""

import logging
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Text

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.crisis_marking import mark_crisis
from components.stateless import StatelessComponent
from core.intents import REASON_KEY, is_command
from core.phrase_matcher import PhraseMatcher, hedges_in, phrases_in

logger = logging.getLogger(__name__)

BACKSTOP_KEY = REASON_KEY


def load_phrases(path: Text) -> Dict[str, Iterable[str]]:
    return phrases_in(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})


def load_hedges(path: Text) -> List[str]:
    return hedges_in(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyBackstop(StatelessComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "phrases_file": "content/safety_phrases.yml",
            # A crisis intent ranked first with at least this confidence is kept (as certain)
            # instead of being turned into nlu_fallback by a hesitating classifier.
            "keep_crisis_above": 0.25,
            "max_gap": 3,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        phrases = load_phrases(config["phrases_file"])
        self.crisis_intents = set(phrases)
        self.matcher = PhraseMatcher(phrases, max_gap=int(config["max_gap"]))
        self.hedges = PhraseMatcher({"hedge": load_hedges(config["phrases_file"])}, max_gap=1)
        self.keep_crisis_above = float(config["keep_crisis_above"])

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._check(message)
        return messages

    def crisis_for(self, text: Text, predicted: Optional[Dict[Text, Any]]) -> Optional[Dict[Text, Text]]:
        """Returns {'intent', 'reason'} when the message must be treated as a crisis."""
        predicted_name = (predicted or {}).get("name")
        confidence = float((predicted or {}).get("confidence") or 0.0)
        if predicted_name in self.crisis_intents and confidence >= self.keep_crisis_above:
            return {"intent": predicted_name, "reason": "classifier"}
        phrase = self.matcher.best_match(text or "")
        if phrase is not None and self.hedges.best_match(text or "") is None:
            return {"intent": phrase.label, "reason": "phrase"}
        return None

    def _check(self, message: Message) -> None:
        if is_command(message.get(TEXT)):
            return
        ranking = message.get(INTENT_RANKING_KEY) or []
        # The classifier's own top intent, looking past the FallbackClassifier's verdict.
        predicted = next((r for r in ranking if r.get("name") != DEFAULT_NLU_FALLBACK_INTENT_NAME), message.get(INTENT))
        crisis = self.crisis_for(message.get(TEXT), predicted)
        if crisis is None:
            return
        current = message.get(INTENT) or {}
        if current.get("name") == crisis["intent"] and current.get("confidence", 0) >= 1.0:
            return
        mark_crisis(message, crisis["intent"], crisis["reason"])
        logger.info("Safety backstop set intent %s (%s)", crisis["intent"], crisis["reason"])
