"""The settings live in core/settings.py (the one module that reads the environment); this name
stays for the modules that import them from here."""

from core.settings import PROJECT_ROOT, Settings, load_settings

__all__ = ["PROJECT_ROOT", "Settings", "load_settings"]
