"""Text normalisation shared by the phrase matchers.

Users type Norwegian without æ/ø/å (ae/o/aa), with accents or odd punctuation; matching on a
normalised form lets one phrase list cover all those spellings.
"""

import re
import unicodedata

_LETTER_MAP = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "ae", "ö": "o"})
_NON_WORD = re.compile(r"[^a-z0-9]+")
# "don't", "won’t", "I'm": the apostrophe joins, so "dont want to live" matches both spellings
_APOSTROPHE = re.compile(r"(?<=[a-z])['’‘`´](?=[a-z])")


def normalise(text: str) -> str:
    """Lower case, æøå folded to ae/o/a, accents and punctuation removed, spaces collapsed."""
    text = (text or "").lower().translate(_LETTER_MAP)
    text = text.replace("aa", "a")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _APOSTROPHE.sub("", text)
    return _NON_WORD.sub(" ", text).strip()


def words(text: str) -> list:
    return normalise(text).split()
