"""Splits a message into the pieces that are read one by one: its sentences, and windows of a
run-on sentence, so that a crisis told in one sentence of a long letter is not drowned by the
rest. Uses spaCy's rule-based sentencizer (no model to download)."""

from functools import lru_cache
from typing import List

MAX_SENTENCE_WORDS = 30  # a "sentence" longer than this is a run-on without punctuation
# A run-on is cut into equal windows of at most this many words, without overlap: every word is
# embedded once (overlapping windows cost a quarter more e5 time and read no better,
# bench/results/2026-12-04-session9.txt).
WINDOW_WORDS = 16


@lru_cache(maxsize=1)
def _sentencizer():
    import spacy

    nlp = spacy.blank("nb")
    nlp.add_pipe("sentencizer")
    return nlp


def _windows(words: List[str]) -> List[str]:
    if len(words) <= MAX_SENTENCE_WORDS:
        return [" ".join(words)]
    count = -(-len(words) // WINDOW_WORDS)
    bounds = [round(i * len(words) / count) for i in range(count + 1)]
    return [" ".join(words[a:b]) for a, b in zip(bounds, bounds[1:])]


def sentences(text: str) -> List[str]:
    """The sentences of a message as written (blank lines and line breaks also end one)."""
    found: List[str] = []
    for block in (text or "").splitlines():
        if block.strip():
            found.extend(s.text.strip() for s in _sentencizer()(block).sents if s.text.strip())
    return found


def pieces(text: str) -> List[str]:
    """Sentences (and windows of run-ons) with at least two words; empty for a one-piece message."""
    parts: List[str] = []
    for sentence in sentences(text):
        words = sentence.split()
        if len(words) >= 2:
            parts.extend(_windows(words))
    return parts if len(parts) > 1 else []
