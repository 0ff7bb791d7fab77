"""The pieces of one message (whole text, sentences, windows of run-ons) and their vectors,
computed once per message and shared by the classifiers that read it.

Each word is embedded once: a message of several pieces gets the vectors of its pieces, and its
whole-message vector is their normalised mean (the e5 cost grows with the number of tokens, so
embedding the whole letter as well would double the time of every long message). Training
examples get their vectors the same way, so training and serving see the same kind of vector.
"""

import re
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from components import embedder
from components.sentences import pieces

_KEY = "message_parts"  # kept in the message only while the pipeline runs, never in the output


@dataclass(frozen=True)
class MessageParts:
    texts: List[str]  # texts[0] is the whole message, then its pieces (if more than one)
    vectors: np.ndarray

    @property
    def has_pieces(self) -> bool:
        return len(self.texts) > 1


def _mean_direction(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-6)


def assemble_vectors(text: str, parts: List[str], vector_of: Dict[str, np.ndarray]) -> np.ndarray:
    if not parts:
        return vector_of[text][None, :]
    piece_vectors = np.stack([vector_of[p] for p in parts])
    return np.vstack([_mean_direction(piece_vectors)[None, :], piece_vectors])


# The gateway's placeholders for what it removed ("[fødselsnummer]", "[telefonnummer]", "[e-post]")
# are not the user's words and would pull a question towards privacy topics.
PLACEHOLDER = re.compile(r"\[[^\]\s]{1,20}\]")


def readable_text(text: str) -> str:
    return " ".join(PLACEHOLDER.sub(" ", text or "").split())


def parts_of(message: Message) -> MessageParts:
    parts = message.get(_KEY)
    if parts is None:
        text = readable_text(message.get(TEXT) or "")
        found = pieces(text)
        needed = found or [text]
        vector_of = dict(zip(needed, embedder.embed(needed)))
        parts = MessageParts([text] + found, assemble_vectors(text, found, vector_of))
        message.set(_KEY, parts)
    return parts


_training_vectors: Dict[str, np.ndarray] = {}


def whole_vectors(texts: Sequence[str]) -> np.ndarray:
    """Whole-message vectors of training examples, made as parts_of makes them; remembered for
    the next component trained in this process (training text is not user data)."""
    split = {text: pieces(text) for text in dict.fromkeys(texts)}
    needed = [p for text, parts in split.items() for p in (parts or [text]) if p not in _training_vectors]
    needed = list(dict.fromkeys(needed))
    if needed:
        _training_vectors.update(zip(needed, embedder.embed(needed)))
    if not texts:
        return np.zeros((0, embedder.DIMENSION), np.float32)
    return np.stack([assemble_vectors(text, split[text], _training_vectors)[0] for text in texts])
