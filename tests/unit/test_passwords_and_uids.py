from __future__ import annotations

import pytest

from videoflix.passwords import Hasher, password_problems
from videoflix.services.accounts import decode_uid, encode_uid, token_digest


@pytest.fixture(scope="module")
def hasher():
    return Hasher()


def test_good_password_has_no_problems():
    assert password_problems("Corr3ct-horse-battery", email="me@example.com") == []


@pytest.mark.parametrize(
    ("password", "email", "fragment"),
    [
        ("short1", None, "too short"),
        ("1234567890", None, "entirely numeric"),
        ("Password123", None, "too easy to guess. This is a very common password."),
        ("alice-in-wonderland", "alice@example.com", "similar to the email"),
        ("qwertyuiop123", None, "too easy to guess"),
        ("zxcvbnm,./", None, "Straight rows of keys are easy to guess."),
        ("Jennifer1985", None, "Common names and surnames are easy to guess."),
        ("Summer2024!", None, "too easy to guess"),
        ("videoflix2026", None, "too easy to guess"),  # the site's own name
        ("mcgregor.talbot9", "mcgregor.talbot@example.com", "similar to the email"),
    ],
)
def test_weak_passwords(password, email, fragment):
    assert any(fragment in p for p in password_problems(password, email=email))


def test_a_long_password_is_estimated_on_its_first_72_characters():
    """zxcvbn refuses longer input (its time grows with the length); the schema allows up to 128."""
    assert password_problems("Corr3ct-horse-battery-" + "x" * 100) == []


def test_hash_is_argon2id_and_verifies(hasher):
    stored = hasher.hash("Corr3ct-horse")
    assert stored.startswith("$argon2id$")
    assert hasher.verify(stored, "Corr3ct-horse")
    assert not hasher.verify(stored, "corr3ct-horse")
    assert not hasher.verify("not a hash", "Corr3ct-horse")
    assert hasher.hash("Corr3ct-horse") != stored  # salted


@pytest.mark.parametrize("user_id", [1, 42, 10**12])
def test_uid_round_trip(user_id):
    assert decode_uid(encode_uid(user_id)) == user_id


def test_uid_matches_the_django_form():
    assert encode_uid(1) == "MQ" and encode_uid(42) == "NDI"


@pytest.mark.parametrize("garbage", ["", "!!", "YWJj", "LTE", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA", "\u00e9"])
def test_uid_garbage_is_none(garbage):
    assert decode_uid(garbage) is None


def test_token_digest_is_sha256_hex():
    assert len(token_digest("x")) == 64 and token_digest("x") != token_digest("y")
