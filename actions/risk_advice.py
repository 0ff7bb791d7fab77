"""The risk check's advice, computed from the rules in content/risk_rules.yml.

Nothing medical is written here: the time limits, window periods and which contact carries which
risk come from the rules file. This module only does the arithmetic with the user's own times:
hours left from the earliest moment the contact can have been, test dates from the latest.
Unknown answers count as the riskier one (unknown protection as none, unknown contact as any).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Dict, List, Optional

from actions.contact_time import ContactTime

RISKY_CONTACTS = ("vaginal", "anal", "oral")


@dataclass(frozen=True)
class Situation:
    when: ContactTime
    contact: str  # vaginal, anal, oral, hand, unknown
    protection: str  # intact, broke, none, unknown (not asked after hand contact)
    symptoms: str  # yes, no, unknown
    pregnancy: str = "unknown"  # yes, no, unknown

    @property
    def unprotected(self) -> bool:
        return self.protection != "intact"

    def involves(self, contacts: List[str]) -> bool:
        return self.contact in contacts or (self.contact == "unknown" and any(c in RISKY_CONTACTS for c in contacts))


@dataclass(frozen=True)
class Deadline:
    """A time limit: hours left counted from the earliest moment; None when the time is unknown."""

    name: str
    limit_hours: float
    hours_left: Optional[float]
    maybe_left: bool = False  # passed if it was at the earliest moment, not if at the latest

    @property
    def open(self) -> bool:
        return self.hours_left is None or self.hours_left > 0 or self.maybe_left


@dataclass(frozen=True)
class TestDate:
    test: str
    days: int
    ready: Optional[date]  # None when the time of the contact is unknown
    ready_now: bool


@dataclass
class Advice:
    pep: Optional[Deadline] = None
    pills: List[Deadline] = field(default_factory=list)
    copper_iud: Optional[Deadline] = None
    see_doctor_now: bool = False
    low_risk: bool = False
    condom_held: bool = False
    tests: List[TestDate] = field(default_factory=list)


def _deadline(name: str, limit_hours: float, when: ContactTime, now: datetime) -> Deadline:
    if when.unknown:
        return Deadline(name, limit_hours, None)
    left_from_earliest = limit_hours - (now - when.earliest).total_seconds() / 3600
    left_from_latest = limit_hours - (now - when.latest).total_seconds() / 3600
    return Deadline(
        name, limit_hours, max(left_from_earliest, 0.0), maybe_left=left_from_earliest <= 0 < left_from_latest
    )


def _applies(rule: Dict, situation: Situation) -> bool:
    return situation.involves(rule["contacts"]) and (situation.unprotected or not rule.get("unprotected_only"))


def advise(situation: Situation, now: datetime, rules: Dict) -> Advice:
    """`now` and the contact times are timezone-aware (Europe/Oslo); dates are Oslo dates."""
    advice = Advice(
        see_doctor_now=situation.symptoms == "yes" and rules["symptoms"]["see_doctor_now"],
        low_risk=situation.contact in rules["low_risk"]["contacts"],
        condom_held=situation.protection == "intact",
    )
    if _applies(rules["pep"], situation):
        advice.pep = _deadline("pep", rules["pep"]["hours"], situation.when, now)
    contraception = rules["emergency_contraception"]
    if _applies(contraception, situation) and situation.pregnancy != "no":
        advice.pills = [_deadline(pill["name"], pill["hours"], situation.when, now) for pill in contraception["pills"]]
        advice.copper_iud = _deadline("copper_iud", contraception["copper_iud_days"] * 24, situation.when, now)
    for rule in rules["tests"]:
        if _applies(rule, situation):
            advice.tests.append(_test_date(rule["id"], rule["days"], situation.when, now))
    return advice


def _test_date(test: str, days: int, when: ContactTime, now: datetime) -> TestDate:
    if when.unknown:
        return TestDate(test, days, None, False)
    ready = (when.latest + timedelta(days=days)).date()
    return TestDate(test, days, ready, now.date() >= ready)
