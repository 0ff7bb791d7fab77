"""Ordered-words phrase matching on normalised text.

A phrase matches when its words occur in the message in the same order, each as a whole word
(a phrase word ending in '*' matches as a prefix), with at most `max_gap` other words between
two consecutive phrase words. A phrase starting with "re:" is a regular expression searched in
the normalised text. When several phrases match, the most specific (most words; a regular
expression counts as very specific) wins, so "tvunget til a selge sex" beats "tvunget til sex".
"""

import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Pattern, Sequence, Tuple

from core.text_normalise import normalise

REGEX_PREFIX = "re:"
REGEX_SPECIFICITY = 10


HEDGES_KEY = "not_when"  # in a phrases file: wording that says a message asks in general


def phrases_in(data: dict) -> Dict[str, Iterable[str]]:
    """The labelled phrases of a phrases file's content (content/safety_phrases.yml)."""
    return {str(label): [str(p) for p in (phrases or [])] for label, phrases in data.items() if label != HEDGES_KEY}


def hedges_in(data: dict) -> List[str]:
    return [str(p) for p in data.get(HEDGES_KEY) or []]


@dataclass(frozen=True)
class Phrase:
    label: str
    text: str
    parts: Tuple[str, ...] = ()
    regex: Optional[Pattern] = None

    @property
    def specificity(self) -> int:
        return REGEX_SPECIFICITY if self.regex is not None else len(self.parts)


def _phrase_parts(text: str) -> Tuple[str, ...]:
    parts: List[str] = []
    for raw in str(text).split():
        prefix = raw.endswith("*")
        word = normalise(raw.rstrip("*")).replace(" ", "")
        if word:
            parts.append(word + ("*" if prefix else ""))
    return tuple(parts)


def _word_matches(pattern: str, word: str) -> bool:
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return word == pattern


def _matches_from(parts: Sequence[str], tokens: Sequence[str], start: int, max_gap: int) -> bool:
    if not _word_matches(parts[0], tokens[start]):
        return False
    position = start
    for part in parts[1:]:
        window = tokens[position + 1 : position + 2 + max_gap]
        offset = next((i for i, token in enumerate(window) if _word_matches(part, token)), None)
        if offset is None:
            return False
        position += 1 + offset
    return True


def _make_phrase(label: str, text: str) -> Optional[Phrase]:
    if text.startswith(REGEX_PREFIX):
        return Phrase(label, text, regex=re.compile(text[len(REGEX_PREFIX) :].strip()))
    parts = _phrase_parts(text)
    return Phrase(label, text, parts) if parts else None


class PhraseMatcher:
    def __init__(self, phrases_by_label: Dict[str, Iterable[str]], max_gap: int = 3) -> None:
        self.max_gap = max_gap
        candidates = (
            _make_phrase(label, str(text)) for label, phrases in phrases_by_label.items() for text in (phrases or [])
        )
        self.phrases: List[Phrase] = [phrase for phrase in candidates if phrase is not None]
        # An index on each phrase's first word, so a message is checked only against the phrases
        # whose first word it contains (a long letter against thousands of phrases was the
        # slowest step after the sentence vectors). Values are positions in self.phrases.
        self._always: List[int] = []  # regular expressions
        self._by_word: Dict[str, List[int]] = {}
        self._by_prefix: Dict[str, List[int]] = {}
        for position, phrase in enumerate(self.phrases):
            if phrase.regex is not None:
                self._always.append(position)
            elif phrase.parts[0].endswith("*"):
                self._by_prefix.setdefault(phrase.parts[0][:-1], []).append(position)
            else:
                self._by_word.setdefault(phrase.parts[0], []).append(position)

    def _matches(self, phrase: Phrase, normalised: str, tokens: Sequence[str]) -> bool:
        if phrase.regex is not None:
            return phrase.regex.search(normalised) is not None
        return any(_matches_from(phrase.parts, tokens, start, self.max_gap) for start in range(len(tokens)))

    def best_match(self, text: str) -> Optional[Phrase]:
        normalised = normalise(text)
        tokens = normalised.split()
        best: Optional[Phrase] = None
        for position in self._candidates(tokens):
            phrase = self.phrases[position]
            if (best is None or phrase.specificity > best.specificity) and self._matches(phrase, normalised, tokens):
                best = phrase
        return best

    def _candidates(self, tokens: Sequence[str]) -> List[int]:
        """Positions of the phrases that can match these tokens, in the phrases' own order (the
        first of equally specific phrases wins, as without the index)."""
        found = set(self._always)
        for token in set(tokens):
            found.update(self._by_word.get(token, ()))
            for end in range(1, len(token) + 1):
                found.update(self._by_prefix.get(token[:end], ()))
        return sorted(found)
