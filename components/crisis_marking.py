"""How a crisis found by any detector is written into the parse result.

The crisis intent becomes certain (confidence 1.0, ahead of nlu_fallback), the detector that
found it is named (`safety_backstop`: phrase | detector | classifier), and an FAQ question the
same message also asked is kept as `deferred_topic`, so the dialogue can answer it after the
emergency numbers.
"""

from typing import Optional

from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

from core.intents import (
    CRISIS_INTENTS,
    DEFERRED_TOPIC_KEY,
    PART_PROBABILITIES_KEY,
    REASON_KEY,
    RETRIEVAL_INTENT,
    TOPIC_RANKING_KEY,
)

DEFERRED_MIN_CONFIDENCE = 0.3
DEFERRED_MIN_SENTENCE = 0.5


def is_crisis(message: Message) -> bool:
    return (message.get(INTENT) or {}).get(INTENT_NAME_KEY) in CRISIS_INTENTS and float(
        (message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY) or 0
    ) >= 1.0


def deferred_topic(message: Message) -> Optional[str]:
    """The FAQ topic the message also asked about, if the topic classifier saw one clearly: in one
    of its sentences ("Når kan jeg teste meg?" in a letter that ends with a suicide plan), or in
    the message as a whole."""
    labels, rows = message.get(PART_PROBABILITIES_KEY) or (None, None)
    if rows is not None and len(rows) > 1:
        faq = [i for i, label in enumerate(labels) if label.startswith(RETRIEVAL_INTENT + "/")]
        best_row = rows[1:, faq].max(axis=1).argmax() + 1
        best = faq[int(rows[best_row, faq].argmax())]
        if rows[best_row, best] >= DEFERRED_MIN_SENTENCE:
            return labels[best]
    for entry in message.get(TOPIC_RANKING_KEY) or []:
        name, confidence = entry.get(INTENT_NAME_KEY) or "", float(entry.get(PREDICTED_CONFIDENCE_KEY) or 0)
        if name.startswith(RETRIEVAL_INTENT + "/") and confidence >= DEFERRED_MIN_CONFIDENCE:
            return name
    return None


def mark_crisis(message: Message, intent: str, reason: str) -> None:
    crisis = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
    ranking = [
        r
        for r in message.get(INTENT_RANKING_KEY) or []
        if r.get(INTENT_NAME_KEY) not in (intent, DEFAULT_NLU_FALLBACK_INTENT_NAME)
    ]
    message.set(INTENT, crisis, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [crisis] + ranking, add_to_output=True)
    message.set(REASON_KEY, reason, add_to_output=True)
    message.set(DEFERRED_TOPIC_KEY, deferred_topic(message), add_to_output=True)
