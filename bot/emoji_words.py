"""What a message of emoji alone means (content/emoji.yml): 👍 is "ja", 🙏 is "takk", 😢 gets a
kind answer from the gateway. Named with the `emoji` library, so skin tones and variants of the
same emoji mean the same."""

import re
from dataclasses import dataclass
from typing import Dict, Optional

import emoji
import yaml

from core.content import content_dir

SKIN_TONE = re.compile(r"_(light|medium-light|medium|medium-dark|dark)_skin_tone")


@dataclass(frozen=True)
class EmojiMeaning:
    words: Optional[str] = None  # pass this text on to the bot instead
    reply: Optional[str] = None  # or answer with this gateway text


def _names(text: str):
    names = re.findall(r":([^:\s]+):", emoji.demojize(text))
    return [SKIN_TONE.sub("", name) for name in names]


def meaning(text: str, table: Optional[Dict] = None) -> EmojiMeaning:
    """The meaning of a message with no letters or digits; empty when nothing is known."""
    if any(character.isalnum() for character in text):
        return EmojiMeaning()
    table = table or load_table()
    names = _names(text)
    replies = [table["reply"][n] for n in names if n in (table.get("reply") or {})]
    if replies:
        return EmojiMeaning(reply=replies[0])
    known = table.get("words") or {}
    meanings = {known.get(n) for n in names}
    # only when every emoji is known and they agree: "😀😀🙏" is not clearly a thank-you
    return EmojiMeaning(words=meanings.pop()) if len(meanings) == 1 and None not in meanings else EmojiMeaning()


def load_table() -> Dict:
    return yaml.safe_load((content_dir() / "emoji.yml").read_text(encoding="utf-8")) or {}
