"""The security building blocks as pure rules: TOTP, throttling, the password policy, keys."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from qstation.errors import BadRequest, ConfigurationError
from qstation.security import throttle, totp
from qstation.security.keys import ServiceKeys
from qstation.security.passwords import check_policy

# RFC 6238 appendix B: the SHA-1 secret "12345678901234567890", eight-digit codes
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924")]


@pytest.mark.parametrize(("unix", "eight_digits"), RFC_VECTORS)
def test_totp_codes_match_rfc_6238(unix: int, eight_digits: str) -> None:
    # six-digit codes are the last six digits of the eight-digit ones (the same truncation)
    assert totp.code_at(RFC_SECRET, totp.step_of(unix)) == eight_digits[-6:]


def test_a_code_is_accepted_one_step_either_side_and_never_twice() -> None:
    secret = totp.new_secret()
    now = 1_800_000_000.0
    step = totp.step_of(now)
    for drift in (-1, 0, 1):
        code = totp.code_at(secret, step + drift)
        assert totp.matching_step(secret, code, now, None) == step + drift
    assert totp.matching_step(secret, totp.code_at(secret, step + 2), now, None) is None
    used = totp.matching_step(secret, totp.code_at(secret, step), now, None)
    assert totp.matching_step(secret, totp.code_at(secret, step), now, used) is None
    assert totp.matching_step(secret, "12345", now, None) is None
    assert totp.matching_step(secret, "abcdef", now, None) is None


def test_the_provisioning_uri_names_the_account_and_the_parameters() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "ada@example.org")
    assert uri.startswith("otpauth://totp/qstation%3Aada%40example.org?")
    assert "secret=JBSWY3DPEHPK3PXP" in uri and "digits=6" in uri and "period=30" in uri


T0 = datetime(2026, 11, 29, 12, 0)


def test_the_tenth_failure_in_a_window_locks_the_key_and_locks_double_up_to_a_bound() -> None:
    rule = throttle.ACCOUNT_FROM_ADDRESS
    state = None
    for i in range(rule.limit - 1):
        state = throttle.after_failure(state, rule, T0 + timedelta(seconds=i))
        assert throttle.locked_for(state, T0 + timedelta(seconds=i)) is None
    state = throttle.after_failure(state, rule, T0 + timedelta(seconds=9))
    assert throttle.locked_for(state, T0 + timedelta(seconds=9)) == rule.lock
    locks = []
    for _ in range(8):
        now = state.locked_until or T0  # the attacker tries again as soon as each lock ends
        for i in range(rule.limit):
            state = throttle.after_failure(state, rule, now + timedelta(milliseconds=i))
        locks.append(throttle.locked_for(state, now + timedelta(milliseconds=rule.limit - 1)))
    assert locks[0] == 2 * rule.lock
    assert max(lock for lock in locks if lock) <= rule.max_lock
    assert locks[-1] == rule.max_lock


def test_failures_spread_over_windows_never_lock() -> None:
    rule = throttle.ACCOUNT_FROM_ADDRESS
    state = None
    for i in range(100):
        now = T0 + i * rule.window / (rule.limit - 1)
        state = throttle.after_failure(state, rule, now)
        assert throttle.locked_for(state, now) is None


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short", "at least 12"),
        ("x" * 257, "at most 256"),
        ("Password1234", "too common"),
        ("correct horse battery staple", "too common"),
        ("abababababababab", "too simple"),
        ("1234567890123456", "too common"),
        ("ada.lovelace-1815", "account's name"),
    ],
)
def test_the_password_policy_refuses(password: str, why: str) -> None:
    with pytest.raises(BadRequest, match=why):
        check_policy(password, "ada.lovelace@example.org")


def test_the_password_policy_accepts_a_passphrase_of_any_characters() -> None:
    for good in ("a sturdy test passphrase", "Ünïcödé pässwörd ok", "x7#Lq!9vR2@mZ"):
        check_policy(good, "ada@example.org")


def test_derived_keys_are_independent_and_sealed_secrets_need_the_same_key_file(
    tmp_path: Path,
) -> None:
    keys = ServiceKeys.load_or_create(tmp_path / "secret.key")
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    again = ServiceKeys.load_or_create(tmp_path / "secret.key")
    assert again.fingerprint() == keys.fingerprint()
    assert keys.signing_key(1) != keys.signing_key(2) != keys.derive("mfa secret")
    sealed = keys.encrypt("JBSWY3DPEHPK3PXP", "mfa secret")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert again.decrypt(sealed, "mfa secret") == "JBSWY3DPEHPK3PXP"
    other = ServiceKeys(secrets.token_bytes(32))
    with pytest.raises(ConfigurationError, match="another key file"):
        other.decrypt(sealed, "mfa secret")


def test_a_key_file_others_can_read_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o644)
    ServiceKeys.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
