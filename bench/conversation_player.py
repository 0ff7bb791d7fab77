"""Plays written conversations (tests/conversations/*.yml) through the running gateway, typed
as a user types them, and checks every reply against the conversation's machine checks.

The conversations were written from situation cards by writers who never read the dialogue
code (bench/blind/../CONVERSATIONS format: card, `now`, turns with `expect` and `checks`).
Checks look at what the user sees (the reply texts) and, where the user would notice only later,
at the truth behind it: Rasa's tracker (what the bot is asking for, which answer it gave) and the
bookings database. Used by tests/test_conversations.py and bench/conversation_benchmark.py.
"""

import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from components.language_guess import LanguageGuesser  # noqa: E402
from core.reference_codes import looks_like_code, normalise_code  # noqa: E402

CONVERSATIONS = ROOT / "tests" / "conversations"
OSLO = ZoneInfo("Europe/Oslo")
# "tuesday 19:40" is that weekday in a week with no public holiday near it.
BASE_MONDAY = datetime(2027, 1, 11, tzinfo=OSLO)
DEFAULT_NOW = "wednesday 10:00"
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

CRISIS_NUMBERS = {  # the numbers a crisis answer must begin with: any from the first group and the second
    "suicide": (("113",), ("116 123", "22 40 00 40", "116 117")),
    "assault": (("112", "113"), ("116 006", "116 117", "800 57 000")),
    "medical": (("113",), ("113", "116 117")),
    "exploitation": (("112", "02800"), ("22 33 11 60", "116 111", "02800")),
}
ASKS_FOR = {
    "channel": ("booking_channel",),
    "time": ("booking_slot",),
    "phone": ("booking_phone",),
    "confirmation": ("booking_confirmed", "manage_confirmed"),
    "reference": ("booking_reference",),
}
# What a user sees as "I didn't understand": the fallback's and the forms' re-ask texts.
NOT_UNDERSTOOD_TEXTS = [
    ("fallback.yml", "suggest_prompt"),
    ("fallback.yml", "rephrase"),
    ("fallback.yml", "human_offer"),
    ("booking_texts.yml", "wish_not_understood"),
    ("booking_texts.yml", "reask_channel"),
    ("booking_texts.yml", "reask_phone"),
    ("booking_texts.yml", "reask_confirm"),
    ("booking_texts.yml", "way_out"),
    ("risk_check.yml", "not_understood"),
]


def not_understood_openings() -> List[str]:
    openings = []
    for file, key in NOT_UNDERSTOOD_TEXTS:
        entry = yaml.safe_load((ROOT / "content" / file).read_text(encoding="utf-8")).get(key) or {}
        openings += [str(text).split("{")[0].strip()[:40].lower() for text in entry.values()]
    return [o for o in openings if o]


IDENTITY_QUESTION = re.compile(
    r"(hva heter du|what('s| is) your (full )?name|ditt (fulle )?navn\?|"
    r"(ditt|din) (fødsels|person)nummer\?|your (national )?id(entity)? number\?)",
    re.I,
)
HOURS = re.compile(
    r"(mandag|tirsdag|onsdag|torsdag|fredag|monday|tuesday|wednesday|thursday|friday|hverdag|weekday)"
    r".{0,80}?\d{1,2}([:.]\d{2})?",
    re.I | re.S,
)


def clock_for(now: Optional[str]) -> datetime:
    day, _, hour = (now or DEFAULT_NOW).lower().partition(" ")
    hours, _, minutes = (hour or "10:00").partition(":")
    return (BASE_MONDAY + timedelta(days=WEEKDAYS.index(day))).replace(hour=int(hours), minute=int(minutes or 0))


def load_conversations(folder: Path = CONVERSATIONS) -> List[Dict[str, Any]]:
    found = []
    for file in sorted(folder.glob("*.yml")):
        found.extend(yaml.safe_load(file.read_text(encoding="utf-8"))["conversations"])
    return found


# The writers' guide (bench/blind/CONVERSATIONS.md) names the channels office/phone/chat.
GUIDE_CHANNELS = {"office": "in_person"}


@dataclass
class TurnResult:
    user: str
    replies: List[str]
    failed: List[str] = field(default_factory=list)  # the checks that did not hold, described
    intent: str = ""
    actions: List[str] = field(default_factory=list)


@dataclass
class ConversationResult:
    id: str
    kinds: List[str]
    language: str
    turns: List[TurnResult]

    @property
    def checks(self) -> int:
        return self._checks

    _checks: int = 0

    @property
    def failures(self) -> List[str]:
        return [f"turn {i + 1} ({t.user[:40]!r}): {f}" for i, t in enumerate(self.turns) for f in t.failed]

    def transcript(self) -> List[str]:
        lines = []
        for i, turn in enumerate(self.turns):
            mark = "  ✗ " if turn.failed else "    "
            lines.append(f"{mark}{i + 1}. user: {turn.user}  [{turn.intent}; {', '.join(turn.actions)}]")
            lines.extend(f"         bot: {reply[:160]}" for reply in turn.replies)
            lines.extend(f"         FAILED {failure}" for failure in turn.failed)
        return lines


