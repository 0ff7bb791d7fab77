"""An honest, kind answer when someone asks for another language (content/languages.yml).

English and Bokmål switch the answers (slot `language`). Nynorsk is understood but answered in
Bokmål, and the user is told so; so are Swedish and Danish, which their writers read. Any other
language: the bot says it can answer in Norwegian or English only, and goes on in English, which
more people read than Norwegian.
"""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from core.content import language_of, load, text_in

SWITCH_TO = {"en": "en", "nb": "nb", "nn": "nb", "scand": "nb", "other": "en"}


class ActionLanguageChanged(Action):
    def name(self) -> Text:
        return "action_language_changed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        requested = (tracker.latest_message or {}).get("language_requested")
        if requested not in SWITCH_TO:
            dispatcher.utter_message(response="utter_language_changed")
            return []
        language = SWITCH_TO[requested]
        entry = load("languages.yml")["changed"][requested]
        dispatcher.utter_message(text=text_in(entry, language))
        return [SlotSet("language", language)] if language != language_of(tracker) else []
