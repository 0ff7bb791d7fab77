"""Password hashes for the counsellors' page (Argon2id, argon2-cffi's recommended parameters).

.venv/bin/python -m bot.passwords        # asks for a password, prints the hash for
                                         # COUNSELLOR_PASSWORD_HASH
"""

import getpass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, stored: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


if __name__ == "__main__":
    print(hash_password(getpass.getpass("Password: ")))
