"""Conversation benchmark: plays every written conversation (tests/conversations/) through a
fresh real stack (action server, Rasa, gateway; SQLite in a temporary folder) over the gateway's
HTTP channel, typed, and prints the share of checks and of whole conversations that pass, per
kind of conversation, with every failed check.

    .venv/bin/python bench/conversation_benchmark.py [--only CA-01 CB-03] [--model models/current.tar.gz]
        [--folder bench/blind/conversations]
"""

import argparse
import json
import os
import sys
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from conversation_player import Player, load_conversations  # noqa: E402

OUT = ROOT / "bench" / "out"


def start_stack(var_dir: Path, model: Path):
    from ops.processes import loopback_settings, start_action_server, start_gateway, start_rasa, wait_until_ready

    clock_file = var_dir / "action_clock"
    os.environ.update(
        ACTION_CLOCK_FILE=str(clock_file), COOKIE_SECURE="0", DATABASE_URL=f"sqlite:///{var_dir / 'bookings.db'}"
    )
    settings = loopback_settings(var_dir, model)
    # every player comes from one address and books several times
    processes = [
        start_action_server(settings, BOOKINGS_PER_ADDRESS_PER_DAY="100000"),
        start_rasa(settings),
        start_gateway(
            settings,
            WEB_ADDRESS_MESSAGES="100000",
            FLOOD_MESSAGES="1000",
            WEB_ADDRESS_REQUESTS="100000",
            WEB_SOCKETS_PER_ADDRESS="100000",
        ),
    ]
    wait_until_ready(settings, processes, timeout=300, need_gateway=True)
    return settings, processes, clock_file


def player_for(settings, clock_file: Path) -> Player:
    import yaml

    from bot.pseudonyms import Pseudonyms, load_secret
    from core.booking_store import BookingStore

    pseudonyms = Pseudonyms(load_secret(settings))
    service = yaml.safe_load((ROOT / "content" / "service.yml").read_text(encoding="utf-8"))
    return Player(
        settings.gateway_url,
        settings.rasa_url,
        settings.rasa_auth_token,
        lambda session: pseudonyms.sender_id("web", session),
        clock_file,
        BookingStore(os.environ["DATABASE_URL"]),
        str(service["service_phone"]),
        ROOT / "content" / "language_markers.yml",
    )


def summarise(results) -> dict:
    by_kind = defaultdict(lambda: [0, 0, 0, 0])  # checks passed, checks, conversations passed, conversations
    for result in results:
        failed = len(result.failures)
        for kind in result.kinds + ["all"]:
            entry = by_kind[kind]
            entry[0] += result.checks - failed
            entry[1] += result.checks
            entry[2] += failed == 0
            entry[3] += 1
    return {
        kind: {"checks": f"{p}/{n} ({p / n:.0%})", "conversations": f"{cp}/{cn}"}
        for kind, (p, n, cp, cn) in sorted(by_kind.items())
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="conversation ids")
    parser.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    parser.add_argument(
        "--folder",
        default=str(ROOT / "tests" / "conversations"),
        help="the conversations to play (bench/blind/conversations: held out, never read to fix)",
    )
    parser.add_argument("--transcripts", action="store_true", help="print every failed conversation in full")
    args = parser.parse_args()
    from ops.processes import stop

    conversations = [c for c in load_conversations(Path(args.folder)) if not args.only or c["id"] in args.only]
    with tempfile.TemporaryDirectory() as folder:
        settings, processes, clock_file = start_stack(Path(folder), Path(args.model))
        try:
            player = player_for(settings, clock_file)
            results = [player.play(c, uuid.uuid4().hex) for c in conversations]
        finally:
            stop(processes)
    for result in results:
        mark = "ok  " if not result.failures else "FAIL"
        print(f"{mark} {result.id} [{result.language}] {', '.join(result.kinds)}")
        if args.transcripts and result.failures:
            print("\n".join(result.transcript()))
        else:
            for failure in result.failures:
                print(f"       {failure}")
    summary = summarise(results)
    print("\nper kind: checks passed, whole conversations passed")
    for kind, numbers in summary.items():
        print(f"  {kind:18s} {numbers['checks']:>16s}  {numbers['conversations']}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"conversations-{Path(args.folder).name}.json").write_text(
        json.dumps({"summary": summary, "failures": {r.id: r.failures for r in results}}, indent=2, ensure_ascii=False)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
