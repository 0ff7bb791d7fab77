"""NLU benchmark: accuracy of the final topic on the held-out files, per pipeline.

Trains an NLU model for each pipeline (config.yml and the alternatives given), evaluates each on
bench/heldout/{nb,nn,en}.yml (written separately from the training data), and prints overall and
per-language accuracy of the final topic (the retrieval key for FAQ), safety recall,
out-of-scope recall, the worst confusions, training time and memory, start-up time and memory.
Writes a confusion-matrix PNG for the first pipeline.

    .venv/bin/python bench/nlu_benchmark.py [--configs config.yml bench/config_whitespace.yml]
                                            [--reuse]   # skip training when a model exists
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the pipeline's custom components live in components/
OUT = ROOT / "bench" / "out"
HELDOUT = ROOT / "bench" / "heldout"
PICTURE = ROOT / "docs" / "images" / "confusion_matrix.png"
LANGUAGES = ("nb", "nn", "en")
SAFETY = {"crisis_suicide", "crisis_assault", "crisis_medical", "crisis_exploitation"}


def heldout() -> List[Tuple[str, str, str]]:
    """(language, gold topic, text) for every held-out message."""
    rows = []
    for language in LANGUAGES:
        for block in yaml.safe_load((HELDOUT / f"{language}.yml").read_text())["nlu"]:
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    rows.append((language, block["intent"], line.strip()[2:]))
    return rows


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(l.split()[1]) for l in status if l.startswith("VmRSS:"))
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
    seconds, peak = run_measured([str(rasa), "train", "nlu", "--config", str(config), "--nlu", "data",
                                  "--out", str(OUT), "--fixed-model-name", name])
    return {"train_seconds": round(seconds, 1), "train_peak_rss_mb": round(peak)}


def final_topic(parse: Dict, intent: str = None) -> str:
    intent = intent or parse["intent"]["name"]
    if intent == "faq":
        return parse["response_selector"]["faq"]["response"]["intent_response_key"]
    return intent


def raw_prediction(parse: Dict) -> Tuple[str, float]:
    """The classifier's own topic and confidence, before the FallbackClassifier's verdict."""
    top = next((r for r in parse.get("intent_ranking") or [] if r["name"] != "nlu_fallback"), parse["intent"])
    return final_topic(parse, top["name"]), float(top["confidence"])


def evaluate_in_this_process(model: Path, result_file: Path) -> None:
    """Child mode: load the model, parse every held-out message, write predictions as JSON."""
    from rasa.core.agent import Agent

    start = time.monotonic()
    agent = Agent.load(str(model))
    load_seconds = time.monotonic() - start
    rss_after_load = tree_rss_mb(os.getpid())

    async def parse_all():
        out, raw, durations = [], [], []
        for _, _, text in heldout():
            began = time.perf_counter()
            parse = await agent.parse_message(text)
            durations.append(time.perf_counter() - began)
            out.append(final_topic(parse))
            raw.append(raw_prediction(parse))
        return out, raw, durations

    predictions, raw, durations = asyncio.run(parse_all())
    durations.sort()
    result_file.write_text(json.dumps({
        "predictions": predictions, "raw": raw, "load_seconds": round(load_seconds, 1),
        "rss_after_load_mb": round(rss_after_load),
        "parse_p50_ms": round(1000 * durations[len(durations) // 2], 1),
    }))


def evaluate(model: Path, name: str) -> Dict:
    result_file = OUT / f"{name}.predictions.json"
    subprocess.run([sys.executable, __file__, "--evaluate-model", str(model), "--result", str(result_file)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(result_file.read_text())


def metrics(rows, predictions) -> Dict:
    def accuracy(selected):
        return round(sum(p == g for (_, g, _), p in selected) / max(1, len(selected)), 3)

    paired = list(zip(rows, predictions))
    safety = [(r, p) for r, p in paired if r[1] in SAFETY]
    confusions = Counter((g, p) for (_, g, _), p in paired if g != p)
    return {
        "messages": len(rows),
        "accuracy": accuracy(paired),
        "per_language": {lang: accuracy([(r, p) for r, p in paired if r[0] == lang]) for lang in LANGUAGES},
        "safety_recall": accuracy(safety),
        "safety_recall_any_crisis": round(sum(p in SAFETY for _, p in safety) / max(1, len(safety)), 3),
        "out_of_scope_recall": accuracy([(r, p) for r, p in paired if r[1] == "out_of_scope"]),
        "worst_confusions": [f"{g} -> {p} ({n})" for (g, p), n in confusions.most_common(12)],
        "misses": [f"[{r[0]}] {r[1]} -> {p}: {r[2]}" for r, p in paired if r[1] != p],
    }


def threshold_sweep(rows, raw) -> List[str]:
    """For each fallback threshold: answered correctly / answered wrongly / asked to rephrase.

    Crisis messages are left out: the safety backstop answers them whatever the threshold.
    """
    lines = []
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        right = wrong = fallback = 0
        for (_, gold, _), (topic, confidence) in zip(rows, raw):
            if gold in SAFETY:
                continue
            if confidence < threshold:
                fallback += 1
            elif topic == gold:
                right += 1
            else:
                wrong += 1
        lines.append(f"threshold {threshold:.1f}: right {right}, wrong {wrong}, fallback {fallback}")
    return lines


def confusion_picture(rows, predictions, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = sorted({g for _, g, _ in rows} | set(predictions))
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)))
    for (_, gold, _), predicted in zip(rows, predictions):
        matrix[index[gold], index[predicted]] += 1
    matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axis = plt.subplots(figsize=(14, 13))
    axis.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    axis.set_yticks(range(len(labels)), labels, fontsize=7)
    axis.set_xlabel("predicted topic")
    axis.set_ylabel("true topic")
    axis.set_title("Held-out topic confusion (row-normalised)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", nargs="+", default=["config.yml", "bench/config_whitespace.yml"])
    parser.add_argument("--reuse", action="store_true", help="reuse trained models in bench/out/")
    parser.add_argument("--evaluate-model", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evaluate_model:
        evaluate_in_this_process(Path(args.evaluate_model), Path(args.result))
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    rows = heldout()
    report = {}
    for number, config in enumerate(args.configs):
        name = Path(config).stem
        model = OUT / f"{name}.tar.gz"
        print(f"== {config}", flush=True)
        numbers = {} if args.reuse and model.exists() else train(ROOT / config, name)
        evaluation = evaluate(model, name)
        numbers.update(metrics(rows, evaluation["predictions"]))
        numbers.update({k: v for k, v in evaluation.items() if k not in ("predictions", "raw")})
        numbers["fallback_threshold_sweep"] = threshold_sweep(rows, evaluation["raw"])
        numbers["model_mb"] = round(model.stat().st_size / 1e6, 1)
        report[config] = numbers
        if number == 0:
            confusion_picture(rows, evaluation["predictions"], PICTURE)
        for key, value in numbers.items():
            if key != "misses":
                print(f"  {key}: {value}")
    (OUT / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\nDetails (every miss): {OUT / 'report.json'}; confusion matrix: {PICTURE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
