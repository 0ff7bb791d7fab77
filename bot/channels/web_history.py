"""A web visitor's conversation as the widget shows it, rebuilt from Rasa's tracker.

The tracker is the one store of the conversation, so the widget's history needs no copy of its
own, and deleting the conversation deletes the history too. A tapped button is stored by Rasa
as its payload; it is shown as the button's title, found on the bot message before it.
"""

from typing import List

from bot.replies import pack
from core.phone_numbers import without_handles


def messages_from_events(events: List[dict]) -> List[dict]:
    messages: List[dict] = []
    bot_run: List[dict] = []  # consecutive bot events, packed like live replies
    last_buttons: List[dict] = []

    def close_bot_run() -> None:
        for number, message in enumerate(pack(bot_run)):
            messages.append(
                {
                    "id": f"b{bot_run[0]['_index']}-{number}",
                    "from": "bot",
                    "text": message.text,
                    "buttons": message.buttons,
                    "ts": bot_run[0]["_ts"],
                }
            )
        bot_run.clear()

    for index, event in enumerate(events):
        if event.get("event") == "bot":
            data = event.get("data") or {}
            bot_run.append(
                {
                    "text": event.get("text"),
                    "buttons": data.get("buttons"),
                    "_index": index,
                    "_ts": event.get("timestamp"),
                }
            )
            last_buttons = data.get("buttons") or last_buttons
        elif event.get("event") == "user":
            close_bot_run()
            text = event.get("text") or ""
            if text.startswith("/"):
                text = next((b.get("title") for b in last_buttons if b.get("payload") == text), "")
            text = without_handles(text)  # the typed phone number was never given to Rasa
            if text:  # commands such as /restart are not shown
                messages.append({"id": f"u{index}", "from": "user", "text": text, "ts": event.get("timestamp")})
    close_bot_run()
    return messages
