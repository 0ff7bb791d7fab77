"""The gateway's channels: each turns its platform's messages into Rasa REST calls and back."""
