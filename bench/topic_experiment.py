"""Side-by-side variants of the topic classifier's text model, without Rasa: fast enough to try
a feature or a learner on the looked-at sets before training the real pipeline.

    .venv/bin/python bench/topic_experiment.py [--sets 2026-12b 2026-12c 2026-12d] [--variants ...]

Only the topic classifier's own reading (whole message and sentences, as in
components/topic_classifier.py); the intent guard, crisis layer and follow-ups that run after it
in the pipeline are left out, so the figures are lower than bench/nlu_benchmark.py's. Vectors are
kept in .cache/ between runs (training and evaluation text only, never user data).
Use the looked-at sets to choose; an unread set is measured once, with the real pipeline.
"""

import argparse
import hashlib
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from eval_sets import all_rows, catalogue_label  # noqa: E402

from components import embedder  # noqa: E402
from components.message_parts import assemble_vectors  # noqa: E402
from components.sentences import pieces  # noqa: E402
from components.text_model import TextModel  # noqa: E402
from components.topic_classifier import combine_parts  # noqa: E402

CACHE = ROOT / ".cache" / "e5_vectors"
LOOKED_AT = ["2026-12", "2026-12b", "2026-12c", "2026-12d", "dev-2026-12"]


def cached_embed(texts: Sequence[str]) -> np.ndarray:
    """embedder.embed with a disk cache keyed on the text."""
    CACHE.mkdir(parents=True, exist_ok=True)
    keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    missing = [(k, t) for k, t in dict(zip(keys, texts)).items() if not (CACHE / f"{k}.npy").exists()]
    if missing:
        vectors = embedder.embed([t for _, t in missing])
        for (key, _), vector in zip(missing, vectors):
            np.save(CACHE / f"{key}.npy", vector)
    return np.stack([np.load(CACHE / f"{k}.npy") for k in keys]) if keys else np.zeros((0, 384), np.float32)


def vectors_for(texts: Sequence[str]) -> Dict[str, np.ndarray]:
    needed = list(dict.fromkeys(p for t in texts for p in (pieces(t) or [t])))
    return dict(zip(needed, cached_embed(needed)))


def training_examples():
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    out = []
    for m in data.intent_examples:
        label = m.get("intent_response_key") or m.get("intent")
        if label:
            out.append((m.get("text"), label))
    return out


def classify(model, text, vector_of, sentence_weight=0.2):
    """As components/topic_classifier.py reads a message: its parts, then their combination."""
    found = pieces(text)
    rows = model.probabilities([text] + found, assemble_vectors(text, found, vector_of))
    return model.labels[int(np.argmax(combine_parts(rows, sentence_weight)))]


FAMILY = {"talk_to_human": "book_counsellor"}


def same(predicted: str, gold: str) -> bool:
    p, g = catalogue_label(predicted), catalogue_label(gold)
    return FAMILY.get(p, p) == FAMILY.get(g, g)


def variant_models() -> Dict[str, Callable[[], TextModel]]:
    """Without the temperature's held-out fold (folds=1): the ranking is the same, twice as
    fast. Add a variant here to try it."""
    return {
        "characters": lambda: TextModel(c=0.5, meaning_weight=2.0, folds=1),
        "words": lambda: TextModel(c=0.5, meaning_weight=2.0, folds=1, words=True),
        "words_c0.7": lambda: TextModel(c=0.7, meaning_weight=2.0, folds=1, words=True),
        "words_mw2.5": lambda: TextModel(c=0.5, meaning_weight=2.5, folds=1, words=True),
        "words_mw3": lambda: TextModel(c=0.5, meaning_weight=3.0, folds=1, words=True),
        "words_mw2.5_c0.7": lambda: TextModel(c=0.7, meaning_weight=2.5, folds=1, words=True),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", nargs="*", default=LOOKED_AT)
    parser.add_argument("--variants", nargs="*", default=None)
    args = parser.parse_args()
    examples = training_examples()
    texts = [t for t, _ in examples]
    labels = [label for _, label in examples]
    rows = all_rows(args.sets)
    started = time.time()
    vector_of = vectors_for(texts + [r.text for r in rows])
    print(f"{len(examples)} training examples, {len(rows)} evaluation rows, vectors {time.time() - started:.0f} s")
    train_vectors = np.stack([assemble_vectors(t, pieces(t), vector_of)[0] for t in texts])
    variants = variant_models()
    for name in args.variants or list(variants):
        started = time.time()
        model = variants[name]().fit(texts, labels, train_vectors)
        fit_seconds = time.time() - started
        by_set: Dict[str, List[bool]] = {}
        by_language: Dict[str, List[bool]] = {}
        for row in rows:
            ok = same(classify(model, row.text, vector_of), row.gold)
            by_set.setdefault(row.set_name, []).append(ok)
            by_language.setdefault(row.language, []).append(ok)
        every = [ok for oks in by_set.values() for ok in oks]
        sets = " ".join(f"{s} {np.mean(v):.3f}" for s, v in by_set.items())
        languages = " ".join(f"{lang} {np.mean(v):.3f}" for lang, v in sorted(by_language.items()))
        print(f"{name:24s} all {np.mean(every):.3f} | {sets} | {languages} | fit {fit_seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
