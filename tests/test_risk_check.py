"""The risk check's rules against the numbers of the facts brief, the reading of times and
answers, and the rendered advice (no servers needed)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from actions.contact_time import ContactTime, parse_contact_time
from actions.risk_advice import Situation, advise
from actions.risk_check import answer_in_text, render, window_for_button
from tests.conftest import ROOT

OSLO = ZoneInfo("Europe/Oslo")
RULES = yaml.safe_load((ROOT / "content" / "risk_rules.yml").read_text())
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=OSLO)  # Wednesday 2 December 2026, 10:00


def at(hours_ago: float) -> ContactTime:
    moment = NOW - timedelta(hours=hours_ago)
    return ContactTime(moment, moment)


def situation(when=None, contact="vaginal", protection="none", symptoms="no", pregnancy="no") -> Situation:
    return Situation(when or at(24), contact, protection, symptoms, pregnancy)


# --- the numbers of the brief -------------------------------------------------------------------


def test_the_rules_file_carries_the_briefs_numbers_and_a_source_for_each_rule():
    assert RULES["pep"]["hours"] == 72
    assert [pill["hours"] for pill in RULES["emergency_contraception"]["pills"]] == [72, 120]
    assert RULES["emergency_contraception"]["copper_iud_days"] == 5
    assert {t["id"]: t["days"] for t in RULES["tests"]} == {
        "chlamydia_gonorrhoea": 14,
        "hiv_syphilis": 84,
        "hepatitis": 182,
    }
    for rule in [RULES["pep"], RULES["emergency_contraception"], RULES["symptoms"], RULES["low_risk"], *RULES["tests"]]:
        assert rule["source"].startswith("[")


@pytest.mark.parametrize(
    "hours_ago, left, open_", [(1, 71, True), (48, 24, True), (71, 1, True), (72, 0, False), (73, 0, False)]
)
def test_pep_hours_left_at_the_edges(hours_ago, left, open_):
    pep = advise(situation(at(hours_ago), contact="anal"), NOW, RULES).pep
    assert round(pep.hours_left) == left and pep.open is open_


def test_pep_counts_from_the_earliest_moment_and_says_maybe_when_the_window_straddles_the_limit():
    window = ContactTime(NOW - timedelta(hours=74), NOW - timedelta(hours=70))
    pep = advise(situation(window), NOW, RULES).pep
    assert pep.hours_left == 0 and pep.maybe_left and pep.open


@pytest.mark.parametrize(
    "contact, protection, pep_expected",
    [
        ("vaginal", "none", True),
        ("anal", "broke", True),
        ("unknown", "unknown", True),
        ("vaginal", "intact", False),
        ("oral", "none", False),
        ("hand", "unknown", False),
    ],
)
def test_pep_only_after_unprotected_vaginal_or_anal_sex(contact, protection, pep_expected):
    assert (advise(situation(contact=contact, protection=protection), NOW, RULES).pep is not None) is pep_expected


@pytest.mark.parametrize("hours_ago, open_pills", [(10, 2), (71, 2), (73, 1), (119, 1), (121, 0)])
def test_emergency_contraception_72_and_120_hours(hours_ago, open_pills):
    advice = advise(situation(at(hours_ago), pregnancy="yes"), NOW, RULES)
    assert sum(pill.open for pill in advice.pills) == open_pills
    assert advice.copper_iud.open is (hours_ago < 120)


@pytest.mark.parametrize(
    "contact, protection, pregnancy, asked",
    [
        ("vaginal", "none", "yes", True),
        ("vaginal", "broke", "unknown", True),
        ("vaginal", "none", "no", False),
        ("vaginal", "intact", "yes", False),
        ("anal", "none", "yes", False),
        ("oral", "none", "yes", False),
    ],
)
def test_emergency_contraception_only_where_pregnancy_is_possible(contact, protection, pregnancy, asked):
    advice = advise(situation(contact=contact, protection=protection, pregnancy=pregnancy), NOW, RULES)
    assert bool(advice.pills) is asked


@pytest.mark.parametrize("days_ago, ready_now", [(13, False), (14, True), (15, True)])
def test_chlamydia_test_is_reliable_from_day_14(days_ago, ready_now):
    [chlamydia, *_] = advise(situation(at(days_ago * 24)), NOW, RULES).tests
    assert chlamydia.test == "chlamydia_gonorrhoea" and chlamydia.ready_now is ready_now
    assert chlamydia.ready == (NOW - timedelta(days=days_ago) + timedelta(days=14)).date()


@pytest.mark.parametrize("days_ago, ready_now", [(83, False), (84, True)])
def test_hiv_and_syphilis_are_final_at_12_weeks(days_ago, ready_now):
    tests = {t.test: t for t in advise(situation(at(days_ago * 24)), NOW, RULES).tests}
    assert tests["hiv_syphilis"].ready_now is ready_now


def test_test_dates_count_from_the_latest_moment():
    window = ContactTime(NOW - timedelta(days=20), NOW - timedelta(days=13))
    tests = {t.test: t for t in advise(situation(window), NOW, RULES).tests}
    assert tests["chlamydia_gonorrhoea"].ready.isoformat() == "2026-12-03"
    assert tests["hiv_syphilis"].ready.isoformat() == "2027-02-11"  # 19 November + 84 days
    assert tests["hepatitis"].ready.isoformat() == "2027-05-20"  # + 182 days


@pytest.mark.parametrize(
    "contact, protection, tests",
    [
        ("vaginal", "none", {"chlamydia_gonorrhoea", "hiv_syphilis", "hepatitis"}),
        ("anal", "intact", {"chlamydia_gonorrhoea", "hiv_syphilis"}),
        ("oral", "none", {"chlamydia_gonorrhoea", "hiv_syphilis"}),
        ("hand", "unknown", set()),
    ],
)
def test_which_tests_for_which_contact(contact, protection, tests):
    assert {t.test for t in advise(situation(contact=contact, protection=protection), NOW, RULES).tests} == tests


def test_symptoms_mean_see_a_doctor_now_and_hand_contact_is_low_risk():
    assert advise(situation(symptoms="yes"), NOW, RULES).see_doctor_now
    assert not advise(situation(symptoms="no"), NOW, RULES).see_doctor_now
    assert advise(situation(contact="hand"), NOW, RULES).low_risk


def test_unknown_time_gives_no_hours_and_no_dates_but_the_rules():
    advice = advise(situation(ContactTime(unknown=True), pregnancy="yes"), NOW, RULES)
    assert advice.pep.hours_left is None and advice.pep.open
    assert all(t.ready is None for t in advice.tests)


# --- reading the user's words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, earliest, latest",
    [
        ("kondomen sprakk i går kveld", "2026-12-01 18:00", "2026-12-01 23:59"),
        ("rundt 23 i går", "2026-12-01 22:00", "2026-12-01 23:59"),  # an hour either side of "rundt 23"
        ("ved 14-tiden i går", "2026-12-01 13:00", "2026-12-01 14:59"),
        ("lørdag", "2026-11-28 00:00", "2026-11-28 23:59"),
        ("på laurdag", "2026-11-28 00:00", "2026-11-28 23:59"),
        ("for 30 timer siden", "2026-12-01 04:00", "2026-12-01 04:00"),
        ("for tre dager siden", "2026-11-29 00:00", "2026-11-29 23:59"),
        ("i dag tidlig", "2026-12-02 00:00", "2026-12-02 10:00"),
        ("i natt", "2026-12-01 22:00", "2026-12-02 05:59"),
        ("i går kl 22", "2026-12-01 22:00", "2026-12-01 22:59"),
        ("12. november", "2026-11-12 00:00", "2026-11-12 23:59"),
        ("last night", "2026-12-01 22:00", "2026-12-02 05:59"),
        ("3 days ago", "2026-11-29 00:00", "2026-11-29 23:59"),
        ("i helga", "2026-11-27 18:00", "2026-11-29 23:59"),
    ],
)
def test_contact_times_from_free_text(text, earliest, latest):
    window = parse_contact_time(text, NOW)
    assert window.earliest.strftime("%Y-%m-%d %H:%M") == earliest
    assert window.latest.strftime("%Y-%m-%d %H:%M") == latest


def test_three_weeks_ago_is_a_window_around_that_day():
    window = parse_contact_time("for tre uker siden", NOW)
    assert window.earliest < NOW - timedelta(days=21) < window.latest


@pytest.mark.parametrize("text", ["i morgen", "neste uke", "25. desember"])
def test_a_day_to_come_is_noticed(text):
    assert parse_contact_time(text, NOW).future


@pytest.mark.parametrize("text", ["vet ikke", "husker ikke helt", "I don't know"])
def test_not_knowing_is_an_answer(text):
    assert parse_contact_time(text, NOW).unknown


def test_a_message_with_no_time_is_not_understood():
    assert not parse_contact_time("hei, jeg lurer på noe", NOW).understood


def test_when_buttons_cover_whole_days():
    yesterday = window_for_button("yesterday", NOW)
    assert yesterday.earliest.isoformat() == "2026-12-01T00:00:00+01:00"
    assert yesterday.latest.isoformat() == "2026-12-01T23:59:00+01:00"
    assert window_for_button("today", NOW).latest == NOW
    assert window_for_button("unknown", NOW).unknown


@pytest.mark.parametrize(
    "slot, text, asked, answer",
    [
        ("risk_contact", "munnsex", True, "oral"),
        ("risk_contact", "vi hadde vanlig sex", True, "vaginal"),
        ("risk_contact", "bare massasje og runk", True, "hand"),
        ("risk_contact", "vet ikke helt", True, "unknown"),
        ("risk_protection", "ja, men det sprakk", True, "broke"),
        ("risk_protection", "kondomen røk", False, "broke"),
        ("risk_protection", "nei", True, "none"),
        ("risk_protection", "nei", False, None),
        ("risk_protection", "ja", True, "intact"),
        ("risk_symptoms", "det svir når jeg tisser", True, "yes"),
        ("risk_symptoms", "nei, ingenting", True, "no"),
        ("risk_symptoms", "klokka var 22", False, None),
        ("risk_pregnancy", "kanskje", True, "yes"),
        ("risk_pregnancy", "nei", True, "no"),
    ],
)
def test_answers_written_in_words(slot, text, asked, answer):
    assert answer_in_text(slot, text, asked) == answer


# --- the advice as the user reads it ------------------------------------------------------------


def test_broken_condom_last_night_gives_hours_left_pills_and_dates():
    case = Situation(parse_contact_time("i går kveld", NOW), "vaginal", "broke", "no", "yes")
    text = render(advise(case, NOW, RULES), case, NOW, "nb")
    assert "Gjør dette nå" in text
    assert "PEP" in text and "omtrent 56 timer igjen" in text  # 72 h from yesterday 18:00
    assert "levonorgestrel" in text and "ulipristal" in text and "kobberspiral" in text
    assert "Klamydia og gonoré: fra tirsdag 15. desember" in text
    assert "Hiv og syfilis (endelig svar): fra tirsdag 23. februar 2027" in text
    assert text.index("PEP") < text.index("Klamydia")


def test_old_contact_with_symptoms_says_see_a_doctor_and_test_now():
    case = Situation(at(24 * 30), "oral", "none", "yes")
    text = render(advise(case, NOW, RULES), case, NOW, "nb")
    assert "gå til legen" in text and "PEP" not in text
    assert "Klamydia og gonoré: du kan teste deg nå" in text


def test_the_advice_in_english():
    case = Situation(at(10), "anal", "none", "no")
    text = render(advise(case, NOW, RULES), case, NOW, "en")
    assert "about 62 hours left" in text and "Chlamydia and gonorrhoea: from" in text


@pytest.mark.parametrize("language", ["nb", "en"])
def test_every_possible_result_comes_in_messages_that_fit_a_phone_screen(language):
    from itertools import product

    from actions.risk_check import MAX_MESSAGE_CHARS, render_messages

    longest = 0
    for hours, contact, protection, symptoms, pregnancy in product(
        [2, 30, 80, 24 * 10, 24 * 100],
        ["vaginal", "anal", "oral", "hand", "unknown"],
        ["none", "broke", "held", "unknown"],
        ["yes", "no", "unknown"],
        ["yes", "no", "unknown"],
    ):
        case = situation(at(hours), contact, protection, symptoms, pregnancy)
        messages = render_messages(advise(case, NOW, RULES), case, NOW, language)
        whole = render(advise(case, NOW, RULES), case, NOW, language)
        assert " ".join(" ".join(messages).split()) == " ".join(whole.split())  # all of it, in order
        longest = max(longest, *map(len, messages))
    assert longest <= MAX_MESSAGE_CHARS


def test_pep_advice_says_the_partners_risk_decides():
    case = situation(at(20), contact="anal")
    text = render(advise(case, NOW, RULES), case, NOW, "nb")
    assert "PEP" in text and "lav risiko" in text and "effektiv hivbehandling" in text
    english = render(advise(case, NOW, RULES), case, NOW, "en")
    assert "low-risk" in english and "effective HIV treatment" in english
    late = situation(at(100), contact="anal")
    assert "lav risiko" not in render(advise(late, NOW, RULES), late, NOW, "nb")  # no PEP, no PEP advice


def test_hand_contact_with_symptoms_says_see_a_doctor_once_and_no_dates_below():
    case = situation(contact="hand", symptoms="yes")
    for language, dates, if_you_get in (
        ("nb", "datoene under", "Får du plager"),
        ("en", "dates below", "If you get symptoms"),
    ):
        text = render(advise(case, NOW, RULES), case, NOW, language)
        assert dates not in text and if_you_get not in text, text


def test_with_us_is_said_only_by_a_service_that_takes_tests(monkeypatch, tmp_path):
    import shutil

    case = situation()
    assert "hos oss" in render(advise(case, NOW, RULES), case, NOW, "nb")  # the pilot's service.yml says so
    shutil.copytree(ROOT / "content", tmp_path / "content")
    service = tmp_path / "content" / "service.yml"
    service.write_text(
        service.read_text(encoding="utf-8").replace("service_takes_tests: true", "service_takes_tests: false")
    )
    monkeypatch.setenv("CONTENT_DIR", str(tmp_path / "content"))
    for language, words in (("nb", "hos oss"), ("en", "with us")):
        text = render(advise(case, NOW, RULES), case, NOW, language)
        assert words not in text and "Olafia" in text
