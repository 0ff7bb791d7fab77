"""The safety backstop's phrases (content/safety_phrases.yml) for the gateway: while a
conversation waits for a counsellor Rasa is not asked, so the gateway itself watches for a
crisis told in the queue (bot/handoff.py). The same file and matcher as
components/safety_backstop.py, so both see the same wording."""

from typing import Dict, Optional

from core.content import load
from core.phrase_matcher import PhraseMatcher, hedges_in, phrases_in

PHRASES_FILE = "safety_phrases.yml"
_matchers: Dict[int, tuple] = {}


def crisis_in(text: str) -> Optional[str]:
    """The crisis intent a phrase of the message names, unless the message hedges it."""
    data = load(PHRASES_FILE)
    matchers = _matchers.get(id(data))
    if matchers is None:  # built again only when the file changed (core/content.py re-reads it)
        _matchers.clear()
        matchers = _matchers[id(data)] = (
            PhraseMatcher(phrases_in(data)),
            PhraseMatcher({"hedge": hedges_in(data)}, max_gap=1),
        )
    phrase, hedges = matchers[0].best_match(text or ""), matchers[1]
    if phrase is None or hedges.best_match(text or "") is not None:
        return None
    return phrase.label
