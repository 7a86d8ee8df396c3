"""Users and authentication: the default admin, user management, sign-in with throttling,
token issue and token checks.

Tokens are JWTs naming a server-side record; the record, not the JWT, decides expiry and the use
budget (10 hours or 1,000 uses by default), so a copied token cannot outlive its budget. A user's
permissions are read from the store on every check, so a change (or a deletion, which also
deletes the user's tokens) takes effect on the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import jwt

from tmr.accounts.interfaces import AccountRepository
from tmr.accounts.models import IssuedToken, Permission, Principal, User
from tmr.accounts.passwords import hash_password, verify_nobody, verify_password
from tmr.accounts.permissions import require_admin, require_self_or_admin
from tmr.accounts.policy import check_password, check_user_name
from tmr.accounts.throttle import ThrottlePolicy, address_key, seconds_until, user_key
from tmr.errors import BadCredentials, Conflict, InvalidInput, NotFound, TooManyAttempts, Unauthenticated

BEARER = "bearer "
_ALGORITHM = "HS256"


def _without_bearer(value: str) -> str:
    """A token as sent in X-Authorization or kept in a cookie, with or without `bearer `."""
    raw = value.strip()
    if raw[: len(BEARER)].lower() == BEARER:
        raw = raw[len(BEARER) :].strip()
    return raw


class AccountService:
    def __init__(
        self,
        repo: AccountRepository,
        *,
        admin_name: str,
        admin_passwords: tuple[str, ...],
        token_ttl_s: int,
        token_max_uses: int,
        jwt_secret: str | None = None,
        static_admin_token: str | None = None,
        password_min_length: int = 12,
        throttle: ThrottlePolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = repo
        self._min_length = password_min_length
        self._throttle = throttle or ThrottlePolicy()
        self._now = clock
        self.admin_name = admin_name
        self._admin_passwords = admin_passwords
        self._ttl = timedelta(seconds=token_ttl_s)
        self._max_uses = token_max_uses
        self._static = static_admin_token
        self._secret = jwt_secret or repo.state("jwt_secret", secrets.token_urlsafe(48))

    def ensure_default_admin(self) -> None:
        """Create the default admin if absent; keep its hash when the password still matches so a
        restart does not pay for rehashing."""
        existing = self._repo.get_user(self.admin_name)
        primary = self._admin_passwords[0]
        if existing and existing.is_admin and verify_password(existing.password_hash, primary):
            return
        self._repo.put_user(User(self.admin_name, True, hash_password(primary)))

    def reset(self) -> None:
        """Back to the system default: only the default admin remains (its live tokens stay valid,
        since the client that asked for the reset goes on with the same token)."""
        self._repo.delete_users_except([self.admin_name])
        self.ensure_default_admin()

    def authenticate(self, name: str, password: str, client: str | None = None) -> str:
        """A token for a right name and password. Failures are counted per name and per client
        address; while a wait runs the attempt is refused (429) before any hashing."""
        keys = [(user_key(name), self._throttle.free_per_user)]
        if client:
            keys.append((address_key(client), self._throttle.free_per_address))
        self._refuse_while_waiting([k for k, _ in keys])
        user = self._repo.get_user(name)
        if user is None:
            # The same hash and the same answer as a wrong password: no names are revealed.
            verify_nobody(password)
            self._failed(keys)
        if not self._password_opens(user, password):
            self._failed(keys)
        self._repo.clear_sign_in_failures(user_key(name))
        return self._issue(user, self._max_uses)

    def _password_opens(self, user: User, password: str) -> bool:
        if verify_password(user.password_hash, password):
            return True
        if user.name != self.admin_name:
            return False
        # The course texts spell the default password two ways; both open the default admin.
        # Bytes: compare_digest refuses a str that is not ASCII (a 500 for "pässword").
        given = password.encode("utf-8")
        return any(hmac.compare_digest(given, p.encode("utf-8")) for p in self._admin_passwords)

    def _refuse_while_waiting(self, keys: list[str]) -> None:
        now = self._now()
        until = self._repo.sign_in_blocked_until(keys, now)
        if until is not None:
            wait = seconds_until(until, now)
            raise TooManyAttempts(
                f"too many failed sign-ins for this user or from this address: try again in {wait} s",
                retry_after=wait,
            )

    def _failed(self, keys: Iterable[tuple[str, int]]) -> NoReturn:
        """Count a failed sign-in for each key, start the waits it earns, and refuse (401)."""
        now = self._now()
        for key, free in keys:
            failures = self._repo.count_sign_in_failure(key, now, self._throttle.window_s)
            wait = self._throttle.wait_after(failures, free)
            if wait:
                self._repo.block_sign_in(key, now + wait)
        raise BadCredentials("the user or password is invalid")

    def issue(self, principal: Principal, max_uses: int) -> str:
        """A token for `principal` with a use budget of its own (the workload's clients each get
        one sized to their requests, so load never spends a person's session)."""
        user = self._repo.get_user(principal.name)
        if user is None or principal.is_system:
            raise Unauthenticated("no such user")
        return self._issue(user, max(1, min(max_uses, self._max_uses * 100)))

    def _issue(self, user: User, max_uses: int) -> str:
        now = self._now()
        token = IssuedToken(
            jti=secrets.token_hex(16),
            user_name=user.name,
            issued_at=now,
            expires_at=now + self._ttl,
            max_uses=max_uses,
        )
        self._repo.add_token(token)
        claims = {
            "sub": user.name,
            "jti": token.jti,
            "adm": user.is_admin,
            "iat": int(now.timestamp()),
            "exp": int(token.expires_at.timestamp()),
        }
        return BEARER + jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    @property
    def token_ttl_s(self) -> int:
        return int(self._ttl.total_seconds())

    def revoke(self, token: str) -> None:
        """End a token now (signing out): its record is spent, so no copy of it works again."""
        claims = self._claims(token, verify_exp=False)
        if claims is not None:
            self._repo.revoke_token(str(claims["jti"]))

    def form_key(self, token: str) -> str:
        """The anti-CSRF key of a session: an HMAC of the token's id, so a form is bound to the
        session that rendered it and a key from another user's session is refused."""
        claims = self._claims(token, verify_exp=False)
        jti = str(claims["jti"]) if claims is not None else ""
        return hmac.new(self._secret.encode(), b"form:" + jti.encode(), hashlib.sha256).hexdigest()

    def signature(self, purpose: str, message: str) -> str:
        """An HMAC of `message` under the registry's signing key, for a URL that must authorise
        itself (a Hub LFS upload's PUT carries no token)."""
        data = f"{purpose}:{message}".encode()
        return hmac.new(self._secret.encode(), data, hashlib.sha256).hexdigest()

    def check_signature(self, purpose: str, message: str, signature: str) -> bool:
        expected = self.signature(purpose, message).encode()
        return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))

    def check_form_key(self, token: str, key: str | None) -> bool:
        if not key or self._claims(token, verify_exp=False) is None:
            return False
        return hmac.compare_digest(self.form_key(token).encode(), key.encode("utf-8", "replace"))

    def _claims(self, token: str, *, verify_exp: bool) -> dict[str, object] | None:
        try:
            return self._decode(_without_bearer(token), verify_exp=verify_exp)
        except jwt.PyJWTError:
            return None

    def _decode(self, raw: str, *, verify_exp: bool = True) -> dict[str, object]:
        # Times are checked against the service's clock, as the token's record is, never PyJWT's
        # own reading of the wall clock: one clock decides, and tests can move it.
        claims: dict[str, object] = jwt.decode(
            raw,
            self._secret,
            algorithms=[_ALGORITHM],
            options={
                "require": ["jti", "sub", "exp"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        expires = claims["exp"]
        if isinstance(expires, bool) or not isinstance(expires, int | float):
            raise jwt.InvalidTokenError("the exp claim is not a number")
        if verify_exp and expires <= self._now().timestamp():
            raise jwt.ExpiredSignatureError("Signature has expired")
        return claims

    def check(self, header: str | None) -> Principal:
        """Who is behind an X-Authorization value, with or without the `bearer ` prefix."""
        if not header or not header.strip():
            raise Unauthenticated("missing X-Authorization header")
        raw = _without_bearer(header)
        if self._static and hmac.compare_digest(raw.encode("utf-8"), self._static.encode("utf-8")):
            return Principal(self.admin_name, is_admin=True, permissions=frozenset(Permission))
        try:
            claims = self._decode(raw)
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token is not valid") from exc
        jti = str(claims["jti"])
        spent, user = self._repo.spend_token_of(jti, self._now())
        if not spent:
            raise Unauthenticated("the token has expired, been used up or been revoked")
        if user is None:
            raise Unauthenticated("the token's user no longer exists")
        return Principal.of(user, jti)

    # -- users -------------------------------------------------------------------------------
    def create_user(
        self,
        principal: Principal,
        name: str,
        password: str,
        *,
        is_admin: bool,
        permissions: frozenset[Permission],
    ) -> User:
        require_admin(principal, "create users")
        check_user_name(name)
        check_password(password, user_name=name, min_length=self._min_length)
        user = User(name, is_admin, hash_password(password), permissions)
        if not self._repo.add_user(user):
            raise Conflict(f"a user named {name!r} already exists")
        return user

    def list_users(self, principal: Principal) -> list[User]:
        require_admin(principal, "list users")
        return self._repo.list_users()

    def user(self, principal: Principal, name: str) -> User:
        require_self_or_admin(principal, name, "see this user")
        user = self._repo.get_user(name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        return user

    def delete_user(self, principal: Principal, name: str) -> None:
        """Delete a user and revoke every token it holds; the default admin stays."""
        require_self_or_admin(principal, name, "delete this user")
        if name == self.admin_name:
            raise Conflict("the default administrator cannot be deleted")
        if not self._repo.delete_user(name):
            raise NotFound(f"no user named {name!r}")

    def set_permissions(self, principal: Principal, name: str, permissions: frozenset[Permission]) -> User:
        require_admin(principal, "change permissions")
        user = self._repo.get_user(name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        changed = User(user.name, user.is_admin, user.password_hash, permissions)
        self._repo.put_user(changed)
        return changed

    def set_password(
        self, principal: Principal, name: str, new_password: str, old_password: str | None
    ) -> None:
        """A user changes its own password with the old one; an admin changes anyone's without.
        Every other token of the user is revoked (the one asking keeps working)."""
        require_self_or_admin(principal, name, "change this user's password")
        if name == self.admin_name:
            raise Conflict(
                "the default administrator's password is the registry's setting "
                "(TMR_ADMIN_PASSWORD or its SSM parameter); change it there"
            )
        user = self._repo.get_user(name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        if principal.name == name:
            if old_password is None:
                raise InvalidInput("old_password is required to change one's own password")
            key = [(user_key(name), self._throttle.free_per_user)]
            self._refuse_while_waiting([user_key(name)])
            if not verify_password(user.password_hash, old_password):
                self._failed(key)
        check_password(new_password, user_name=name, min_length=self._min_length)
        self._repo.put_user(User(user.name, user.is_admin, hash_password(new_password), user.permissions))
        keep = principal.token_id if principal.name == name else None
        self._repo.revoke_user_tokens(name, except_jti=keep)
