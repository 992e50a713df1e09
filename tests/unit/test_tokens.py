import time

import pytest

from sfa.auth import signing_key, tokens
from sfa.auth.passwords import hash_password, verify_password
from sfa.config import get_settings
from sfa.errors import Unauthenticated


def test_roundtrip_and_kind_is_enforced():
    token = tokens.issue(42, "access")
    assert tokens.decode(token, "access") == 42
    with pytest.raises(Unauthenticated, match="refresh token is required"):
        tokens.decode(token, "refresh")


def test_tampered_token_is_refused():
    token = tokens.issue(42, "access")
    head, payload, sig = token.split(".")
    with pytest.raises(Unauthenticated):
        tokens.decode(f"{head}.{payload}.{sig[:-2]}xx", "access")


def test_expired_token_says_so(monkeypatch):
    monkeypatch.setattr(get_settings(), "access_token_minutes", -1)
    token = tokens.issue(1, "access")
    time.sleep(0.01)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.decode(token, "access")


def test_passwords_hash_and_verify():
    h = hash_password("s3cret-pass")
    assert h.startswith("$argon2")
    assert verify_password("s3cret-pass", h)
    assert not verify_password("wrong", h)
    assert not verify_password("anything", None)


def test_production_refuses_the_published_development_secret(monkeypatch):
    from sfa.config import KNOWN_DEV_JWT_SECRET, Settings

    monkeypatch.setenv("SFA_ENV", "production")
    monkeypatch.setenv("SFA_JWT_SECRET", KNOWN_DEV_JWT_SECRET)
    with pytest.raises(ValueError, match="SFA_JWT_SECRET"):
        Settings(_env_file=None)
    # No secret at all is fine: one is generated and kept (tests/unit/test_signing_key.py).
    monkeypatch.delenv("SFA_JWT_SECRET")
    assert Settings(_env_file=None).jwt_secret is None
    monkeypatch.setenv("SFA_JWT_SECRET", "a-real-secret-from-the-vault-0123456789")
    assert Settings(_env_file=None).env == "production"


def test_a_token_checked_once_still_expires(monkeypatch):
    monkeypatch.setattr(get_settings(), "access_token_minutes", 1 / 60)  # one second
    token = tokens.issue(7, "access")
    assert tokens.decode(token, "access") == 7  # verified (and remembered) while valid
    time.sleep(1.1)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.decode(token, "access")


def test_a_token_is_checked_against_the_current_secret(monkeypatch):
    token = tokens.issue(7, "access")
    assert tokens.decode(token, "access") == 7
    monkeypatch.setattr(
        get_settings(),
        "jwt_secret",
        type(get_settings().jwt_secret)("another-secret-0123456789abcdef-0123456789"),
    )
    signing_key.forget()
    try:
        with pytest.raises(Unauthenticated, match="not valid"):
            tokens.decode(token, "access")
    finally:
        monkeypatch.undo()
        signing_key.forget()
