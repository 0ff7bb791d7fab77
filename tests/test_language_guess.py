from pathlib import Path

import pytest
import yaml

from components.language_guess import LanguageGuesser

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def guesser():
    return LanguageGuesser(yaml.safe_load((ROOT / "content" / "language_markers.yml").read_text()))


@pytest.mark.parametrize(
    "text, language",
    [
        ("where can i get tested for chlamydia", "en"),
        ("how long do I have to wait before an hiv test", "en"),
        ("hvor kan jeg teste meg", "nb"),
        ("kor lenge må eg venta før eg kan ta test", "nb"),
        ("ok", None),
        ("ja", None),
        ("hiv test", None),
    ],
)
def test_guess(guesser, text, language):
    assert guesser.guess(text) == language


@pytest.mark.parametrize(
    "text, language",
    [
        ("can you speak english", "en"),
        ("kan du svare på engelsk", "en"),
        ("snakk norsk", "nb"),
        ("kan du skrive nynorsk", "nn"),  # answered in Bokmål, and told so (actions/languages.py)
        ("kan du svare på polsk", "other"),
        ("hej, jeg er dansker, kan du forstå dansk?", "scand"),  # answered in Bokmål, and told so
        ("kan du skriva på svenska", "scand"),
    ],
)
def test_requested_language(guesser, text, language):
    assert guesser.requested(text) == language
