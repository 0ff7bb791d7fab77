"""The service's own rules, shared by the gateway and the action server. Imports neither Rasa,
rasa-sdk, aiohttp nor python-telegram-bot (tests/test_layout.py checks it)."""
