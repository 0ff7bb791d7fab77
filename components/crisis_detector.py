"""The crisis layer's classifier: is any part of this message a crisis, and of which kind?

Two kinds of evidence, each read for the whole message and for every sentence (windows of a
run-on), so a crisis told in one sentence of a long letter is found:
- its own classifier, trained on its own task (crisis kind or none) with every training
  example: the crisis examples of data/nlu/ (indicators of every kind, plainly, as stories and
  buried in letters) against all the rest, among them the hard negatives (worry without danger,
  "dying to know", the law asked in general);
- the topic classifier's probability mass on the crisis labels (it separates a hard negative
  into its own topic, which a crisis-or-not classifier cannot).
Their log-odds are weighed together (`weights`, `bias`: fitted across writers by
bench/crisis_weights.py, which prints the recall and precision of every threshold) into one
crisis probability. Recall comes first, so the threshold is low; the phrase backstop
(safety_backstop.py) runs after this. Runs after the FallbackClassifier, so a crisis wins over
"not understood" too.
"""

import logging
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.crisis_marking import is_crisis, mark_crisis
from components.message_parts import parts_of
from components.topic_classifier import intent_of, label_of, response_selector_output
from components.trained_text_component import TrainedTextComponent
from core.intents import (
    CRISIS_INTENTS,
    CRISIS_SCORE_KEY,
    PART_PROBABILITIES_KEY,
    RETRIEVAL_INTENT,
    TOPIC_RANKING_KEY,
    is_command,
)

logger = logging.getLogger(__name__)

NONE = "none"
EVIDENCE = ("detector_whole", "detector_sentence", "topic_whole", "topic_sentence")


def logit(probability: float) -> float:
    p = min(max(float(probability), 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))


def evidence(detector: np.ndarray, topic: np.ndarray) -> Dict[str, float]:
    """Crisis probabilities per part (row 0 = whole message) as the weighed features' inputs."""
    return {
        "detector_whole": logit(detector[0]),
        "detector_sentence": logit(detector[1:].max() if len(detector) > 1 else detector[0]),
        "topic_whole": logit(topic[0]),
        "topic_sentence": logit(topic[1:].max() if len(topic) > 1 else topic[0]),
    }


def crisis_probability(features: Dict[str, float], weights: Dict[str, float], bias: float) -> float:
    z = bias + sum(float(weights.get(name, 0.0)) * value for name, value in features.items())
    return float(1 / (1 + np.exp(-z)))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CrisisDetector(TrainedTextComponent):
    model_file = "crisis_model.pkl"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "threshold": 0.5,
            "weights": {"detector_whole": 0.2, "detector_sentence": 0.2, "topic_whole": 0.6, "topic_sentence": 0.2},
            "bias": 0.0,
            "c": 0.5,
            "meaning_weight": 1.0,
            # The topic classifier's own crisis label stands alone only above this; below it, the
            # crisis layer decides, and a message it finds no crisis in gets its best other topic
            # (or "Mente du …?" below the fallback threshold).
            "keep_topic_crisis_above": 0.75,
            "fallback_threshold": 0.3,
        }

    def train(self, training_data: TrainingData) -> Resource:
        texts, labels = [], []
        for example in training_data.intent_examples:
            label = label_of(example)
            if label:
                texts.append(example.get(TEXT))
                labels.append(label if label in CRISIS_INTENTS else NONE)
        model = self.fit_and_keep(texts, labels, class_weight="balanced")
        logger.info(
            "Crisis detector: %d examples, %d crisis, temperature %.3f",
            len(texts),
            sum(label != NONE for label in labels),
            model.temperature,
        )
        return self.resource

    def part_probabilities(self, message: Message) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Sequence[str]]:
        """Per part: detector crisis probability, topic crisis mass, and each crisis label's
        summed probability (for choosing the kind)."""
        parts = parts_of(message)
        rows = self.model.probabilities(parts.texts, parts.vectors)
        none = self.model.labels.index(NONE)
        detector = 1.0 - rows[:, none]
        kinds = [label for label in self.model.labels if label != NONE]
        by_kind = rows[:, [self.model.labels.index(k) for k in kinds]]
        topic_labels, topic_rows = message.get(PART_PROBABILITIES_KEY) or (None, None)
        if topic_rows is None:
            return detector, detector, by_kind, kinds
        columns = [topic_labels.index(k) for k in kinds if k in topic_labels]
        topic = topic_rows[:, columns].sum(axis=1)
        if len(columns) == len(kinds):
            by_kind = by_kind + topic_rows[:, columns]
        return detector, topic, by_kind, kinds

    def detect(self, message: Message) -> Tuple[Optional[str], float]:
        """(crisis intent or None, the crisis probability)."""
        detector, topic, by_kind, kinds = self.part_probabilities(message)
        probability = crisis_probability(evidence(detector, topic), self.config["weights"], float(self.config["bias"]))
        if probability < float(self.config["threshold"]):
            return None, probability
        # The sentences decide whether there is a crisis; the whole message, which has the story
        # around it, tells its kind better ("no memory, and pain" is an assault, not a medical
        # emergency): 618 of 635 crisis kinds right on the looked-at sets, 613 from the strongest part.
        return kinds[int(np.argmax(by_kind[0]))], probability

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if (
                self.model is None
                or not (message.get(TEXT) or "").strip()
                or is_command(message.get(TEXT))
                or is_crisis(message)
            ):
                continue
            intent, probability = self.detect(message)
            message.set(CRISIS_SCORE_KEY, round(probability, 3), add_to_output=True)
            if intent:
                mark_crisis(message, intent, "detector")
                logger.info("Crisis detector set intent %s", intent)
            else:
                self._overrule_topic_crisis(message)
        return messages

    def _overrule_topic_crisis(self, message: Message) -> None:
        """A crisis label the topic classifier chose without much certainty, where the crisis
        layer found none: the message gets its best other label instead."""
        current = message.get(INTENT) or {}
        if current.get(INTENT_NAME_KEY) not in CRISIS_INTENTS or float(
            current.get(PREDICTED_CONFIDENCE_KEY) or 0
        ) >= float(self.config["keep_topic_crisis_above"]):
            return
        others = [r for r in message.get(TOPIC_RANKING_KEY) or [] if r[INTENT_NAME_KEY] not in CRISIS_INTENTS]
        if others and float(others[0][PREDICTED_CONFIDENCE_KEY]) >= float(self.config["fallback_threshold"]):
            best = {
                INTENT_NAME_KEY: intent_of(others[0][INTENT_NAME_KEY]),
                PREDICTED_CONFIDENCE_KEY: others[0][PREDICTED_CONFIDENCE_KEY],
            }
            faq = [
                (r[INTENT_NAME_KEY], r[PREDICTED_CONFIDENCE_KEY])
                for r in others
                if r[INTENT_NAME_KEY].startswith(RETRIEVAL_INTENT + "/")
            ]
            if faq:
                message.set("response_selector", response_selector_output(faq), add_to_output=True)
        else:
            best = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) not in CRISIS_INTENTS]
        message.set(INTENT, best, add_to_output=True)
        message.set(
            INTENT_RANKING_KEY,
            [best] + [r for r in ranking if r.get(INTENT_NAME_KEY) != best[INTENT_NAME_KEY]],
            add_to_output=True,
        )
