"""forget_me: the conversation is restarted here, and deleted from storage by the gateway.

The rule utters utter_forget_me first; this action then restarts the tracker and tells the
gateway (a custom payload in Rasa's reply) to delete the conversation and unlink the user's
bookings once Rasa has finished the turn: Rasa cannot delete its own tracker mid-turn.
"""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted
from rasa_sdk.executor import CollectingDispatcher

from core.protocol import DELETE_MARKER


class ActionForgetMe(Action):
    def name(self) -> Text:
        return "action_forget_me"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(json_message={DELETE_MARKER: True})
        return [Restarted()]
