"""The gateway package: channels, privacy, handoff, and the local launcher."""
