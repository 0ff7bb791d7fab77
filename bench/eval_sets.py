"""Evaluation sets for the NLU benchmark, read into one row type.

Two formats:
- `bench/heldout/{nb,nn,en}.yml`: Rasa NLU files (the first held-out set, written in the team's
  own style; its figures are "after looking").
- `bench/blind/<set>/*.yml`: sets written from situation cards by writers who never saw the
  training data (see bench/blind/README.md); one message per entry with its label, language,
  card and, for crises, the indicator kind.
Never train on any of them.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml

BENCH = Path(__file__).resolve().parent
HELDOUT = BENCH / "heldout"
BLIND = BENCH / "blind"
DEV = BENCH / "dev"  # development sets: written the same way, but their misses are read

SAFETY = ("crisis_suicide", "crisis_assault", "crisis_medical", "crisis_exploitation")

# Our own intents that are finer than the topic catalogue, scored as the catalogue label they serve.
CATALOGUE_LABEL = {
    "risk_check": "faq/risk_after_sex",
    "cancel_booking": "book_counsellor",
    "move_booking": "book_counsellor",
    "stop": "deny",
    "something_else": "deny",
}


@dataclass(frozen=True)
class Row:
    set_name: str
    language: str
    gold: str
    text: str
    second: Optional[str] = None
    crisis_kind: Optional[str] = None
    hard_negative: bool = False
    extra: Dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def long(self) -> bool:
        """Longer than two sentences (a rough count of sentence ends)."""
        ends = sum(self.text.count(mark) for mark in (". ", "? ", "! "))
        return ends >= 2


def heldout_rows() -> List[Row]:
    rows = []
    for language in ("nb", "nn", "en"):
        for block in yaml.safe_load((HELDOUT / f"{language}.yml").read_text(encoding="utf-8"))["nlu"]:
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    rows.append(Row("heldout", language, catalogue_label(block["intent"]), line.strip()[2:]))
    return rows


def set_folder(set_name: str) -> Path:
    """'2026-12' is bench/blind/2026-12; 'dev-2026-12' is bench/dev/2026-12."""
    if set_name.startswith("dev-"):
        return DEV / set_name[len("dev-") :]
    return BLIND / set_name


def blind_rows(set_name: str) -> List[Row]:
    rows = []
    for file in sorted(set_folder(set_name).glob("*.yml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        for message in data.get("messages") or []:
            rows.append(
                Row(
                    set_name,
                    str(message["lang"]),
                    str(message["label"]),
                    str(message["text"]),
                    second=message.get("second_label"),
                    crisis_kind=message.get("crisis_kind"),
                    hard_negative=bool(message.get("hard_negative")),
                )
            )
    return rows


def blind_set_names() -> List[str]:
    names = sorted(p.name for p in BLIND.iterdir() if p.is_dir()) if BLIND.exists() else []
    return names + (sorted("dev-" + p.name for p in DEV.iterdir() if p.is_dir()) if DEV.exists() else [])


def all_rows(names: Optional[List[str]] = None) -> List[Row]:
    names = names or ["heldout"] + blind_set_names()
    rows: List[Row] = []
    for name in names:
        rows.extend(heldout_rows() if name == "heldout" else blind_rows(name))
    return rows


def catalogue_label(topic: str) -> str:
    return CATALOGUE_LABEL.get(topic, topic)
