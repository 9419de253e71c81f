"""Password hashing (argon2id via argon2-cffi) and the strength rules applied when a password is chosen
(zxcvbn's estimate, the length, and not leaning on the email)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

MIN_LENGTH = 8
#: zxcvbn's score (0-4) a new password must reach: 3 is "safely unguessable: moderate protection from an offline
#: slow-hash attack" (about 10^8 guesses and more)
MIN_SCORE = 3
#: zxcvbn's running time grows with the length, so it refuses more than 72 characters; a longer password is
#: estimated on its first 72 (it is at least that strong)
ESTIMATED_LENGTH = 72
#: words of this site that a password should not lean on
SITE_WORDS = ("videoflix", "video", "flix", "netflix")


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Why `password` is too weak, as user-facing messages; an empty list means it is acceptable. The strength
    is zxcvbn's estimate (dictionaries of common passwords, names and words, keyboard patterns, dates, l33t
    spellings, repeats and sequences), given the email and the site's words as things an attacker knows."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"This password is too short. It must contain at least {MIN_LENGTH} characters.")
    if password.isdigit():
        problems.append("This password is entirely numeric.")
    if similar := email_problem(password, email):
        problems.append(similar)
    local_part = (email or "").split("@")[0].lower()
    known = [*SITE_WORDS, *([email, *re.split(r"[^a-z0-9]+", local_part)] if email else [])]
    estimate = zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=[word for word in known if word])
    if estimate["score"] < MIN_SCORE:
        feedback = estimate["feedback"]
        said = [feedback["warning"], *feedback["suggestions"]]
        problems.append(" ".join(["This password is too easy to guess.", *filter(None, said)]))
    return problems


def email_problem(password: str, email: str | None) -> str | None:
    """The rule a password chosen without its email in the same form (the reset link's) is checked by later."""
    local_part = (email or "").split("@")[0].lower()
    if len(local_part) >= 3 and local_part in password.lower():
        return "This password is too similar to the email address."
    return None


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
