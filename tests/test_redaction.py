"""Masking of national ID numbers, e-mail addresses and phone numbers (property-based)."""

import string
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.no import fodselsnummer

from bot.redaction import MASKS, redact

FILLER = st.text(alphabet=string.ascii_letters + "æøåÆØÅ ,.!?", max_size=40)


@st.composite
def id_numbers(draw, d_number: bool = False) -> str:
    """A valid fødselsnummer (or D-nummer: day + 40) with both control digits."""
    born = draw(st.dates(min_value=date(1940, 1, 1), max_value=date(2039, 12, 31)))
    if born.year >= 2000:
        individual = draw(st.integers(500, 999))
    else:
        individual = draw(st.integers(0, 499))
    day = born.day + (40 if d_number else 0)
    base = f"{day:02d}{born.month:02d}{born.year % 100:02d}{individual:03d}"
    first = fodselsnummer.calc_check_digit1(base)
    second = fodselsnummer.calc_check_digit2(base + first)
    return base + first + second


def valid(number: str) -> bool:
    return fodselsnummer.is_valid(number)


@settings(max_examples=200)
@given(FILLER, id_numbers(), FILLER)
def test_a_valid_fodselsnummer_is_masked(before, number, after):
    if not valid(number):  # a control digit of 10 makes a number impossible; none such exist
        return
    result = redact(f"{before} {number} {after}")
    assert number not in result.text and MASKS["id_number"] in result.text
    assert "id_number" in result.found


@settings(max_examples=100)
@given(id_numbers(d_number=True))
def test_a_valid_d_nummer_is_masked(number):
    if valid(number):
        assert redact(f"d-nummeret mitt er {number}").text == f"d-nummeret mitt er {MASKS['id_number']}"


@settings(max_examples=100)
@given(id_numbers(), st.integers(1, 9))
def test_a_number_with_a_wrong_control_digit_is_left_alone(number, change):
    wrong = number[:-1] + str((int(number[-1]) + change) % 10)
    if not valid(wrong):
        assert redact(f"koden er {wrong}").text == f"koden er {wrong}"


@settings(max_examples=100)
@given(id_numbers())
def test_a_fodselsnummer_written_6_plus_5_is_masked(number):
    if valid(number):
        assert MASKS["id_number"] in redact(f"fnr {number[:6]} {number[6:]}").text


@settings(max_examples=100)
@given(st.from_regex(r"[a-z][a-z0-9._]{0,15}@[a-z]{2,12}\.(no|com|org)", fullmatch=True), FILLER)
def test_e_mail_addresses_are_masked(address, text):
    result = redact(f"{text} skriv til {address} takk")
    assert address not in result.text and "email" in result.found


@settings(max_examples=100)
@given(
    st.sampled_from(["40", "41", "45", "46", "47", "48", "90", "91", "92", "93", "94", "95", "97", "98", "99"]),
    st.integers(0, 999999),
    st.sampled_from(["{p}", "+47 {p}", "0047{p}", "{a} {b} {c}", "{a}{b} {c}"]),
)
def test_norwegian_mobile_numbers_are_masked_unless_asked_for(first, rest, layout):
    digits = f"{first}{rest:06d}"
    written = layout.format(p=digits, a=digits[:3], b=digits[3:5], c=digits[5:])
    assert MASKS["phone"] in redact(f"ring meg på {written}").text
    assert redact(f"ring meg på {written}", phone_expected=True).text == f"ring meg på {written}"


@given(st.text(alphabet=string.ascii_letters + "æøåÆØÅ ,.!?'-", max_size=200))
def test_text_without_numbers_or_at_signs_is_unchanged(text):
    assert redact(text).text == text


def test_an_id_number_written_like_a_date_is_masked():
    # 15108695088 has valid control digits (also used in test_widget)
    for written in ["15.10.86 950 88", "15.10.86 95088", "151086-95088", "15 10 86 950 88"]:
        result = redact(f"fnr {written} takk")
        assert MASKS["id_number"] in result.text and "950" not in result.text, written
    assert redact("15.10.86 950 89").text == "15.10.86 950 89"  # wrong control digit: a date and a number


def test_what_the_bot_needs_is_left_alone():
    for text in [
        "for 30 timer siden",
        "12.11",
        "i går kl 22:30",
        "referansen er ACD-479",
        "referansen er ACDE-479K",
        "PIN 4821",
        "jeg er 45 år",
        "113",
        "116 123",
    ]:
        assert redact(text).text == text
