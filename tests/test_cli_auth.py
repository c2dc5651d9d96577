"""`wallboard auth ...`: the credentials [auth] holds are made by the CLI, and what it prints is what the settings
and the sign-in accept."""

from __future__ import annotations

import tomllib

from argon2 import PasswordHasher
from click.testing import CliRunner

from tests.conftest import make_settings
from wallboard.cli import main
from wallboard.web.auth import Authenticator, token_hash


def test_token_prints_the_token_once_and_settings_that_accept_it() -> None:
    result = CliRunner().invoke(main, ["auth", "token", "lobby-tv", "--role", "display"])
    assert result.exit_code == 0, result.output
    token = result.stderr.strip().rsplit(" ", 1)[-1]
    assert token not in result.stdout  # only its hash goes into the settings
    table = tomllib.loads(result.stdout)["auth"]["tokens"]
    assert table == {"lobby-tv": {"role": "display", "sha256": token_hash(token)}}
    settings = make_settings(auth={"tokens": table})
    found = Authenticator(settings.auth).token(token)
    assert found is not None and found[0] == "lobby-tv" and found[1].role == "display"


def test_token_names_are_checked() -> None:
    result = CliRunner().invoke(main, ["auth", "token", "lobby tv"])
    assert result.exit_code != 0 and "token name" in result.output


def test_hash_password_makes_an_argon2id_hash_the_sign_in_accepts() -> None:
    result = CliRunner().invoke(main, ["auth", "hash-password", "--password-stdin"], input="a long enough secret\n")
    assert result.exit_code == 0, result.output
    hashed = result.stdout.strip()
    assert hashed.startswith("$argon2id$") and PasswordHasher().verify(hashed, "a long enough secret")
    auth = make_settings(auth={"users": {"wang": {"password_hash": hashed}}}).auth
    assert Authenticator(auth).verify_password("wang", "a long enough secret") is not None
    assert Authenticator(auth).verify_password("wang", "wrong") is None


def test_short_passwords_are_refused() -> None:
    result = CliRunner().invoke(main, ["auth", "hash-password", "--password-stdin"], input="short\n")
    assert result.exit_code != 0 and "12 characters" in result.output


def test_secret_is_long_enough_for_the_settings() -> None:
    result = CliRunner().invoke(main, ["auth", "secret"])
    secret = result.stdout.strip()
    assert make_settings(auth={"session_secret": secret}).auth.session_secret == secret
