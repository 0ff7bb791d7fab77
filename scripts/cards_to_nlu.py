"""Turns a training writer's file (messages written from situation cards, the format of
bench/blind/WRITERS.md) into a Rasa NLU file in data/nlu/cards/, grouped by label.

    .venv/bin/python scripts/cards_to_nlu.py WRITER_FILE.yml [...]

The writer's cards (who wrote what, from which situation) go into the file's header, so a reader
can see where the examples came from. Never run this on an evaluation set (bench/blind/).
"""

import sys
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "nlu" / "cards"
TOPICS = ROOT.parent / "shared" / "topics.yml"
# The dialogue's own intents besides the catalogue (domain.yml): answers inside a form, leaving
# it, managing a booking, the risk check.
EXTRA_INTENTS = ("inform", "stop", "cancel_booking", "move_booking", "risk_check")


def catalogue_labels() -> dict:
    """Every label of the topic catalogue, and a bare FAQ id mapped to its faq/ form."""
    topics = yaml.safe_load(TOPICS.read_text(encoding="utf-8"))
    labels = {f"faq/{t['id']}": f"faq/{t['id']}" for t in topics["faq"]}
    labels.update({t["id"]: f"faq/{t['id']}" for t in topics["faq"]})
    labels.update({t["id"]: t["id"] for kind in ("dialogue", "safety") for t in topics[kind]})
    labels.update({name: name for name in EXTRA_INTENTS})
    return labels


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def evaluation_texts() -> set:
    """Every message of the evaluation sets and the conversation tests, normalised: a training
    example that equals one of them is left out (a writer may have reused a phrase from a brief)."""
    sys.path.insert(0, str(ROOT))
    from core.text_normalise import normalise

    found = set()
    for folder in (ROOT / "bench" / "blind", ROOT / "bench" / "dev"):
        for file in folder.rglob("*.yml"):
            found |= {
                normalise(m["text"])
                for m in (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("messages") or []
            }
    for file in (ROOT / "tests" / "conversations").glob("*.yml"):
        for conversation in yaml.safe_load(file.read_text(encoding="utf-8"))["conversations"]:
            found |= {normalise(str(turn["user"])) for turn in conversation["turns"]}
    for file in (ROOT / "bench" / "heldout").glob("*.yml"):
        for block in yaml.safe_load(file.read_text(encoding="utf-8"))["nlu"]:
            found |= {normalise(line.strip()[2:]) for line in block["examples"].splitlines() if line.strip()}
    return found


def convert(source: Path) -> Path:
    if "bench" in source.resolve().parts and "blind" in source.resolve().parts:
        raise SystemExit(f"{source} is an evaluation set: never train on it")
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    writer = str(data.get("writer") or source.stem)
    known = catalogue_labels()
    held_out = evaluation_texts()
    from core.text_normalise import normalise

    by_label = defaultdict(list)
    left_out = 0
    for message in data.get("messages") or []:
        text = one_line(message["text"])
        if normalise(text) in held_out:
            left_out += 1
            continue
        label = known.get(str(message["label"]).strip())
        if label is None:
            raise SystemExit(f"{source}: unknown label {message['label']!r}")
        if text and text not in by_label[label]:
            by_label[label].append(text)
    lines = [
        f"# Written from situation cards by training writer {writer}, who never saw the evaluation sets.",
        "# Cards (persona / situation / habit):",
    ]
    for card in data.get("cards") or []:
        lines.append(
            f"# - {card.get('id')}: {one_line(card.get('persona', ''))} / "
            f"{one_line(card.get('situation', ''))} / {one_line(card.get('habit', ''))}"
        )
    lines += ['version: "3.1"', "nlu:"]
    for label in sorted(by_label):
        lines.append(f"- intent: {label}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in by_label[label])
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / f"{writer}.yml"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if left_out:
        print(f"  {left_out} messages left out: the same text is in an evaluation set or a conversation test")
    return target


def main(paths) -> int:
    for path in paths:
        target = convert(Path(path))
        print(f"{path} -> {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
