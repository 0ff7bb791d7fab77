"""Trains the Rasa model only when its inputs changed since the last training.

The fingerprint covers what the trained model depends on: config.yml, domain.yml, data/ and the
custom components' code, with the core modules they read text with. Content read at run time
(content/) needs no retraining.
"""

import hashlib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUTS = [
    "config.yml",
    "domain.yml",
    "data",
    "components",
    "core/text_normalise.py",
    "core/phrase_matcher.py",
    "core/intents.py",  # what the components
    "core/reference_codes.py",
]  # read text with
MODEL = ROOT / "models" / "current.tar.gz"
FINGERPRINT = ROOT / "models" / "current.fingerprint"


def fingerprint() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".pyc":
                continue
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def main() -> int:
    current = fingerprint()
    if MODEL.exists() and FINGERPRINT.exists() and FINGERPRINT.read_text().strip() == current:
        print(f"Model is up to date: {MODEL.relative_to(ROOT)}")
        return 0
    print("Training the model (config, domain or data changed) ...", flush=True)
    rasa = Path(sys.executable).parent / "rasa"
    command = [
        str(rasa),
        "train",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--out",
        "models",
        "--fixed-model-name",
        "current",
    ]
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT)
    if result.returncode != 0:
        return result.returncode
    FINGERPRINT.write_text(current + "\n")
    size_mb = MODEL.stat().st_size / 1e6
    print(f"Trained in {time.monotonic() - started:.0f} s: {MODEL.relative_to(ROOT)} ({size_mb:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
