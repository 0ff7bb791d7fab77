"""NLU benchmark: the final topic that /model/parse returns, on every evaluation set, per pipeline.

Trains an NLU model for each pipeline (config.yml and the alternatives given), parses every
message of every evaluation set (bench/eval_sets.py: the old held-out files and the blind sets
written from situation cards) and prints, side by side per set: accuracy overall, per language
and on long messages, safety recall and precision, out-of-scope recall, two-question coverage,
a calibration table, the worst confusions; then training time and memory, model load time,
memory after load and parse latency. Writes a confusion-matrix PNG for the first pipeline.

    .venv/bin/python bench/nlu_benchmark.py [--configs config.yml ...] [--sets heldout 2026-12]
                                            [--reuse]   # skip training when a model exists
                                            [--model models/current.tar.gz]  # evaluate only
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the pipeline's custom components live in components/
sys.path.insert(0, str(ROOT / "bench"))
from eval_sets import Row, all_rows, blind_set_names, catalogue_label  # noqa: E402
from nlu_metrics import latency_summary, metrics  # noqa: E402

OUT = ROOT / "bench" / "out"
PICTURE = ROOT / "docs" / "images" / "confusion_matrix.png"


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            with open(f"/proc/{current}/task/{current}/children") as children:
                pids.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            continue
    return total / 1024


def run_measured(command: List[str]) -> Tuple[float, float]:
    """Runs a command; returns (seconds, peak RSS in MB of its process tree)."""
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, tree_rss_mb(process.pid))
        time.sleep(0.5)
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed with {process.returncode}")
    return time.monotonic() - start, peak


def train(config: Path, name: str) -> Dict[str, float]:
    rasa = Path(sys.executable).parent / "rasa"
    seconds, peak = run_measured(
        [
            str(rasa),
            "train",
            "nlu",
            "--config",
            str(config),
            "--nlu",
            "data",
            "--out",
            str(OUT),
            "--fixed-model-name",
            name,
        ]
    )
    return {"train_seconds": round(seconds, 1), "train_peak_rss_mb": round(peak)}


def final_topic(parse: Dict, intent: str = None) -> str:
    intent = intent or parse["intent"]["name"]
    if intent == "faq":
        return parse["response_selector"]["faq"]["response"]["intent_response_key"]
    return intent


def prediction(parse: Dict, milliseconds: float) -> Dict:
    """What the benchmark keeps of one parse: the final topic and the confidence behind it."""
    topic = final_topic(parse)
    confidence = float(parse["intent"].get("confidence") or 0.0)
    if parse["intent"]["name"] == "faq":
        confidence = min(confidence, float(parse["response_selector"]["faq"]["response"].get("confidence") or 0.0))
    if topic == "nlu_fallback":
        top = next((r for r in parse.get("intent_ranking") or [] if r["name"] != "nlu_fallback"), None)
        confidence = float(top["confidence"]) if top else 0.0
    ranking = parse.get("topic_ranking") or []
    raw = (ranking[0]["name"], float(ranking[0]["confidence"])) if ranking else (topic, confidence)
    return {
        "topic": topic,
        "confidence": round(confidence, 4),
        "second": parse.get("second_topic"),
        "raw_topic": raw[0],
        "raw_confidence": round(raw[1], 4),
        "crisis_by": parse.get("safety_backstop"),
        "ms": round(milliseconds, 2),
    }


def evaluate_in_this_process(model: Path, result_file: Path, set_names: Sequence[str]) -> None:
    """Child mode: load the model, parse every message, write predictions as JSON."""
    from rasa.core.agent import Agent

    start = time.monotonic()
    agent = Agent.load(str(model))
    load_seconds = time.monotonic() - start
    rss_after_load = tree_rss_mb(os.getpid())
    rows = all_rows(list(set_names))

    async def parse_all():
        await agent.parse_message("hei")  # first parse builds lazy state; not a user's latency
        out = []
        for row in rows:
            began = time.perf_counter()
            parse = await agent.parse_message(row.text)
            out.append(prediction(parse, 1000 * (time.perf_counter() - began)))
        return out

    predictions = asyncio.run(parse_all())
    result_file.write_text(
        json.dumps(
            {
                "predictions": predictions,
                "load_seconds": round(load_seconds, 1),
                "rss_after_load_mb": round(rss_after_load),
            }
        )
    )


def evaluate(model: Path, name: str, set_names: Sequence[str]) -> Dict:
    result_file = OUT / f"{name}.predictions.json"
    subprocess.run(
        [sys.executable, __file__, "--evaluate-model", str(model), "--result", str(result_file), "--sets", *set_names],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return json.loads(result_file.read_text())


def confusion_picture(rows: Sequence[Row], predictions: Sequence[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = sorted({r.gold for r in rows} | set(predictions))
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)))
    for row, predicted in zip(rows, predictions):
        matrix[index[row.gold], index[predicted]] += 1
    matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axis = plt.subplots(figsize=(14, 13))
    axis.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    axis.set_yticks(range(len(labels)), labels, fontsize=7)
    axis.set_xlabel("predicted topic")
    axis.set_ylabel("true topic")
    axis.set_title("Blind-set topic confusion (row-normalised)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)


SIDE_BY_SIDE = (
    "messages",
    "accuracy",
    "per_language",
    "long_messages",
    "safety_recall",
    "safety_recall_exact_kind",
    "safety_precision",
    "crisis_messages",
    "hard_negatives_kept_calm",
    "out_of_scope_recall",
    "two_questions_both_covered",
)


def report_for(rows: Sequence[Row], evaluation: Dict, set_names: Sequence[str]) -> Dict:
    predictions = evaluation["predictions"]
    report = {}
    for name in set_names:
        chosen = [(r, p) for r, p in zip(rows, predictions) if r.set_name == name]
        report[name] = metrics([r for r, _ in chosen], [p for _, p in chosen])
    report["costs"] = {
        "load_seconds": evaluation["load_seconds"],
        "rss_after_load_mb": evaluation["rss_after_load_mb"],
        **latency_summary([p["ms"] for p in predictions]),
    }
    return report


def print_report(report: Dict, set_names: Sequence[str]) -> None:
    width = max(len(n) for n in set_names) + 2
    print("  " + " " * 28 + "".join(f"{n:>{max(width, 12)}}" for n in set_names))
    for key in SIDE_BY_SIDE:
        values = [report[n][key] for n in set_names]
        if isinstance(values[0], dict):
            languages = sorted({lang for v in values for lang in v})
            for lang in languages:
                cells = "".join(f"{str(v.get(lang, '-')):>{max(width, 12)}}" for v in values)
                print(f"  {'accuracy ' + lang:<28}{cells}")
        else:
            print(f"  {key:<28}" + "".join(f"{str(v):>{max(width, 12)}}" for v in values))
    for name in set_names:
        print(f"  -- {name}: calibration (confidence of the answer given → accuracy)")
        for line in report[name]["calibration"]:
            print(f"     {line}")
        for line in report[name]["fallback_threshold_sweep"]:
            print(f"     {line}")
        print(f"     worst confusions: {'; '.join(report[name]['worst_confusions'][:8])}")
        if report[name]["missed_crisis_kinds"]:
            print(f"     missed crisis kinds: {report[name]['missed_crisis_kinds']}")
    for key, value in report.items():
        if key not in set_names:
            print(f"  {key}: {value}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", nargs="+", default=["config.yml"])
    parser.add_argument("--sets", nargs="+", default=None, help="evaluation sets (default: all)")
    parser.add_argument("--reuse", action="store_true", help="reuse trained models in bench/out/")
    parser.add_argument("--model", help="evaluate this trained model only (no training)")
    parser.add_argument("--evaluate-model", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    set_names = args.sets or ["heldout"] + blind_set_names()
    if args.evaluate_model:
        evaluate_in_this_process(Path(args.evaluate_model), Path(args.result), set_names)
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    rows = all_rows(set_names)
    report = {}
    targets = [(Path(args.model), Path(args.model).name.split(".")[0], {})] if args.model else []
    for config in [] if args.model else args.configs:
        name = Path(config).stem
        model = OUT / f"{name}.tar.gz"
        print(f"== training {config}", flush=True)
        numbers = {} if args.reuse and model.exists() else train(ROOT / config, name)
        targets.append((model, name, numbers))
    for number, (model, name, numbers) in enumerate(targets):
        print(f"== {name}", flush=True)
        evaluation = evaluate(model, name, set_names)
        report[name] = report_for(rows, evaluation, set_names)
        report[name]["costs"].update(numbers, model_mb=round(model.stat().st_size / 1e6, 1))
        print_report(report[name], set_names)
        if number == 0 and len(set_names) > 1:
            blind = [
                (r, catalogue_label(p["topic"]))
                for r, p in zip(rows, evaluation["predictions"])
                if r.set_name != "heldout"
            ]
            if blind:
                confusion_picture([r for r, _ in blind], [p for _, p in blind], PICTURE)
    (OUT / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\nDetails (every miss): {OUT / 'report.json'}; confusion matrix: {PICTURE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
