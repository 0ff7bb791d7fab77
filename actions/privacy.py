"""forget_me: for now the conversation is reset (full deletion from storage comes later).

The rule utters utter_forget_me first; this action then restarts the tracker, so nothing the
user wrote is used further, and the next message starts a new session.
"""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted
from rasa_sdk.executor import CollectingDispatcher


class ActionForgetMe(Action):
    def name(self) -> Text:
        return "action_forget_me"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        return [Restarted()]
