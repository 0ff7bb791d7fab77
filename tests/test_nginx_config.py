"""nginx's configuration for make cluster, from the template beside the cluster code
(ops/nginx.conf.template)."""

import dataclasses
import itertools
from pathlib import Path

import pytest

from core.settings import Settings
from ops.cluster import NGINX_TEMPLATE, fill_template, nginx_config, plan_cluster


def a_plan(replicas: int):
    base = Settings(
        "127.0.0.1",
        5005,
        "127.0.0.1",
        5055,
        "127.0.0.1",
        8000,
        "t",
        Path("/v/tracker.db"),
        Path("/m.tar.gz"),
        Path("/srv/var"),
    )
    env = {
        "TRACKER_STORE_URL": "postgresql://p@h/db",
        "DATABASE_URL": "postgresql://p@h/db",
        "GATEWAY_REDIS_URL": "redis://",
        "LOCK_STORE_URL": "",
    }
    return plan_cluster(base, replicas, 8088, itertools.count(8100), env)


def test_every_placeholder_is_filled_and_nginx_keeps_its_own_variables():
    plan = a_plan(2)
    config = nginx_config(plan)
    assert "{{" not in config and "}}" not in config
    assert "map $http_upgrade $connection_upgrade { default upgrade; '' ''; }" in config
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in config
    assert f"listen 127.0.0.1:{plan.port};" in config and f"listen 127.0.0.1:{plan.rasa_port};" in config
    assert f"listen 127.0.0.1:{plan.action_port};" in config
    assert "pid /srv/var/cluster/nginx.pid;" in config and "scgi_temp_path /srv/var/cluster/nginx-tmp/scgi;" in config
    for replica in plan.replicas:
        for port, times in (
            (replica.gateway.gateway_port, 1),
            (replica.rasa.rasa_port, 1),
            (replica.action.action_port, 1),
        ):
            assert config.count(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;\n") == times
    # three server lists, each placeholder line becoming one line per replica
    assert config.count("\n") == NGINX_TEMPLATE.read_text(encoding="utf-8").count("\n") + 3 * (len(plan.replicas) - 1)
    assert "ip_hash" not in config  # no pinning: every replica serves every counsellor


def test_a_placeholder_without_a_value_is_an_error():
    with pytest.raises(KeyError):
        fill_template("listen {{port}};\n", {})
    assert fill_template("a {{b}} $c {{b}}\n", {"b": "{{d}}"}) == "a {{d}} $c {{d}}\n"


def test_the_plan_decides_the_servers():
    one, three = nginx_config(a_plan(1)), nginx_config(a_plan(3))
    assert one.count("max_fails=1") == 3 and three.count("max_fails=1") == 9
    assert nginx_config(dataclasses.replace(a_plan(1), port=9999)).count("listen 127.0.0.1:9999;") == 1
