"""The NLU benchmark's figures, computed from rows and predictions (no Rasa needed here)."""

from collections import Counter
from typing import Dict, List, Sequence

from eval_sets import SAFETY, Row, catalogue_label

CALIBRATION_BINS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01)


def _share(hits: int, total: int) -> float:
    return round(hits / total, 3) if total else float("nan")


def accuracy(pairs) -> float:
    pairs = list(pairs)
    return _share(sum(p == r.gold for r, p in pairs), len(pairs))


def calibration(rows: Sequence[Row], predictions: Sequence[Dict]) -> List[str]:
    """Confidence of the answer given against how often it was right, per confidence bin."""
    lines = []
    for low, high in zip(CALIBRATION_BINS, CALIBRATION_BINS[1:]):
        hits = [
            catalogue_label(p["topic"]) == r.gold for r, p in zip(rows, predictions) if low <= p["confidence"] < high
        ]
        if hits:
            lines.append(
                f"{low:.2f}–{min(high, 1.0):.2f}: {len(hits):4d} messages, accuracy {_share(sum(hits), len(hits))}"
            )
    return lines


def threshold_sweep(rows: Sequence[Row], predictions: Sequence[Dict]) -> List[str]:
    """For each fallback threshold: answered right / answered wrong / asked "Mente du …?", over
    the non-crisis messages (the crisis layer answers crises whatever the threshold)."""
    lines = []
    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6):
        right = wrong = fallback = 0
        for row, p in zip(rows, predictions):
            if row.gold in SAFETY or catalogue_label(p["topic"]) in SAFETY:
                continue
            topic, confidence = p.get("raw_topic", p["topic"]), p.get("raw_confidence", p["confidence"])
            if confidence < threshold:
                fallback += 1
            elif catalogue_label(topic) == row.gold:
                right += 1
            else:
                wrong += 1
        lines.append(f"threshold {threshold:.1f}: right {right}, wrong {wrong}, fallback {fallback}")
    return lines


def metrics(rows: Sequence[Row], predictions: Sequence[Dict]) -> Dict:
    """Figures for one evaluation set. predictions[i] = {'topic', 'confidence', 'second', ...}."""
    final = [catalogue_label(p["topic"]) for p in predictions]
    paired = list(zip(rows, final))
    crisis_gold = [(r, p) for r, p in paired if r.gold in SAFETY]
    crisis_predicted = [(r, p) for r, p in paired if p in SAFETY]
    languages = sorted({r.language for r in rows})
    confusions = Counter((r.gold, p) for r, p in paired if r.gold != p)
    seconds = [(r, p) for r, p in zip(rows, predictions) if r.second]
    kinds = Counter(r.crisis_kind for r, p in crisis_gold if p not in SAFETY and r.crisis_kind)
    return {
        "messages": len(rows),
        "accuracy": accuracy(paired),
        "per_language": {
            lang: f"{accuracy((r, p) for r, p in paired if r.language == lang)} "
            f"({sum(r.language == lang for r in rows)})"
            for lang in languages
        },
        "long_messages": f"{accuracy((r, p) for r, p in paired if r.long)} ({sum(r.long for r in rows)})",
        # Any crisis label counts for recall and precision: every crisis answer gives numbers first.
        "safety_recall": _share(sum(p in SAFETY for _, p in crisis_gold), len(crisis_gold)),
        "safety_recall_exact_kind": accuracy(crisis_gold),
        "safety_precision": _share(sum(r.gold in SAFETY for r, _ in crisis_predicted), len(crisis_predicted)),
        "crisis_messages": len(crisis_gold),
        "hard_negatives_kept_calm": _share(
            sum(p not in SAFETY for r, p in paired if r.hard_negative), sum(r.hard_negative for r in rows)
        ),
        "out_of_scope_recall": accuracy((r, p) for r, p in paired if r.gold == "out_of_scope"),
        # Two-question messages: both questions covered by the answer and the "Les også" offer.
        "two_questions_both_covered": _share(
            sum({r.gold, r.second} <= {catalogue_label(p["topic"]), p.get("second")} for r, p in seconds), len(seconds)
        ),
        "missed_crisis_kinds": dict(kinds.most_common()),
        "calibration": calibration(rows, predictions),
        "fallback_threshold_sweep": threshold_sweep(rows, predictions),
        "worst_confusions": [f"{g} -> {p} ({n})" for (g, p), n in confusions.most_common(12)],
        "misses": [f"[{r.language}] {r.gold} -> {p}: {r.text}" for r, p in paired if r.gold != p],
    }


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted durations (nearest rank, rounded to 0.1 ms)."""
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def latency_summary(durations_ms: List[float]) -> Dict[str, float]:
    ordered = sorted(durations_ms)
    if not ordered:
        return {}
    return {
        "parse_p50_ms": percentile(ordered, 0.50),
        "parse_p95_ms": percentile(ordered, 0.95),
        "parse_max_ms": round(ordered[-1], 1),
    }
