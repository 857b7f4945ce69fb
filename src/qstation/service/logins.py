"""Password logins: throttled per account and address, with TOTP where the user enabled it.

The order matters: a locked key is refused before any password is checked (so a lock costs the
attacker, not the server, and the right password does not open it); a wrong password or MFA
code counts against both keys; the right one clears the account's key. Every attempt goes to
the audit log with its source address.
"""

from __future__ import annotations

from qstation.errors import AuthenticationFailed, BadRequest, MfaRequired, TooManyRequests
from qstation.model import User
from qstation.security import throttle, totp
from qstation.security.keys import ServiceKeys
from qstation.security.passwords import verify_password
from qstation.service.audit import FAILED, REFUSED, AuditLog
from qstation.service.clock import Clock, epoch_seconds, utc_now
from qstation.service.tokens import TokenPair, TokenService
from qstation.service.users import MFA_PURPOSE, normalise_email
from qstation.store import JobStore

_WRONG = "Invalid username or password"


class LoginService:
    def __init__(
        self,
        store: JobStore,
        keys: ServiceKeys,
        tokens: TokenService,
        audit: AuditLog,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.keys = keys
        self.tokens = tokens
        self.audit = audit
        self.clock = clock

    def login(self, email: str, password: str, code: str | None, source: str) -> TokenPair:
        """A token pair for the API's clients."""
        return self.tokens.issue(self.authenticate(email, password, code, source))

    def authenticate(self, email: str, password: str, code: str | None, source: str) -> User:
        """The user these credentials name, checked under the throttle (the portal's sign-in
        opens a session with it instead of issuing tokens)."""
        try:
            email = normalise_email(email)
        except BadRequest:
            raise AuthenticationFailed(_WRONG) from None
        keys = {
            throttle.account_key(email, source): throttle.ACCOUNT_FROM_ADDRESS,
            throttle.address_key(source): throttle.ADDRESS,
        }
        self._refuse_if_locked(email, source, list(keys))
        user = self.store.accounts.get_user_by_email(email)
        if not verify_password(None if user is None else user.password_hash, password):
            self._failed(email, source, keys, "wrong password")
            raise AuthenticationFailed(_WRONG)
        assert user is not None
        if user.mfa_secret is not None:
            self._check_code(user, code, source, keys)
        self.store.throttle.clear(throttle.account_key(email, source))
        self.audit.record("login", actor=email, source=source)
        return user

    def _check_code(
        self, user: User, code: str | None, source: str, keys: dict[str, throttle.ThrottleRule]
    ) -> None:
        if not code:
            raise MfaRequired()  # the client asks its user for the code and sends it again
        secret = self.keys.decrypt(user.mfa_secret or "", MFA_PURPOSE)
        now = epoch_seconds(self.clock())
        step = totp.matching_step(secret, str(code), now, user.mfa_last_step)
        if step is None or not self.store.accounts.use_mfa_step(user.id, step):
            self._failed(user.email, source, keys, "wrong MFA code")
            raise MfaRequired("Invalid MFA verification code")

    def _refuse_if_locked(self, email: str, source: str, keys: list[str]) -> None:
        now = self.clock()
        waits = [
            wait
            for state in self.store.throttle.states(keys).values()
            if (wait := throttle.locked_for(state, now)) is not None
        ]
        if waits:
            seconds = max(wait.total_seconds() for wait in waits)
            self.audit.record("login", REFUSED, actor=email, source=source, detail="throttled")
            raise TooManyRequests(
                f"too many failed logins; try again in {seconds:.0f} s", retry_after=seconds
            )

    def _failed(
        self, email: str, source: str, keys: dict[str, throttle.ThrottleRule], why: str
    ) -> None:
        now = self.clock()
        for key, rule in keys.items():
            self.store.throttle.record_failure(key, rule, now)
        self.audit.record("login", FAILED, actor=email, source=source, detail=why)