class Player:
    def __init__(
        self,
        gateway_url: str,
        rasa_url: str,
        rasa_token: str,
        sender_id_of,
        clock_file: Path,
        bookings,
        service_phone: str,
        markers_file: Path,
    ) -> None:
        self.gateway_url = gateway_url
        self.rasa_url = rasa_url
        self.rasa_token = rasa_token
        self.sender_id_of = sender_id_of  # web session id -> Rasa sender id
        self.clock_file = clock_file
        self.bookings = bookings  # core.booking_store.BookingStore on the stack's database
        self.service_phone = service_phone
        self.languages = LanguageGuesser(yaml.safe_load(markers_file.read_text(encoding="utf-8")))

    # --- talking ---------------------------------------------------------------------------------
    def send(self, session: str, text: str) -> List[str]:
        for attempt in range(3):
            response = requests.post(
                f"{self.gateway_url}/api/v1/messages", json={"session": session, "text": text}, timeout=60
            )
            if response.status_code != 429:
                break
            time.sleep(2 + attempt * 3)
        response.raise_for_status()
        return [m.get("text") or "" for m in response.json().get("messages", [])]

    def tracker(self, sender: str) -> Dict[str, Any]:
        response = requests.get(
            f"{self.rasa_url}/conversations/{sender}/tracker", params={"token": self.rasa_token}, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def play(self, conversation: Dict[str, Any], session: str) -> ConversationResult:
        self.clock_file.write_text(clock_for(conversation.get("now")).isoformat())
        sender = self.sender_id_of(session)
        result = ConversationResult(
            conversation["id"], list(conversation.get("kinds") or []), conversation.get("language", "nb"), []
        )
        for turn in conversation["turns"]:
            before = len(self.tracker(sender).get("events") or [])
            replies = self.send(session, str(turn["user"]))
            tracker = self.tracker(sender)
            new_events = (tracker.get("events") or [])[before:]
            user_event = next((e for e in new_events if e.get("event") == "user"), {})
            turn_result = TurnResult(
                str(turn["user"]),
                replies,
                intent=((user_event.get("parse_data") or {}).get("intent") or {}).get("name", ""),
                actions=[
                    e.get("name") for e in new_events if e.get("event") == "action" and e.get("name") != "action_listen"
                ],
            )
            checks = list(turn.get("checks") or [])
            for check in checks + [{"no_identity_question": True}]:
                problem = self.check(check, replies, tracker, (tracker.get("events") or [])[before:], sender)
                if problem:
                    turn_result.failed.append(problem)
            result._checks += len(checks) + 1
            result.turns.append(turn_result)
        return result

    # --- checks ------------------------------------------------------------------------------------
    def check(
        self, check: Dict[str, Any], replies: List[str], tracker: Dict[str, Any], events: List[Dict], sender: str
    ) -> Optional[str]:
        ((name, value),) = check.items()
        text = "\n".join(replies)
        lowered = text.lower()
        if name == "crisis":
            first = (replies[0] if replies else "").lower()
            group_a, group_b = CRISIS_NUMBERS[value]
            if any(n in first for n in group_a) and any(n in first for n in group_b):
                return None
            return f"crisis {value}: the first reply lacks its emergency numbers: {first[:80]!r}"
        if name == "topic":
            answered = [e.get("metadata", {}).get("utter_action") for e in events if e.get("event") == "bot"]
            return None if f"utter_{value}" in answered else f"topic {value}: answered {answered}"
        if name == "mentions_any":
            return None if any(str(w).lower() in lowered for w in value) else f"mentions none of {value}"
        if name == "mentions_none":
            found = [w for w in value if str(w).lower() in lowered]
            return f"mentions {found}" if found else None
        if name == "asks_for":
            asking = self.asking_for(tracker)
            return None if asking == value else f"asks for {asking}, not {value}"
        if name == "booked":
            return self.check_booked(text, value or {}, sender)
        if name == "not_booked":
            made = self.bookings_of(sender)
            return f"a booking exists: {made}" if made else None
        if name == "understood":
            openings = not_understood_openings()
            missed = [r for r in replies if any(r.strip().lower().startswith(o) for o in openings)]
            actions = {e.get("name") for e in events if e.get("event") == "action"}
            if "action_default_fallback" in actions:
                missed.append("action_default_fallback")
            return f"not understood: {missed[0][:60]!r}" if missed else None
        if name == "reply_language":
            guessed = self.languages.guess(text) or "nb"
            return None if guessed == value else f"reply in {guessed}, not {value}"
        if name == "no_form":
            loop = (tracker.get("active_loop") or {}).get("name")
            return f"still in {loop}" if loop else None
        if name == "deleted":
            users = [e for e in tracker.get("events") or [] if e.get("event") == "user"]
            return f"{len(users)} user messages still stored" if users else None
        if name == "service_phone":
            return None if self.service_phone in text else "no service phone number"
        if name == "hours":
            return None if HOURS.search(text) else "no opening days and hours"
        if name == "no_identity_question":
            asked = IDENTITY_QUESTION.search(text)
            return f"asks for identity: {asked.group(0)!r}" if asked else None
        return f"unknown check {name}"

    @staticmethod
    def asking_for(tracker: Dict[str, Any]) -> str:
        loop = (tracker.get("active_loop") or {}).get("name")
        requested = (tracker.get("slots") or {}).get("requested_slot")
        if not loop or not requested:
            return "nothing"
        for name, slots in ASKS_FOR.items():
            if requested in slots:
                return name
        return str(requested)

    def bookings_of(self, sender: str) -> List[str]:
        return [b.reference for b in self.bookings.bookings_of_sender(sender)]

    def check_booked(self, text: str, wanted: Dict[str, Any], sender: str) -> Optional[str]:
        codes = [normalise_code(t) for t in re.findall(r"[\w-]+", text) if looks_like_code(t)]
        made = {normalise_code(b.reference): b for b in self.bookings.bookings_of_sender(sender)}
        shown = [c for c in codes if c in made]
        if not shown:
            return f"no reference code of a booking shown (codes {codes}, bookings {list(made)})"
        booking = made[shown[0]]
        if wanted.get("channel") and booking.channel != GUIDE_CHANNELS.get(wanted["channel"], wanted["channel"]):
            return f"booked {booking.channel}, not {wanted['channel']}"
        return None
