"""No deployment signs tokens with a secret anyone else knows (sfa/auth/signing_key.py)."""

import stat

import pytest

from sfa.auth import signing_key
from sfa.config import KNOWN_DEV_JWT_SECRET, get_settings


@pytest.fixture
def no_secret(monkeypatch, tmp_path):
    monkeypatch.setattr(get_settings(), "jwt_secret", None)
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path / "state")
    signing_key.forget()
    yield tmp_path / "state" / "jwt_secret"
    signing_key.forget()


def test_without_a_secret_one_is_generated_kept_private_and_reused(no_secret):
    first = signing_key.jwt_secret()
    assert len(first) >= 48 and first != KNOWN_DEV_JWT_SECRET
    assert no_secret.read_text().strip() == first
    assert stat.S_IMODE(no_secret.stat().st_mode) == 0o600
    signing_key.forget()  # a restart, or another worker
    assert signing_key.jwt_secret() == first


def test_a_second_process_reads_the_first_ones_secret(no_secret):
    no_secret.parent.mkdir(parents=True)
    no_secret.write_text("s" * 40 + "\n")
    assert signing_key.jwt_secret() == "s" * 40


def test_the_published_value_is_refused_off_loopback(monkeypatch):
    monkeypatch.setattr(
        get_settings(), "jwt_secret", type(get_settings().jwt_secret)(KNOWN_DEV_JWT_SECRET)
    )
    assert signing_key.refuse_known_secret("0.0.0.0")
    assert signing_key.refuse_known_secret("192.0.2.10")
    assert signing_key.refuse_known_secret("127.0.0.1") is None
    assert signing_key.refuse_known_secret("localhost") is None
    assert signing_key.refuse_known_secret("::1") is None


def test_a_private_value_is_served_anywhere():
    assert signing_key.refuse_known_secret("0.0.0.0") is None
