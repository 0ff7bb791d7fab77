"""Runtime files readable by the service's user only: conversations (tracker.db), bookings, logs
and secrets hold special-category data. Every process the launchers start gets umask 077, and
the runtime directory is made private at start, files left by earlier versions included.
"""

import logging
import os
import stat
from pathlib import Path
from typing import List

PRIVATE_UMASK = 0o077
log = logging.getLogger(__name__)


def make_private(var_dir: Path) -> None:
    var_dir.mkdir(parents=True, exist_ok=True)
    for path in [var_dir, *var_dir.rglob("*")]:
        if path.is_symlink() or path.stat().st_uid != os.getuid():
            continue
        os.chmod(path, 0o700 if path.is_dir() else path.stat().st_mode & 0o700)


def readable_by_others(var_dir: Path) -> List[Path]:
    """Files or directories under var_dir that anyone but their owner may read or enter."""
    return [
        path
        for path in [var_dir, *var_dir.rglob("*")]
        if not path.is_symlink() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    ]


def check_private(var_dir: Path) -> None:
    """Says so loudly (make run / make cluster) if something under var_dir is not private."""
    exposed = readable_by_others(var_dir)
    if exposed:
        log.error("readable by other users: %s", ", ".join(str(p) for p in exposed[:10]))
        print(f"Warning: {len(exposed)} runtime file(s) readable by other users, e.g. {exposed[0]}", flush=True)
