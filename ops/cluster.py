"""A cluster on one machine (make cluster): nginx in front of N gateway replicas, N Rasa servers
and N action servers, all on loopback, sharing PostgreSQL (conversations, bookings) and Redis
(the gateways' shared state). Ctrl-C stops everything.

    python -m ops.cluster      # CLUSTER_PORT (8088), CLUSTER_REPLICAS (2), CLUSTER_FIRST_PORT (8100)

nginx balances three things: users → gateways (port CLUSTER_PORT), gateways → Rasa servers and
Rasa servers → action servers (two internal ports); its configuration is the template beside
this file (ops/nginx.conf.template). A dead server is skipped (connection refused is retried on
the next one). The counsellors' page needs no pinning: logins are in the database and the live
console's events go through Redis, so any replica serves any counsellor.

Rasa runs with its in-memory lock store here: the gateways already hold each conversation's
turn across replicas (bot/turn_order.py), and Rasa's Redis lock is not safe across servers
(README, Running at scale). That also keeps Redis out of the path of every answer.
"""

import dataclasses
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.private_files import PRIVATE_UMASK, check_private, make_private
from core.settings import Settings, load_settings
from ops.launcher import telegram_status
from ops.processes import (
    ensure_running,
    gateway_up,
    raise_interrupt,
    rasa_model_loaded,
    serve_until_interrupted,
    start_action_server,
    start_gateway,
    start_nginx,
    start_rasa,
    stop_on_exit,
    with_auth_token,
)

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/radgivning"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
NGINX_TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclasses.dataclass
class Replica:
    number: int
    action: Settings  # its action server's port
    rasa: Settings  # its Rasa server's port; actions through the balancer
    gateway: Settings  # its gateway's port; Rasa through the balancer


@dataclasses.dataclass
class ClusterPlan:
    base: Settings
    port: int  # where users reach the cluster
    rasa_port: int  # internal balancer: gateways → Rasa servers
    action_port: int  # internal balancer: Rasa servers → action servers
    replicas: List[Replica]
    env: Dict[str, str]  # shared by every process: the stores and the gateways' Redis
    directory: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def plan_cluster(base: Settings, replicas: int, port: int, ports: Iterator[int], env: Dict[str, str]) -> ClusterPlan:
    rasa_port, action_port = next(ports), next(ports)
    directory = base.var_dir / "cluster"
    planned = []
    for number in range(1, replicas + 1):
        own_action, own_rasa, own_gateway = next(ports), next(ports), next(ports)
        planned.append(
            Replica(
                number=number,
                action=dataclasses.replace(base, action_port=own_action),
                rasa=dataclasses.replace(
                    base,
                    rasa_port=own_rasa,
                    action_port=action_port,
                    lock_store_url="",
                    tracker_store_url=env["TRACKER_STORE_URL"],
                ),
                gateway=dataclasses.replace(
                    base, gateway_port=own_gateway, rasa_port=rasa_port, tracker_store_url=env["TRACKER_STORE_URL"]
                ),
            )
        )
    return ClusterPlan(base, port, rasa_port, action_port, planned, env, directory)


def fill_template(template: str, values: Dict[str, str]) -> str:
    """The template with every {{name}} replaced by its value ({{…}} cannot clash with nginx's
    own $variables); a name without a value is an error, not an empty line."""
    missing = sorted(set(PLACEHOLDER.findall(template)) - values.keys())
    if missing:
        raise KeyError(f"no value for {', '.join(missing)} in the nginx template")
    return PLACEHOLDER.sub(lambda found: values[found.group(1)], template)


def nginx_config(plan: ClusterPlan) -> str:
    """nginx's configuration for the plan, from NGINX_TEMPLATE (ops/nginx.conf.template)."""

    def servers(ports: List[int]) -> str:
        return "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports)

    return fill_template(
        NGINX_TEMPLATE.read_text(encoding="utf-8"),
        {
            "user": "user root;" if os.geteuid() == 0 else "",
            "cluster_dir": str(plan.directory),
            "var_dir": str(plan.base.var_dir),
            "temp_dir": str(plan.directory / "nginx-tmp"),
            "gateway_servers": servers([r.gateway.gateway_port for r in plan.replicas]),
            "rasa_servers": servers([r.rasa.rasa_port for r in plan.replicas]),
            "action_servers": servers([r.action.action_port for r in plan.replicas]),
            "port": str(plan.port),
            "rasa_port": str(plan.rasa_port),
            "action_port": str(plan.action_port),
        },
    )


def ensure_database(url: str) -> None:
    """Creates the PostgreSQL database named in the URL if it is missing."""
    target = make_url(url)
    engine = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).scalar()
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


@dataclasses.dataclass
class RunningCluster:
    plan: ClusterPlan
    nginx: subprocess.Popen
    actions: List[subprocess.Popen]
    rasa: List[subprocess.Popen]
    gateways: List[subprocess.Popen]

    @property
    def processes(self) -> List[subprocess.Popen]:
        return [self.nginx] + self.actions + self.rasa + self.gateways


