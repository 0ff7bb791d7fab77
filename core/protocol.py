"""The contract between the gateway and the action server, in one place.

The action server speaks to the gateway through Rasa's replies (custom payloads) and hears from
it through the metadata of each user message.
"""

# Custom payloads of bot replies (dispatcher.utter_message(json_message=...)):
DELETE_MARKER = "delete_conversation"  # {DELETE_MARKER: True}: the user asked to delete; the gateway does it
EXPECTS_PHONE = {"expects": "phone"}  # the next message may hold the phone number for a booked call

# Metadata the gateway sends with every user message:
TURN = "turn"  # the same for every try of one message: a retried turn books once
CLIENT = "client"  # a pseudonym of the network address (web) or the chat (Telegram): booking limits
# {HANDOFF_MARKER: {"crisis": bool, "topics": [...]}}: the user asked for a person; the gateway
# puts the conversation in the counsellors' queue (or says when the chat is staffed) and drops
# the bot's replies after this one, so a form does not ask its question under the queue's text.
HANDOFF_MARKER = "handoff_request"

# The anonymous "Var samtalen til hjelp?" buttons after a live chat: the gateway counts the tap
# (bot/handoff.py) and never passes it to Rasa.
FEEDBACK_PAYLOADS = {"/chat_helpful_yes": "yes", "/chat_helpful_no": "no"}
