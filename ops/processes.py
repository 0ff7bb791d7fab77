"""Starting, checking and stopping the Rasa server and the action server.

Used by the launcher (make run / make shell) and by the end-to-end tests, so both run the
processes exactly the same way.
"""

import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Dict, List, NoReturn, Optional

from bot.endpoints import write_endpoints
from bot.private_files import PRIVATE_UMASK
from core.settings import PROJECT_ROOT, Settings, child_environment

BIN = Path(sys.executable).parent


def process_env(settings: Settings) -> Dict[str, str]:
    """A child's environment: this process's (core/settings.py child_environment), with the settings."""
    env = child_environment()
    env.update(
        ACTION_SERVER_URL=settings.action_server_url,
        RASA_HOST=settings.rasa_host,
        RASA_PORT=str(settings.rasa_port),
        RASA_AUTH_TOKEN=settings.rasa_auth_token,
        RASA_CHANNEL_SECRET=settings.rasa_channel_secret,
        ACTION_SERVER_SECRET=settings.action_server_secret,
        TRACKER_DB=str(settings.tracker_db),
        TRACKER_STORE_URL=settings.tracker_store_url,
        LOCK_STORE_URL=settings.lock_store_url,
        VAR_DIR=str(settings.var_dir),
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        RASA_TELEMETRY_ENABLED="false",  # nothing about the service leaves the machine
        PYTHONPATH=str(PROJECT_ROOT),
    )
    return env


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now (for tests and benchmarks)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loopback_settings(var_dir: Path, model_path: Path) -> Settings:
    """Settings for a throwaway stack of one of each process on free loopback ports, its files in
    `var_dir` (the tests' stack, the conversation benchmark's)."""
    return Settings(
        rasa_host="127.0.0.1",
        rasa_port=free_port(),
        action_host="127.0.0.1",
        action_port=free_port(),
        gateway_host="127.0.0.1",
        gateway_port=free_port(),
        rasa_auth_token=secrets.token_hex(16),
        tracker_db=var_dir / "tracker.db",
        model_path=model_path,
        var_dir=var_dir,
    )


def open_private_log(path: Path):
    """A log file for appending, readable by its owner only (bot/private_files.py)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")


def _spawn(command: List[str], settings: Settings, log_name: str, **extra_env: str) -> subprocess.Popen:
    log = open_private_log(settings.var_dir / "logs" / log_name)
    env = {**process_env(settings), **extra_env}
    # umask 077: every database, log and secret the process creates is its user's only
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        umask=PRIVATE_UMASK,
    )


def start_action_server(settings: Settings, log_name: str = "actions.log", **extra_env: str) -> subprocess.Popen:
    command = [str(BIN / "python"), "-m", "services.action_server"]
    return _spawn(
        command,
        settings,
        log_name,
        ACTION_HOST=settings.action_host,
        ACTION_PORT=str(settings.action_port),
        **extra_env,
    )


def start_gateway(settings: Settings, log_name: str = "gateway.log", **extra_env: str) -> subprocess.Popen:
    return _spawn(
        [str(BIN / "python"), "-m", "bot.gateway"],
        settings,
        log_name,
        GATEWAY_HOST=settings.gateway_host,
        GATEWAY_PORT=str(settings.gateway_port),
        **extra_env,
    )


def start_nginx(config: Path, log: Path) -> subprocess.Popen:
    """Debian's nginx in the foreground with the given configuration (ops/cluster.py writes it)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with open_private_log(log) as output:
        return subprocess.Popen(
            [nginx, "-c", str(config), "-p", str(config.parent), "-e", str(log)],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=PRIVATE_UMASK,
        )


def gateway_up(settings: Settings) -> bool:
    return _get(f"{settings.gateway_url}/health") is not None


def wait_for_gateway(settings: Settings, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not gateway_up(settings):
        ensure_running([process])
        if time.monotonic() > deadline:
            raise TimeoutError(f"gateway not up after {timeout:.0f} s; see {settings.var_dir}/logs/")
        time.sleep(0.3)


def rasa_run_command(settings: Settings) -> List[str]:
    """`rasa run`; the API token goes through the environment (services/rasa_main.py)."""
    return [
        str(BIN / "python"),
        "-m",
        "services.rasa_main",
        "run",
        "--model",
        str(settings.model_path),
        "--endpoints",
        str(write_endpoints(settings)),
        "--credentials",
        "credentials.yml",
        "--logging-config-file",
        "logging.yml",
        "--interface",
        settings.rasa_host,
        "--port",
        str(settings.rasa_port),
        "--enable-api",
    ]


def start_rasa(settings: Settings, log_name: str = "rasa.log", **extra_env: str) -> subprocess.Popen:
    settings.tracker_db.parent.mkdir(parents=True, exist_ok=True)
    return _spawn(rasa_run_command(settings), settings, log_name, **extra_env)


def _get(url: str, timeout: float = 2.0) -> Optional[bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def rasa_model_loaded(settings: Settings) -> bool:
    """True once the server answers /status with a loaded model.

    If the model cannot be loaded (e.g. the spaCy directory is missing), `rasa run` keeps
    running without a model, so the port answering is not enough.
    """
    url = f"{settings.rasa_url}/status"
    if settings.rasa_auth_token:
        url += f"?token={settings.rasa_auth_token}"
    body = _get(url)
    if not body:
        return False
    try:
        return bool(json.loads(body).get("model_file"))
    except ValueError:
        return False


def action_server_up(settings: Settings) -> bool:
    return _get(f"http://{settings.action_host}:{settings.action_port}/health") is not None


def ensure_running(processes: List[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is not None:
            command = [str(part) for part in process.args] if isinstance(process.args, list) else [str(process.args)]
            raise RuntimeError(f"{' '.join(command[:2])} exited with {process.returncode}; see var/logs/")


def wait_until_ready(
    settings: Settings,
    processes: List[subprocess.Popen],
    timeout: float = 300,
    need_rasa: bool = True,
    need_gateway: bool = False,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ensure_running(processes)
        gateway_ready = gateway_up(settings) if need_gateway else True
        if action_server_up(settings) and gateway_ready and (not need_rasa or rasa_model_loaded(settings)):
            return
        time.sleep(1)
    raise TimeoutError(f"Rasa or the action server not ready after {timeout:.0f} s; see var/logs/")


def raise_interrupt(*_):
    raise KeyboardInterrupt


def serve_until_interrupted(check: Callable[[], None], every: float = 2.0) -> NoReturn:
    """Calls check() every few seconds until Ctrl-C, or SIGTERM once the caller has turned it
    into KeyboardInterrupt with raise_interrupt (done first, so start-up is covered too)."""
    while True:
        check()
        time.sleep(every)


def with_auth_token(settings: Settings) -> Settings:
    """Rasa's HTTP API is never left open: a fresh random token per run unless one is set."""
    if settings.rasa_auth_token:
        return settings
    return dataclasses.replace(settings, rasa_auth_token=secrets.token_urlsafe(32))


def stop_on_exit(processes: List[subprocess.Popen]) -> None:
    """stop() for a launcher that is exiting: a second Ctrl-C or SIGTERM (a service manager, or
    `timeout`, often sends one) must not cut the clean-up short and leave servers running."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stop(processes)


def stop(processes: List[subprocess.Popen], grace: float = 15) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
