"""Starts the assistant on the embedded defaults: action server, Rasa server and gateway.

python -m ops.launcher           # servers until Ctrl-C
python -m ops.launcher --shell   # action server + a chat in this terminal
"""

import argparse
import os
import signal
import subprocess
import sys

from bot.endpoints import write_endpoints
from bot.private_files import PRIVATE_UMASK, check_private, make_private
from core.settings import PROJECT_ROOT, load_settings
from ops.processes import (
    ensure_running,
    process_env,
    raise_interrupt,
    serve_until_interrupted,
    start_action_server,
    start_gateway,
    start_rasa,
    stop_on_exit,
    wait_until_ready,
    with_auth_token,
)


def telegram_status(settings) -> str:
    if not settings.telegram_token:
        return "Telegram: off (set TELEGRAM_TOKEN to turn it on, see README)."
    if settings.telegram_webhook_url:
        return f"Telegram: on, webhook at {settings.telegram_webhook_url} (details in var/logs/gateway.log)."
    return "Telegram: on, long polling (details in var/logs/gateway.log)."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shell", action="store_true", help="chat with the bot in this terminal")
    args = parser.parse_args()
    settings = with_auth_token(load_settings())
    signal.signal(signal.SIGTERM, raise_interrupt)
    os.umask(PRIVATE_UMASK)
    make_private(settings.var_dir)

    processes = [start_action_server(settings)]
    try:
        if args.shell:
            wait_until_ready(settings, processes, timeout=60, need_rasa=False)
            shell = [
                sys.executable,
                "-m",
                "services.rasa_main",
                "shell",
                "--model",
                str(settings.model_path),
                "--endpoints",
                str(write_endpoints(settings)),
            ]
            return subprocess.call(shell, cwd=PROJECT_ROOT, env=process_env(settings))

        processes += [start_rasa(settings), start_gateway(settings)]
        print("Starting the action server, Rasa and the gateway (about a minute) ...", flush=True)
        wait_until_ready(settings, processes, need_gateway=True)
        check_private(settings.var_dir)
        print(f"Ready. Chat with the bot in your browser: {settings.gateway_url}/", flush=True)
        print(
            f'Embed the widget on a page: <script src="{settings.gateway_url}/widget.js" defer></script> '
            "(allow the page's origin with WEB_ALLOWED_ORIGINS)",
            flush=True,
        )
        print(
            f"Counsellors' page: {settings.gateway_url}/radgiver/ (set COUNSELLOR_PASSWORD_HASH, see README)",
            flush=True,
        )
        print(telegram_status(settings), flush=True)
        print("Chat in the terminal: make shell. Logs: var/logs/. Stop: Ctrl-C.", flush=True)
        return serve_until_interrupted(lambda: ensure_running(processes))
    except KeyboardInterrupt:
        return 0
    finally:
        print("Stopping ...", flush=True)
        stop_on_exit(processes)


if __name__ == "__main__":
    sys.exit(main())
