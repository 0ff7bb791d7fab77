"""Ordered-words phrase matching on normalised text.

A phrase matches when its words occur in the message in the same order, each as a whole word
(a phrase word ending in '*' matches as a prefix), with at most `max_gap` other words between
two consecutive phrase words.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from components.text_normalise import normalise, words


@dataclass(frozen=True)
class Phrase:
    label: str
    text: str
    parts: Tuple[str, ...]


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


class PhraseMatcher:
    def __init__(self, phrases_by_label: Dict[str, Iterable[str]], max_gap: int = 3) -> None:
        self.max_gap = max_gap
        self.phrases: List[Phrase] = [
            Phrase(label, str(text), _phrase_parts(text))
            for label, phrases in phrases_by_label.items()
            for text in (phrases or [])
            if _phrase_parts(text)
        ]

    def first_match(self, text: str) -> Optional[Phrase]:
        tokens = words(text)
        for phrase in self.phrases:
            if any(_matches_from(phrase.parts, tokens, start, self.max_gap) for start in range(len(tokens))):
                return phrase
        return None
