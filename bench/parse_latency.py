"""`/model/parse` latency over HTTP: a real Rasa server (as `make run` starts it) and one message
at a time, as one user's turn meets an idle server. Prints p50/p95/p99 over the chosen sets and
by message length, and the server's memory after load.

    .venv/bin/python bench/parse_latency.py [--sets 2026-12g 2026-12f ...] [--model models/current.tar.gz]

Times only; it prints no message text. Run it on an otherwise idle machine (a benchmark beside it
doubles the figures: the e5 encoder uses both cores).
"""

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from eval_sets import all_rows  # noqa: E402
from nlu_benchmark import tree_rss_mb  # noqa: E402
from nlu_metrics import percentile  # noqa: E402

from ops.processes import loopback_settings, rasa_model_loaded, start_rasa, stop  # noqa: E402

LENGTHS = ((0, 15, "1–15 words"), (16, 40, "16–40 words"), (41, 10**6, "41+ words"))


def percentiles(values: List[float]) -> Dict[str, float]:
    ordered = sorted(values)
    quantiles = {f"p{round(100 * q)}": percentile(ordered, q) for q in (0.5, 0.95, 0.99)}
    return {"n": len(ordered), **quantiles, "max": round(ordered[-1], 1)}


def parse(url: str, text: str) -> float:
    body = json.dumps({"text": text}).encode("utf-8")
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return 1000 * (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["2026-12g", "2026-12f", "2026-12e", "2026-12d"])
    parser.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    args = parser.parse_args()
    rows = all_rows(args.sets)
    with tempfile.TemporaryDirectory() as var_dir:
        settings = loopback_settings(Path(var_dir), Path(args.model).resolve())
        rasa = start_rasa(settings)
        try:
            deadline = time.monotonic() + 300
            while not rasa_model_loaded(settings):
                if rasa.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Rasa did not load the model; see {var_dir}/logs/")
                time.sleep(1)
            rss = tree_rss_mb(rasa.pid)
            url = f"{settings.rasa_url}/model/parse?token={settings.rasa_auth_token}"
            for warm_up in ("hei", "hva koster en test?"):
                parse(url, warm_up)
            timed = [(len(row.text.split()), parse(url, row.text)) for row in rows]
        finally:
            stop([rasa])
    print(f"Rasa RSS after load: {rss:.0f} MB; {len(timed)} messages from {', '.join(args.sets)}")
    print(f"  all          {percentiles([ms for _, ms in timed])}")
    for low, high, name in LENGTHS:
        chosen = [ms for words, ms in timed if low <= words <= high]
        if chosen:
            print(f"  {name:12} {percentiles(chosen)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
