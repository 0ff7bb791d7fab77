"""Intent and FAQ topic in one classifier, with calibrated confidence.

Every label of the catalogue is one class: the plain intents (greet, book_counsellor,
crisis_suicide, ...) and each FAQ topic (faq/pep, ...). The output has the shape Rasa's dialogue
expects from DIET + ResponseSelector: `intent` "faq" with a `response_selector` entry naming
the topic, so `utter_faq` answers it. Extra output:
- `topic_ranking`: the best labels with their probabilities (for "Mente du …?");
- `second_topic`: another FAQ topic the message also asks about ("Les også: …"), found when the
  whole message is split between two topics or one of its sentences asks something else.
"""

import logging
import zlib
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.message_parts import parts_of
from components.trained_text_component import TrainedTextComponent
from core.intents import (
    PART_PROBABILITIES_KEY,
    RETRIEVAL_INTENT,
    SECOND_TOPIC_KEY,
    TOPIC_RANKING_KEY,
    is_command,
)

logger = logging.getLogger(__name__)

RANKING_LENGTH = 10


def label_of(example: Message) -> Optional[str]:
    return example.get(INTENT_RESPONSE_KEY) or example.get(INTENT)


def intent_of(label: str) -> str:
    return label.split("/", 1)[0]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class TopicClassifier(TrainedTextComponent):
    model_file = "topic_model.pkl"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "c": 0.5,  # the SVM's regularisation (smaller = smoother)
            "meaning_weight": 1.0,  # weight of the e5 vector against the character n-grams
            "word_ngrams": False,  # also words and word pairs as features
            # A second FAQ topic is offered when it has at least this probability in the whole
            # message, or is the clear winner (this probability) of one of its sentences.
            "second_min_whole": 0.2,
            "second_min_sentence": 0.6,
            # Weight of the sentences against the whole message when a letter has several.
            "sentence_weight": 0.3,
            # Keyboard mashing ("jdjdjd kkkk asdf"): when fewer than this share of the words were
            # ever seen in training, the message is out of scope, whatever the classifier says.
            "min_known_words": 0.34,
            # Intents the dialogue handles alike: a message split between them is sure of the
            # family ("kan jeg få snakke med noen på telefon?": a person, by talk or booking).
            "families": [],
        }

    # --- training ---------------------------------------------------------------------------
    def train(self, training_data: TrainingData) -> Resource:
        examples = [(m.get(TEXT), label_of(m)) for m in training_data.intent_examples if label_of(m)]
        model = self.fit_and_keep(
            [text for text, _ in examples],
            [label for _, label in examples],
            words=bool(self.config["word_ngrams"]),
        )
        logger.info(
            "Topic classifier: %d examples, %d labels, temperature %.3f",
            len(examples),
            len(model.labels),
            model.temperature,
        )
        return self.resource

    # --- inference --------------------------------------------------------------------------
    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if self.model is None or not (message.get(TEXT) or "").strip() or is_command(message.get(TEXT)):
                # Nothing to read (a button's payload is read by Rasa's RegexMessageHandler); the
                # components after this one still expect an intent.
                message.set(INTENT, {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            ranked, second = self.classify(message)
            ranked = merge_families(ranked, self.config["families"])
            if self.model.known_share(message.get(TEXT) or "") < float(self.config["min_known_words"]):
                ranked, second = [("out_of_scope", 1.0)] + [r for r in ranked if r[0] != "out_of_scope"], None
            self._set_output(message, ranked, second)
        return messages

    def classify(self, message: Message) -> Tuple[List[Tuple[str, float]], Optional[str]]:
        parts = parts_of(message)
        rows = self.model.probabilities(parts.texts, parts.vectors)
        message.set(PART_PROBABILITIES_KEY, (self.model.labels, rows))  # for the crisis layer; not output
        combined = combine_parts(rows, float(self.config["sentence_weight"]))
        order = np.argsort(-combined)
        ranked = [(self.model.labels[i], float(combined[i])) for i in order[:RANKING_LENGTH]]
        return ranked, self._second_topic(ranked, rows)

    def _second_topic(self, ranked: List[Tuple[str, float]], rows: np.ndarray) -> Optional[str]:
        best = ranked[0][0]
        if not best.startswith(RETRIEVAL_INTENT + "/"):
            return None
        for label, probability in ranked[1:]:
            if label.startswith(RETRIEVAL_INTENT + "/") and probability >= float(self.config["second_min_whole"]):
                return label
        for row in rows[1:]:
            index = int(np.argmax(row))
            label = self.model.labels[index]
            if (
                label != best
                and label.startswith(RETRIEVAL_INTENT + "/")
                and row[index] >= float(self.config["second_min_sentence"])
            ):
                return label
        return None

    @staticmethod
    def _set_output(message: Message, ranked: List[Tuple[str, float]], second: Optional[str]) -> None:
        best_label, best_confidence = ranked[0]
        intent_ranking: Dict[str, float] = {}
        for label, probability in ranked:
            intent_ranking.setdefault(intent_of(label), probability)
        message.set(
            INTENT,
            {INTENT_NAME_KEY: intent_of(best_label), PREDICTED_CONFIDENCE_KEY: best_confidence},
            add_to_output=True,
        )
        message.set(
            INTENT_RANKING_KEY,
            [{INTENT_NAME_KEY: n, PREDICTED_CONFIDENCE_KEY: c} for n, c in intent_ranking.items()],
            add_to_output=True,
        )
        message.set(
            TOPIC_RANKING_KEY,
            [{INTENT_NAME_KEY: n, PREDICTED_CONFIDENCE_KEY: round(c, 4)} for n, c in ranked],
            add_to_output=True,
        )
        message.set(SECOND_TOPIC_KEY, second, add_to_output=True)
        faq = [(label, p) for label, p in ranked if label.startswith(RETRIEVAL_INTENT + "/")]
        if faq:
            message.set("response_selector", response_selector_output(faq), add_to_output=True)


def combine_parts(rows: np.ndarray, sentence_weight: float) -> np.ndarray:
    """One row of probabilities for a message from its parts' rows (row 0 the whole message):
    a letter's best sentence for each label counts with `sentence_weight`."""
    if len(rows) == 1:
        return rows[0]
    combined = (1 - sentence_weight) * rows[0] + sentence_weight * rows[1:].max(axis=0)
    return combined / combined.sum()


def merge_families(ranked: List[Tuple[str, float]], families: List[List[str]]) -> List[Tuple[str, float]]:
    """Each family's likeliest member takes the family's whole probability; the others leave
    the ranking. The probabilities still sum to one."""
    merged = list(ranked)
    for family in families:
        members = [(label, p) for label, p in merged if label in family]
        if len(members) < 2:
            continue
        total = sum(p for _, p in members)
        merged = [
            (label, total if label == members[0][0] else p)
            for label, p in merged
            if label not in family or label == members[0][0]
        ]
    return sorted(merged, key=lambda item: -item[1])


def response_selector_output(faq: List[Tuple[str, float]]) -> Dict[str, Any]:
    """The `response_selector` entry that Rasa's ResponseSelector would write."""
    key, confidence = faq[0]
    return {
        "all_retrieval_intents": [RETRIEVAL_INTENT],
        RETRIEVAL_INTENT: {
            "response": {
                "responses": [],
                PREDICTED_CONFIDENCE_KEY: confidence,
                INTENT_RESPONSE_KEY: key,
                "utter_action": f"utter_{key}",
            },
            "ranking": [
                {"id": zlib.crc32(label.encode()), PREDICTED_CONFIDENCE_KEY: p, INTENT_RESPONSE_KEY: label}
                for label, p in faq
            ],
        },
    }
