"""Settings: environment over .ini, typed values, and production's refusal to run on a weak secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyramid.exceptions import ConfigurationError
from pyramid.paster import get_appsettings

from videoflix.application import main
from videoflix.config import (
    apply_environment,
    build_settings,
    load,
    merged,
    normalize_database_url,
    origin_of,
)

ROOT = Path(__file__).resolve().parents[2]


def test_environment_overrides_ini_and_empty_values_do_not():
    settings = {"sqlalchemy.url": "postgresql://ini/db", "mail.host": "ini-host"}
    env = {"DATABASE_URL": "postgresql://env/db", "EMAIL_HOST": "  ", "FRONTEND_URL": "https://app.example"}

    result = apply_environment(settings, env)

    assert result["sqlalchemy.url"] == "postgresql://env/db"
    assert result["mail.host"] == "ini-host"
    assert result["videoflix.frontend_url"] == "https://app.example"
    assert settings["sqlalchemy.url"] == "postgresql://ini/db"  # the input is not modified


def test_dotenv_beside_the_ini_is_read_but_real_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://dotenv/db\nEMAIL_HOST=dotenv-mail\n")
    monkeypatch.setenv("EMAIL_HOST", "real-mail")
    # set, then deleted: what the .env file puts into the environment is undone after the test (a DATABASE_URL
    # of "dotenv" left behind sent the tests run after it to that host)
    monkeypatch.setenv("DATABASE_URL", "unset")
    monkeypatch.delenv("DATABASE_URL")

    result = merged({}, here=str(tmp_path))

    assert result["sqlalchemy.url"] == "postgresql+psycopg2://dotenv/db"
    assert result["mail.host"] == "real-mail"


def test_missing_database_url_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        merged({}, here=str(tmp_path))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg2://u:p@h/db"),
        ("postgresql://u@/db?host=/tmp", "postgresql+psycopg2://u@/db?host=/tmp"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
    ],
)
def test_database_url_pins_psycopg2(url, expected):
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize("secret", [None, "", "change-me", "short-secret"])
def test_production_refuses_a_missing_or_weak_secret(secret):
    raw = {"videoflix.production": "true"}
    if secret is not None:
        raw["videoflix.secret_key"] = secret
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        build_settings(raw)


def test_production_accepts_a_real_secret_and_defaults_to_secure_cookies():
    settings = build_settings({"videoflix.production": "true", "videoflix.secret_key": "k" * 48})
    assert settings.cookie_secure is True


def test_development_without_secret_gets_a_random_one():
    a, b = build_settings({}), build_settings({})
    assert len(a.secret_key) >= 32 and a.secret_key != b.secret_key
    assert a.cookie_secure is False


def test_main_refuses_production_without_secret(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError):
        main({}, **{"sqlalchemy.url": "postgresql://x/y", "videoflix.production": "true"})


def test_cors_origins_default_to_the_frontend_origin():
    settings = build_settings({"videoflix.frontend_url": "HTTP://Front.Example:5500/app/"})
    assert settings.cors_allowed_origins == {"http://front.example:5500"}


def test_cors_origins_accept_commas_and_spaces():
    settings = build_settings({"videoflix.cors_allowed_origins": "http://a.example, https://b.example:8443"})
    assert settings.cors_allowed_origins == {"http://a.example", "https://b.example:8443"}


def test_origin_needs_an_absolute_url():
    with pytest.raises(ConfigurationError):
        origin_of("localhost:5500")


def test_derived_keys_differ_per_purpose_and_are_64_bytes():
    settings = build_settings({"videoflix.secret_key": "s" * 40})
    assert len(settings.derive_key("jwt")) == 64
    assert settings.derive_key("jwt") != settings.derive_key("other")


def test_frontend_link_encodes_query():
    settings = build_settings({"videoflix.frontend_url": "https://app.example/"})
    link = settings.frontend_link("/pages/auth/activate.html", uid="MQ", token="a+b/c")
    assert link == "https://app.example/pages/auth/activate.html?uid=MQ&token=a%2Bb%2Fc"


@pytest.mark.parametrize("ini", ["development.ini", "production.ini"])
def test_frontend_url_alone_allows_its_origin_in_every_ini(ini, monkeypatch, tmp_path):
    """As .env.template says: CORS_ALLOWED_ORIGINS defaults to FRONTEND_URL's origin (no .ini names a list of
    its own, which would win over it)."""
    monkeypatch.setenv("FRONTEND_URL", "https://watch.example.org/app/")
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    settings = get_appsettings(str(ROOT / ini))

    _, typed = load(settings, here=str(tmp_path))

    assert typed.cors_allowed_origins == {"https://watch.example.org"}


@pytest.mark.parametrize("password", ["videoflix", "postgres", "change-me", "Password"])
def test_production_refuses_a_default_database_password(password):
    raw = {"videoflix.production": "true", "videoflix.secret_key": "k" * 48,
           "sqlalchemy.url": f"postgresql+psycopg2://videoflix:{password}@postgres:5432/videoflix"}  # fmt: skip
    with pytest.raises(ConfigurationError, match="POSTGRES_PASSWORD"):
        build_settings(raw)
    build_settings({**raw, "videoflix.production": "false"})  # development may use one


def test_production_accepts_a_random_database_password_or_none_over_a_socket():
    for url in ("postgresql+psycopg2://videoflix:Xq3-random-7fK@postgres/videoflix",
                "postgresql+psycopg2://postgres:@/postgres?host=/run/postgresql"):  # fmt: skip
        build_settings({"videoflix.production": "true", "videoflix.secret_key": "k" * 48, "sqlalchemy.url": url})
