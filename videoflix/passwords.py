"""Password hashing (argon2id via argon2-cffi) and the strength rules applied when a password is chosen."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8

#: the most used passwords of public breach lists that meet the length rule; a real deployment can swap in
#: a larger list, the rule only needs membership
COMMON_PASSWORDS = frozenset(
    [
        "password",
        "password1",
        "password12",
        "password123",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "qwerty123",
        "11111111",
        "00000000",
        "iloveyou",
        "abc12345",
        "abcd1234",
        "1q2w3e4r",
        "1qaz2wsx",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "superman",
        "starwars",
        "welcome1",
        "trustno1",
        "letmein1",
        "dragon123",
        "monkey123",
        "admin123",
        "changeme",
        "videoflix",
    ]
)


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Why `password` is too weak, as user-facing messages; an empty list means it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"This password is too short. It must contain at least {MIN_LENGTH} characters.")
    if password.isdigit():
        problems.append("This password is entirely numeric.")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("This password is too common.")
    local_part = (email or "").split("@")[0].lower()
    if len(local_part) >= 3 and local_part in password.lower():
        problems.append("This password is too similar to the email address.")
    return problems


class Hasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile). `dummy_verify` spends the same
    time as a real check, so a login for an unknown email is not measurably faster."""

    def __init__(self, hasher: PasswordHasher | None = None):
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash = self._hasher.hash("not a real password, only spends time")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def dummy_verify(self, password: str) -> None:
        self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
