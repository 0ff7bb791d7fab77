"""`rasa data validate` that fails on any warning.

`--fail-on-warnings` does not catch warnings raised while the data is loaded (for example a
story using an unknown intent), so this reads the output. One warning is Rasa's own and cannot
be avoided: with a retrieval intent, Rasa merges an extra domain holding `faq` into ours and then
reports `faq` as duplicated (leaving `faq` out of domain.yml gives "intent 'faq' not part of
the domain" instead). Only that exact message is tolerated, and "utterance not used in any story
or rule" for a response that a custom action sends by name.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KNOWN_RASA_WARNING = re.compile(
    r"[^\n]*UserWarning: The following duplicated intents have been found across multiple "
    r"domain files: faq\n\s*More info at https://rasa.com/docs/rasa/domain\n?"
)
WARNING = re.compile(r"UserWarning|WARNING|FutureWarning")
UNUSED_RESPONSE = re.compile(r"The utterance '(utter_[\w/]+)' is not used in any story or rule")


def responses_sent_by_actions() -> set:
    """Responses the custom actions send by name (dispatcher.utter_message(response="utter_…"))."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "actions").glob("*.py"))
    return set(re.findall(r'response="(utter_[\w/]+)"', sources))


def main() -> int:
    rasa = Path(sys.executable).parent / "rasa"
    command = [
        str(rasa),
        "data",
        "validate",
        "--fail-on-warnings",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        "data",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    output = KNOWN_RASA_WARNING.sub("", output)
    used_by_actions = responses_sent_by_actions()
    problems = [
        line
        for line in output.splitlines()
        if WARNING.search(line)
        and "Deprecat" not in line
        and not (UNUSED_RESPONSE.search(line) and UNUSED_RESPONSE.search(line).group(1) in used_by_actions)
    ]
    print(output[-4000:])
    if result.returncode != 0 or problems:
        print("Validation failed:", *problems, sep="\n  ")
        return 1
    print("rasa data validate: no warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
