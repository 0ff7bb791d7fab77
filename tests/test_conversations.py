"""Conversations written from situation cards by writers who never read the dialogue code
(tests/conversations/), played through the real stack over the gateway's HTTP channel, typed.

Each conversation is a test; the ones that still fail somewhere are listed in STILL_FAILING
(with what fails, see bench/conversation_benchmark.py --transcripts) and expected to fail, so
that every conversation that passes stays passing, and one that starts passing is reported.
"""

import sys  # noqa: E402  (the player lives beside the benchmark that prints its numbers)
import uuid

import pytest

from tests.conftest import RISK_CHECK_NOW, ROOT

sys.path.insert(0, str(ROOT / "bench"))
from conversation_player import Player, load_conversations  # noqa: E402

CONVERSATIONS = load_conversations()
KINDS = sorted({kind for c in CONVERSATIONS for kind in c["kinds"]})
# Conversations with at least one check that still fails (README: "Conversation benchmark").
STILL_FAILING = {
    "CA-01",
    "CA-05",
    "CA-07",
    "CA-09",
    "CA-13",
    "CA-17",
    "CA-22",
    "CA-25",
    "CB-02",
    "CB-03",
    "CB-04",
    "CB-05",
    "CB-06",
    "CB-09",
    "CB-11",
    "CB-13",
    "CB-18",
}


@pytest.fixture(scope="module")
def player(stack):
    import yaml

    from bot.pseudonyms import Pseudonyms
    from core.booking_store import BookingStore

    pseudonyms = Pseudonyms(stack.sender_secret())
    service = yaml.safe_load((ROOT / "content" / "service.yml").read_text(encoding="utf-8"))
    yield Player(
        stack.settings.gateway_url,
        stack.settings.rasa_url,
        stack.settings.rasa_auth_token,
        lambda session: pseudonyms.sender_id("web", session),
        stack.clock_file,
        BookingStore(f"sqlite:///{stack.settings.var_dir / 'bookings.db'}"),
        str(service["service_phone"]),
        ROOT / "content" / "language_markers.yml",
    )
    stack.clock_file.write_text(RISK_CHECK_NOW)  # the other tests' clock


def test_every_kind_is_covered_by_several_conversations():
    for kind in KINDS:
        assert sum(kind in c["kinds"] for c in CONVERSATIONS) >= 3, kind
    assert len(CONVERSATIONS) >= 40
    assert {c["language"] for c in CONVERSATIONS} >= {"nb", "nn", "en"}


@pytest.mark.parametrize(
    "conversation",
    [
        pytest.param(
            c,
            id=c["id"],
            marks=[pytest.mark.xfail(reason="still failing, see README", strict=False)]
            if c["id"] in STILL_FAILING
            else [],
        )
        for c in CONVERSATIONS
    ],
)
def test_conversation(player, conversation):
    result = player.play(conversation, uuid.uuid4().hex)
    assert not result.failures, "\n".join(result.transcript())
