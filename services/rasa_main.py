"""`rasa run` as ops/processes.py starts it: the API token comes from the environment, not the
command line (where `ps` would show it to every user of the host), and log records carry no
conversation text (services/private_logs.py).

    python -m services.rasa_main run --model … (RASA_AUTH_TOKEN in the environment)
"""

import sys

from services.internal_secrets import required
from services.private_logs import keep_text_out_of_logs


def main() -> None:
    keep_text_out_of_logs()
    token = required("RASA_AUTH_TOKEN")
    # Rasa reads its options from sys.argv; this changes them in this process only, not in
    # /proc/<pid>/cmdline.
    sys.argv = ["rasa", *sys.argv[1:]] + (["--auth-token", token] if sys.argv[1:2] == ["run"] else [])
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
