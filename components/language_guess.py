"""Guesses whether a message is English or Norwegian and reports it as the entity `language`.

The `language` slot is filled from this entity, and responses carry an English variation
conditioned on that slot. Only confident guesses are reported, so short replies ("ok", "ja")
leave the conversation's language as it was.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.stateless import StatelessComponent
from core.text_normalise import normalise, words

ENTITY = "language"
REQUESTED_KEY = "language_requested"
ANSWER_LANGUAGES = ("nb", "en")  # the languages answers are written in


def _normalised_set(markers) -> set:
    return {normalise(str(marker)) for marker in (markers or [])}


class LanguageGuesser:
    def __init__(self, markers: Dict[str, Any], min_hits: int = 2) -> None:
        self.english = _normalised_set(markers.get("english"))
        self.norwegian = _normalised_set(markers.get("norwegian"))
        self.requests = {lang: _normalised_set(names) for lang, names in (markers.get("requests") or {}).items()}
        self.min_hits = min_hits

    def requested(self, text: Text) -> Optional[str]:
        """The language a change_language request names, if any (the most specific name wins:
        "nynorsk" before "norsk")."""
        tokens = words(text)
        normalised = " ".join(tokens)
        for lang in ("nn", "scand", "other", "en", "nb"):
            for name in self.requests.get(lang, ()):
                if (" " in name and name in normalised) or name in tokens:
                    return lang
        return None

    def guess(self, text: Text) -> Optional[str]:
        tokens = words(text)
        en = sum(token in self.english for token in tokens)
        nb = sum(token in self.norwegian for token in tokens)
        if en >= self.min_hits and en > 2 * nb:
            return "en"
        if en >= 1 and nb == 0 and len(tokens) >= 3:  # "i must pay", "need to talk to sb"
            return "en"
        if nb >= self.min_hits and nb > 2 * en:
            return "nb"
        return None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageGuessExtractor(StatelessComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"markers_file": "content/language_markers.yml", "min_hits": 2}

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        markers = yaml.safe_load(Path(config["markers_file"]).read_text(encoding="utf-8")) or {}
        self.guesser = LanguageGuesser(markers, int(config["min_hits"]))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent = (message.get(INTENT) or {}).get("name")
            requested = self.guesser.requested(text) if intent == "change_language" else None
            if requested:  # which language was asked for, for an honest answer (actions/languages.py)
                message.set(REQUESTED_KEY, requested, add_to_output=True)
            language = requested if requested in ANSWER_LANGUAGES else None
            language = language or self.guesser.guess(text)
            if language:
                entity = {
                    "entity": ENTITY,
                    "value": language,
                    "start": 0,
                    "end": len(text),
                    "extractor": self.__class__.__name__,
                }
                message.set(ENTITIES, (message.get(ENTITIES) or []) + [entity], add_to_output=True)
        return messages
