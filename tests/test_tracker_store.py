"""Rasa's tracker store as the service configures it (services/tracker_store.py), on SQLite: a
conversation's service_… slots start from content/service.yml, so an answer Rasa utters before
any action has run shows the service's details, never "None"."""

import asyncio

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet

from core.content import service_details
from services.tracker_store import ResilientSQLTrackerStore
from tests.conftest import ROOT


def test_a_greeting_before_any_action_shows_the_service_details(tmp_path):
    domain = Domain.load(str(ROOT / "domain.yml"))
    details = service_details()

    async def scenario():
        store = ResilientSQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
        rasa_side = FailSafeTrackerStore(store)
        rasa_side.domain = domain  # as Rasa does when it loads the model
        new = await rasa_side.create_tracker("never-saw-an-action")
        greeting = await TemplatedNaturalLanguageGenerator(domain.responses).generate("utter_greet", new, "rest")
        new.update(SlotSet("service_phone", "11 11 11 11"))  # the action server's own value wins
        await rasa_side.save(new)
        again = await rasa_side.retrieve("never-saw-an-action")
        return greeting, again

    greeting, again = asyncio.run(scenario())
    assert details["service_name"] in greeting["text"] and "None" not in greeting["text"]
    assert again.get_slot("service_phone") == "11 11 11 11"
    assert again.get_slot("service_opening_hours") == details["service_opening_hours"]
