"""The booked call's phone number: read, masked, and kept out of Rasa under a handle."""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from core.booking_store import BookingStore, phone_handles
from core.phone_numbers import find_phone, handle_in, handle_text, masked_phone, with_handle, without_handles


def test_the_number_is_found_beside_a_time_and_swapped_for_a_handle():
    text = "torsdag kl 14, 912 34 567 takk"
    number, start, end = find_phone(text)
    assert number == "+47 91 23 45 67"
    swapped = with_handle(text, start, end, "abcdefghijkl")
    assert swapped == "torsdag kl 14, [telefon abcdefghijkl] takk"
    assert handle_in(swapped) == "abcdefghijkl" and not any(ch.isdigit() for ch in swapped.replace("14", ""))
    assert without_handles(swapped) == "torsdag kl 14, [telefonnummer] takk"
    assert find_phone("1234") is None and find_phone("+46 70 123 45 67") is None


def test_masked_numbers_show_the_last_four_digits_only():
    assert masked_phone("+47 91 23 45 67") == "+47 •• •• 45 67"
    assert masked_phone(None) == "•• •• •• ••"


def test_a_kept_number_is_for_its_own_conversation_and_goes_after_a_day_or_on_deletion(tmp_path):
    store = BookingStore(f"sqlite:///{tmp_path / 'b.db'}")
    store.migrate()
    handle = store.keep_phone("web-me", "+47 91 23 45 67")
    assert handle_in(handle_text(handle)) == handle
    assert store.phone_for(handle, "web-me") == "+47 91 23 45 67"
    assert store.phone_for(handle, "web-someone-else") is None
    old = store.keep_phone("web-me", "+47 41 23 45 67")
    with store.engine.begin() as connection:
        connection.execute(
            phone_handles.update()
            .where(phone_handles.c.handle == old)
            .values(created_at=datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=2))
        )
    assert store.phone_for(old, "web-me") is None
    store.erase_expired_phones(datetime.now(timezone.utc), 7)
    with store.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(phone_handles)).scalar() == 1
    store.detach_sender("web-me", datetime.now(timezone.utc))
    assert store.phone_for(handle, "web-me") is None
