"""Rasa's endpoints file, written from the settings at start-up, so that switching the tracker
store to PostgreSQL or the lock store to Redis is configuration only:

    TRACKER_STORE_URL=postgresql://user:password@host:5432/rasa    (default: SQLite in TRACKER_DB)
    LOCK_STORE_URL=redis://host:6379/1                             (default: in memory)
"""

import os
from pathlib import Path
from urllib.parse import urlparse

import yaml
from sqlalchemy.engine import make_url

from core.settings import Settings
from services.internal_secrets import ACTION_HEADER, ACTION_SECRET_ENV


def tracker_store(settings: Settings) -> dict:
    # Rasa's SQL store, retrying on lost connections, service details filled (services/tracker_store.py)
    store = "services.tracker_store.ResilientSQLTrackerStore"
    if not settings.tracker_store_url:
        return {"type": store, "dialect": "sqlite", "db": str(settings.tracker_db)}
    url = make_url(settings.tracker_store_url)
    config = {
        "type": store,
        "dialect": url.get_backend_name(),
        "url": url.host,
        "port": url.port,
        "db": url.database,
        "username": url.username,
        "password": url.password,
    }
    return {key: value for key, value in config.items() if value is not None}


def lock_store(settings: Settings) -> dict:
    if not settings.lock_store_url:
        return {"type": "in_memory"}
    url = urlparse(settings.lock_store_url)
    config = {
        "type": "redis",
        "url": url.hostname,
        "port": url.port or 6379,
        "db": int(url.path.strip("/") or 1),
        "password": url.password,
        "key_prefix": "radgivning",
    }
    return {key: value for key, value in config.items() if value is not None}


def write_endpoints(settings: Settings) -> Path:
    """Writes var/endpoints.yml (readable by its owner only: it may hold a database password)."""
    path = Path(settings.var_dir) / "endpoints.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    # The action server's secret stays in the environment; Rasa fills in ${…} when it reads the file.
    action_endpoint = {"url": settings.action_server_url, "headers": {ACTION_HEADER: "${" + ACTION_SECRET_ENV + "}"}}
    endpoints = {
        "action_endpoint": action_endpoint,
        "tracker_store": tracker_store(settings),
        "lock_store": lock_store(settings),
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        yaml.safe_dump(endpoints, file, sort_keys=False)
    return path