def gateway_env(plan: ClusterPlan, replica: Replica) -> Dict[str, str]:
    env = {
        **plan.env,
        "GATEWAY_NAME": f"gateway-{replica.number}",
        "TRUSTED_PROXIES": "127.0.0.1",
        "PUBLIC_URL": plan.env.get("PUBLIC_URL") or plan.url,
    }
    env["WEB_ALLOWED_ORIGINS"] = ",".join(filter(None, [plan.env.get("WEB_ALLOWED_ORIGINS", ""), env["PUBLIC_URL"]]))
    if replica.number > 1 and not plan.base.telegram_webhook_url:
        env["TELEGRAM_TOKEN"] = ""  # long polling in exactly one replica; webhooks go through nginx
    return env


# How each kind of process of a replica starts, by the RunningCluster list it goes in (in start order).
STARTERS: Dict[str, Callable[[ClusterPlan, Replica], subprocess.Popen]] = {
    "actions": lambda plan, r: start_action_server(r.action, f"actions-{r.number}.log", **plan.env),
    "rasa": lambda plan, r: start_rasa(r.rasa, f"rasa-{r.number}.log", **plan.env),
    "gateways": lambda plan, r: start_gateway(r.gateway, f"gateway-{r.number}.log", **gateway_env(plan, r)),
}


def start_cluster(plan: ClusterPlan) -> RunningCluster:
    (plan.base.var_dir / "logs").mkdir(parents=True, exist_ok=True)
    for part in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (plan.directory / "nginx-tmp" / part).mkdir(parents=True, exist_ok=True)
    config = plan.directory / "nginx.conf"
    config.write_text(nginx_config(plan))
    running = RunningCluster(plan, start_nginx(config, plan.base.var_dir / "logs" / "nginx.log"), [], [], [])
    for kind, start in STARTERS.items():  # action servers and Rasa first, gateways last
        getattr(running, kind).extend(start(plan, replica) for replica in plan.replicas)
    return running


def wait_for_cluster(running: RunningCluster, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    waiting: List[Callable[..., bool]] = [lambda r=r: rasa_model_loaded(r.rasa) for r in running.plan.replicas] + [
        lambda r=r: gateway_up(r.gateway) for r in running.plan.replicas
    ]
    while waiting:
        ensure_running(running.processes)
        waiting = [check for check in waiting if not check()]
        if time.monotonic() > deadline:
            raise TimeoutError(f"cluster not ready after {timeout:.0f} s; see {running.plan.base.var_dir}/logs/")
        time.sleep(1)


def restart_the_dead(running: RunningCluster) -> None:
    """Supervises the replicas: one that exits is started again while the others serve (that is
    what the replicas are for). nginx exiting ends the cluster."""
    ensure_running([running.nginx])
    plan = running.plan
    for kind, start in STARTERS.items():
        processes = getattr(running, kind)
        for index, (replica, process) in enumerate(zip(plan.replicas, processes)):
            if process.poll() is not None:
                print(
                    f"{kind} of replica {replica.number} exited with {process.returncode}; starting it again "
                    f"(see {plan.base.var_dir}/logs/)",
                    flush=True,
                )
                processes[index] = start(plan, replica)


def default_env(settings: Settings) -> Dict[str, str]:
    """PostgreSQL and Redis on this machine unless the settings (the environment) name others."""
    tracker = settings.tracker_store_url or DEFAULT_POSTGRES
    # The replicas share VAR_DIR, so they read the same pseudonym secret (var/sender_id_secret).
    return {
        "TRACKER_STORE_URL": tracker,
        "DATABASE_URL": settings.database_url or tracker,
        "GATEWAY_REDIS_URL": settings.gateway_redis_url or DEFAULT_REDIS,
        "LOCK_STORE_URL": "",
    }


def main() -> int:
    settings = with_auth_token(load_settings())
    os.umask(PRIVATE_UMASK)
    make_private(settings.var_dir)
    port, replicas = settings.cluster.port, settings.cluster.replicas
    env = default_env(settings)
    for url in {env["TRACKER_STORE_URL"], env["DATABASE_URL"]}:
        ensure_database(url)
    plan = plan_cluster(settings, replicas, port, itertools.count(settings.cluster.first_port), env)
    signal.signal(signal.SIGTERM, raise_interrupt)
    print(f"Starting nginx and {replicas} × (gateway, Rasa, action server) (about a minute) ...", flush=True)
    running: Optional[RunningCluster] = None
    try:
        running = start_cluster(plan)
        wait_for_cluster(running)
        check_private(settings.var_dir)
        print(
            f"Ready. Load balancer: {plan.url}/ (chat page), {plan.url}/api/v1/messages, {plan.url}/radgiver/",
            flush=True,
        )
        print(
            f"Stores: conversations and bookings in {make_url(env['TRACKER_STORE_URL']).render_as_string()}, "
            f"gateway state in {env['GATEWAY_REDIS_URL']}. Logs: {settings.var_dir}/logs/. Stop: Ctrl-C.",
            flush=True,
        )
        print(telegram_status(settings).replace("gateway.log", "gateway-1.log"), flush=True)
        return serve_until_interrupted(lambda: restart_the_dead(running))
    except KeyboardInterrupt:
        return 0
    finally:
        print("Stopping the cluster ...", flush=True)
        if running is not None:
            stop_on_exit(list(reversed(running.processes)))


if __name__ == "__main__":
    sys.exit(main())
