"""The settings tree (core/settings.py): read from the environment when asked, never at import;
the action server's injected clock and limits; every retention period in one place."""

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from actions import clock, limits
from core.settings import (
    ActionServerSettings,
    BookingLimits,
    ClusterSettings,
    CounsellorPageSettings,
    Retention,
    Settings,
    content_dir,
    load_settings,
    phone_retention_days,
)


def test_sections_come_from_the_environment_when_the_settings_are_loaded(monkeypatch, tmp_path):
    monkeypatch.setenv("COUNSELLOR_USER", "vakt")
    monkeypatch.delenv("COUNSELLOR_PASSWORD_HASH", raising=False)  # the stack's, when it runs first
    monkeypatch.setenv("COOKIE_SECURE", "0")
    monkeypatch.setenv("COUNSELLOR_SESSION_SECONDS", "60")
    monkeypatch.setenv("BOOKINGS_PER_ADDRESS_PER_DAY", "100000")
    monkeypatch.setenv("MANAGE_TRIES_PER_CODE", "not a number")
    monkeypatch.setenv("ACTION_CLOCK_FILE", str(tmp_path / "clock"))
    monkeypatch.setenv("ACTIONS_FAIL_ON_PURPOSE", "1")
    monkeypatch.setenv("CLUSTER_REPLICAS", "3")
    monkeypatch.setenv("CONVERSATION_RETENTION_DAYS", "14")
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.counsellors == CounsellorPageSettings(user="vakt", secure_cookie=False, session_seconds=60)
    assert settings.action_server.limits == BookingLimits(per_client_per_day=100000)  # a bad number: the default
    assert settings.action_server.clock_file == tmp_path / "clock"
    assert settings.action_server.fail_on_purpose
    assert settings.cluster == ClusterSettings(replicas=3)
    assert settings.retention.conversation_days == settings.conversation_retention_days == 14
    assert settings.audit_retention_days == 365
    assert settings.bookings_url == f"sqlite:///{tmp_path / 'bookings.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/bookings")
    assert load_settings().bookings_url == "postgresql://db/bookings"


def test_a_settings_tree_built_in_code_reads_nothing_from_the_environment(monkeypatch):
    monkeypatch.setenv("COUNSELLOR_USER", "vakt")
    monkeypatch.setenv("ACTION_CLOCK_FILE", "/somewhere")
    settings = Settings(
        "127.0.0.1", 5005, "127.0.0.1", 5055, "127.0.0.1", 8000, "", Path("t.db"), Path("m"), Path("var")
    )
    assert settings.counsellors == CounsellorPageSettings()
    assert settings.action_server == ActionServerSettings()
    assert dataclasses.replace(settings, var_dir=Path("/x")).bookings_url == "sqlite:////x/bookings.db"


def test_the_content_folder_is_asked_at_every_use(monkeypatch, tmp_path):
    from core import content

    monkeypatch.delenv("CONTENT_DIR", raising=False)
    assert content_dir() == Path(__file__).resolve().parent.parent / "content"
    (tmp_path / "booking.yml").write_text("slot_minutes: 30\nphone_retention_days: 3\n", encoding="utf-8")
    monkeypatch.setenv("CONTENT_DIR", str(tmp_path))
    assert content.content_dir() == tmp_path
    assert content.load("booking.yml")["slot_minutes"] == 30
    assert phone_retention_days() == Retention().phone_days == 3


def test_every_retention_period_is_in_the_retention_section():
    from core.booking_store import PHONE_HANDLE_DAYS

    retention = Retention()
    assert (retention.conversation_days, retention.audit_days, retention.phone_handle_days) == (30, 365, 1)
    assert PHONE_HANDLE_DAYS == retention.phone_handle_days
    assert retention.phone_days == 7  # content/booking.yml


def test_the_clock_is_real_time_unless_a_file_is_given(tmp_path, monkeypatch):
    monkeypatch.setattr(clock, "_clock", clock.Clock())
    before = datetime.now(timezone.utc)
    assert before <= clock.now() <= datetime.now(timezone.utc)
    frozen = tmp_path / "clock"
    clock.use(clock.Clock(frozen))
    assert before <= clock.now() <= datetime.now(timezone.utc)  # no file yet: real time
    frozen.write_text("2027-01-12T19:40:00+01:00")
    assert clock.now() == datetime(2027, 1, 12, 18, 40, tzinfo=timezone.utc)
    frozen.write_text("2027-01-12T19:40:00")
    with pytest.raises(ValueError):
        clock.now()


def test_the_action_server_puts_its_clock_and_limits_in_place(tmp_path, monkeypatch):
    from services.action_server import set_up_actions

    for name in (
        "BOOKINGS_PER_SESSION",
        "BOOKINGS_PER_CLIENT_PER_DAY",
        "FAILED_TRIES_PER_CODE",
        "FAILED_TRIES_PER_CLIENT",
        "TRIES_WINDOW",
    ):
        monkeypatch.setattr(limits, name, getattr(limits, name))
    monkeypatch.setattr(clock, "_clock", clock.Clock())
    (tmp_path / "clock").write_text("2026-12-02T10:00:00+01:00")
    set_up_actions(
        ActionServerSettings(
            limits=BookingLimits(per_session=2, failed_tries_per_client=3), clock_file=tmp_path / "clock"
        )
    )
    assert (
        limits.BOOKINGS_PER_SESSION,
        limits.BOOKINGS_PER_CLIENT_PER_DAY,
        limits.FAILED_TRIES_PER_CODE,
        limits.FAILED_TRIES_PER_CLIENT,
        limits.TRIES_WINDOW,
    ) == (2, 6, 5, 3, timedelta(days=1))
    assert clock.now().isoformat() == "2026-12-02T10:00:00+01:00"
