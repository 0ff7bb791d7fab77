"""Rasa's replies packed into the messages a person sees (bot/replies.py)."""

from bot.replies import MAX_MESSAGE_CHARS, pack


def test_short_paragraphs_are_one_message_and_buttons_close_it():
    messages = pack(
        [
            {"text": "Første."},
            {"text": "Andre.", "buttons": [{"title": "Ja", "payload": "/affirm"}]},
            {"text": "Tredje."},
        ]
    )
    assert [(m.text, len(m.buttons)) for m in messages] == [("Første.\n\nAndre.", 1), ("Tredje.", 0)]


def test_no_message_grows_past_one_screen_and_paragraphs_stay_whole_and_in_order():
    paragraphs = [("Avsnitt %d. " % number) + "x" * 250 for number in range(5)]
    messages = pack([{"text": paragraph} for paragraph in paragraphs])
    assert all(len(message.text) <= MAX_MESSAGE_CHARS for message in messages)
    assert "\n\n".join(message.text for message in messages) == "\n\n".join(paragraphs)
    assert len(messages) == 3
