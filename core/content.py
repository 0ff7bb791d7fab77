"""Reads the editable content files in content/ (service details, texts, titles).

Files are re-read when they change on disk, so editors' changes apply without a restart. The
folder is the settings' (CONTENT_DIR, core/settings.py), asked at every use.
"""

from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import yaml

from core.settings import content_dir

_cache: Dict[Path, Tuple[float, Any]] = {}


def load(name: str) -> Any:
    path = content_dir() / name
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        cached = (mtime, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        _cache[path] = cached
    return cached[1]


def language_of(tracker) -> str:
    """The conversation's language (slot `language`, set by the NLU's language guess)."""
    return tracker.get_slot("language") or "nb"


def latest_intent(tracker) -> Optional[str]:
    """The intent of the user's latest message (None before the first one)."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def text_in(entry: Dict[str, str], language: str) -> str:
    """The entry's text in the conversation's language, Bokmål when there is none."""
    return entry.get(language) or entry["nb"]


def buttons_in(entries, language: str) -> list:
    """Buttons from content entries ({payload, nb, en}) in the conversation's language."""
    return [{"title": text_in(entry, language), "payload": entry["payload"]} for entry in entries]


def service_details() -> Dict[str, str]:
    """The service's details (content/service.yml) and its hours, written from the booking
    schedule (content/booking.yml) in Bokmål and, as `…_en`, in English, so the hours the bot
    tells always agree with the times it books."""
    from core.availability import Schedule
    from core.dates import describe_week

    details = {key: str(value) for key, value in load("service.yml").items()}
    plan = Schedule.from_config(load("booking.yml"))
    for key, channel in (("service_opening_hours", "phone"), ("service_chat_hours", "chat")):
        details[key] = describe_week(plan.weekly_for(channel), "nb")
        details[f"{key}_en"] = describe_week(plan.weekly_for(channel), "en")
    return details
