"""The gateway's own texts (content/gateway.yml and each channel's file), filled in with the
service's details from content/service.yml."""

from typing import List

from core.content import buttons_in, load, service_details, text_in

# The privacy page in each language (content/), each linking to the other.
PRIVACY_PAGES = {"nb": "personvern.html", "en": "privacy.en.html"}


def language_from_code(code: object) -> str:
    """The answer language for a channel's language code ("en", "en-GB" → English; else Bokmål)."""
    return "en" if isinstance(code, str) and code.lower().startswith("en") else "nb"


def privacy_path(language: str) -> str:
    return "/privacy" if language == "en" else "/personvern"


def privacy_url(public_base: str, language: str) -> str:
    """The privacy page's full address in the language, for links in the channels' texts."""
    return f"{public_base}{privacy_path(language)}"


def text(file: str, name: str, language: str, /, **values: object) -> str:
    """The text `name` of a content file, with {service_phone} etc. and any `values` filled in
    (positional-only parameters: a placeholder may be called {name} too)."""
    return text_in(load(file)[name], language).format_map({**service_details(), **values})


def gateway_text(name: str, language: str) -> str:
    """A text every channel shares (content/gateway.yml)."""
    return text("gateway.yml", name, language)


def buttons(file: str, name: str, language: str) -> List[dict]:
    return buttons_in(load(file)[name], language)
