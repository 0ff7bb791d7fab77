"""The gateway package: channels, privacy, handoff (the launcher and the process supervisor are in ops/)."""
