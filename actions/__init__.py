"""The action server (rasa-sdk): one module per capability."""
