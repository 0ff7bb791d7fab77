"""Which way a user wants to talk to a counsellor, with what they rule out.

"bare på chat, ikke telefon" wants chat and rules out the phone; "jeg vil ikke ringe noen" rules
out the phone and wants nothing yet; "nei, heller kontoret" wants in person. A channel word
counts as ruled out when a negation stands shortly before it or a refusal shortly after it
("kontoret går ikke", "office is impossible"); when several channels are wanted,
the last one named wins ("ikke telefon, heller chat"). The words are in content/booking_texts.yml
(channel_words, negation_words), normalised like the text (ae/o/a for æ/ø/å).
"""

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple

from core.text_normalise import words

NEGATION_REACH = 5  # how many words before a channel word a negation may stand ("ikkje så stø på denne chatten")
ENDS_NEGATION = {"men", "but", "heller", "rather", "instead", "bare", "only", "just", "helst"}


@dataclass(frozen=True)
class ChannelChoice:
    wanted: Optional[str] = None
    ruled_out: Set[str] = field(default_factory=set)

    @property
    def said_anything(self) -> bool:
        return self.wanted is not None or bool(self.ruled_out)


def _mentions(tokens: List[str], channel_words: Dict[str, Iterable[str]]) -> List[Tuple[int, str]]:
    """(position, channel) of every channel word or phrase in the tokens."""
    found = []
    for channel, entries in channel_words.items():
        for entry in entries:
            parts = words(str(entry))
            for start in range(len(tokens) - len(parts) + 1):
                if tokens[start : start + len(parts)] == parts:
                    found.append((start, channel))
    return sorted(set(found))


def _negated(tokens: List[str], position: int, negations: Set[str]) -> bool:
    for index in range(position - 1, max(-1, position - 1 - NEGATION_REACH), -1):
        if tokens[index] in ENDS_NEGATION:
            return False
        if tokens[index] in negations:
            return True
    return False


CLAUSE_END = re.compile(r"[.,;:!?()\n]+|\s[-–]\s")


REFUSAL_REACH = 5  # how many words after a channel word a refusal may stand ("office is impossible")


def _refused(tokens: List[str], refusals: List[List[str]]) -> bool:
    """A refusal phrase right after the channel word ("kontoret går ikke", "chat er eg for treig til")."""
    window = tokens[:REFUSAL_REACH]
    return any(window[i : i + len(r)] == r for r in refusals for i in range(len(window) - len(r) + 1))


def channel_choice(
    text: str,
    channel_words: Dict[str, Iterable[str]],
    negation_words: Iterable[str],
    refusal_words: Iterable[str] = (),
) -> ChannelChoice:
    negations = {w for entry in negation_words for w in words(str(entry))}
    refusals = [words(str(entry)) for entry in refusal_words if words(str(entry))]
    wanted: List[str] = []
    ruled_out: Set[str] = set()
    # A negation reaches to the end of its clause, not past a comma or full stop
    # ("ikke kontoret. telefon er lettere" rules out the office, not the phone).
    for clause in CLAUSE_END.split(text or ""):
        tokens = words(clause)
        mentions = _mentions(tokens, channel_words)
        for number, (position, channel) in enumerate(mentions):
            previous = mentions[number - 1][0] if number else -1
            following = mentions[number + 1][0] if number + 1 < len(mentions) else len(tokens)
            if _negated(tokens[previous + 1 :], position - previous - 1, negations) or _refused(
                tokens[position + 1 : following], refusals
            ):
                ruled_out.add(channel)
            else:
                wanted.append(channel)
    wanted = [c for c in wanted if c not in ruled_out]
    return ChannelChoice(wanted[-1] if wanted else None, ruled_out)
