"""Names shared by the understanding components and everything that reads their output
(the dialogue's actions, the benchmark): the extra keys of a parse result and the intent groups."""

from typing import Optional

RETRIEVAL_INTENT = "faq"
CRISIS_INTENTS = ("crisis_suicide", "crisis_assault", "crisis_medical", "crisis_exploitation")

TOPIC_RANKING_KEY = "topic_ranking"  # [{"name": "faq/pep", "confidence": 0.61}, ...]
SECOND_TOPIC_KEY = "second_topic"  # another FAQ topic the message also asks about
REASON_KEY = "safety_backstop"  # which detector found the crisis: phrase | detector | classifier
DEFERRED_TOPIC_KEY = "deferred_topic"  # an FAQ question asked in the same message as a crisis
CRISIS_SCORE_KEY = "crisis_score"  # the crisis layer's probability that the message is a crisis
PART_PROBABILITIES_KEY = "topic_part_probabilities"  # (labels, rows per part): kept in the message only


def is_command(text: Optional[str]) -> bool:
    """A button's payload ("/affirm"): Rasa's RegexMessageHandler reads it, not the classifiers."""
    return (text or "").lstrip().startswith("/")


FOLLOW_UP_INTENT = "follow_up"  # a short question that refers to the previous answer
DECIDED_BY_WORDS_KEY = "decided_by_words"  # the intent came from a `decide` phrase (content/intent_guards.yml)
FOLLOW_UP_KEY = "follow_up"  # its kind: where, cost, how_long, dangerous, what_about, ...
