"""Users, tokens and sign-in failures in the metadata store (see `tmr.accounts`).

Every change to a token's budget is one conditional UPDATE, so concurrent workers can never spend
one use twice. Sign-in failure counts are read and written in one transaction per failure; two
workers counting the same key at the same instant may lose one count, which only makes the wait a
step shorter. The failure table is pruned by its writer: rows whose window and wait have both run
out are deleted as new failures arrive, so random names cannot grow it without bound.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session

from tmr.accounts.models import IssuedToken, User, format_permissions, parse_permissions
from tmr.storage.sessions import SqlRepository, unstorable
from tmr.storage.tables import SignInFailureRow, TokenRow, UserRow, table

_PRUNE_BATCH = 200

# Built once (storage/sessions.py, `_writing`): every authenticated request spends a use. One
# conditional UPDATE spends it, so concurrent workers never spend the same use twice.
_TOKENS, _USERS = table(TokenRow), table(UserRow)
_SPEND_TOKEN = (
    update(_TOKENS)
    .where(
        _TOKENS.c.jti == bindparam("spent_jti"),
        _TOKENS.c.uses < _TOKENS.c.max_uses,
        _TOKENS.c.expires_at > bindparam("spent_at"),
    )
    .values(uses=_TOKENS.c.uses + 1)
    .returning(_TOKENS.c.user_name)
)
_USER_NAMED = select(_USERS).where(_USERS.c.name == bindparam("name"))


def _user(row: UserRow | Row[Any]) -> User:
    return User(row.name, row.is_admin, row.password_hash, parse_permissions(row.permissions))


def _new_row(user: User) -> UserRow:
    return UserRow(
        name=user.name,
        password_hash=user.password_hash,
        is_admin=user.is_admin,
        permissions=format_permissions(user.permissions),
        created_at=datetime.now().astimezone(),
    )


class SqlAccountRows(SqlRepository):
    """The AccountRepository half of the metadata store."""

    # -- users -------------------------------------------------------------------------------
    def get_user(self, name: str) -> User | None:
        if unstorable(name):
            return None
        with self._read() as session:
            row = session.get(UserRow, name)
            return _user(row) if row else None

    def list_users(self) -> list[User]:
        with self._read() as session:
            return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.name))]

    def put_user(self, user: User) -> None:
        with self._write() as session:
            row = session.get(UserRow, user.name)
            if row is None:
                session.add(_new_row(user))
            else:
                row.password_hash = user.password_hash
                row.is_admin = user.is_admin
                row.permissions = format_permissions(user.permissions)

    def add_user(self, user: User) -> bool:
        """Create a user; False when the name is taken (whoever races, one wins)."""
        try:
            with self._write() as session:
                if session.get(UserRow, user.name) is not None:
                    return False
                session.add(_new_row(user))
        except SqlIntegrityError:
            return False
        return True

    def delete_user(self, name: str) -> bool:
        """Remove a user and every token it holds, in one transaction."""
        if unstorable(name):
            return False
        with self._write() as session:
            session.execute(delete(TokenRow).where(TokenRow.user_name == name))
            return bool(getattr(session.execute(delete(UserRow).where(UserRow.name == name)), "rowcount", 0))

    def delete_users_except(self, keep: Collection[str]) -> None:
        with self._write() as session:
            session.execute(delete(TokenRow).where(TokenRow.user_name.not_in(list(keep))))
            session.execute(delete(UserRow).where(UserRow.name.not_in(list(keep))))
            session.execute(delete(SignInFailureRow))

    # -- tokens ------------------------------------------------------------------------------
    def add_token(self, token: IssuedToken) -> None:
        with self._write() as session:
            session.add(
                TokenRow(
                    jti=token.jti,
                    user_name=token.user_name,
                    issued_at=token.issued_at,
                    expires_at=token.expires_at,
                    uses=0,
                    max_uses=token.max_uses,
                )
            )

    def spend_token_of(self, jti: str, now: datetime) -> tuple[bool, User | None]:
        """One conditional UPDATE spends a use (concurrent workers can never spend the same use
        twice), and the token's user is read in the same transaction: every request pays for
        this, so it is one round trip, not two."""
        with self._writing() as connection:
            spent = connection.execute(_SPEND_TOKEN, {"spent_jti": jti, "spent_at": now}).scalar_one_or_none()
            if spent is None:
                return False, None
            row = connection.execute(_USER_NAMED, {"name": spent}).first()
            return True, (_user(row) if row is not None else None)

    def revoke_token(self, jti: str) -> None:
        with self._write() as session:
            session.execute(update(TokenRow).where(TokenRow.jti == jti).values(uses=TokenRow.max_uses))

    def revoke_user_tokens(self, name: str, except_jti: str | None = None) -> None:
        with self._write() as session:
            query = update(TokenRow).where(TokenRow.user_name == name)
            if except_jti is not None:
                query = query.where(TokenRow.jti != except_jti)
            session.execute(query.values(uses=TokenRow.max_uses))

    # -- sign-in failures --------------------------------------------------------------------
    def sign_in_blocked_until(self, keys: Sequence[str], now: datetime) -> datetime | None:
        wanted = [k for k in keys if not unstorable(k)]
        with self._read() as session:
            latest = session.scalar(
                select(func.max(SignInFailureRow.blocked_until)).where(
                    SignInFailureRow.key.in_(wanted), SignInFailureRow.blocked_until > now
                )
            )
        return latest

    def count_sign_in_failure(self, key: str, now: datetime, window_s: int) -> int:
        """Count one failure for `key` within a window of `window_s`; the count so far."""
        if unstorable(key):
            return 0
        window_start = now - timedelta(seconds=window_s)
        for attempt in range(2):
            try:
                with self._write() as session:
                    self._prune(session, window_start, now)
                    row = session.get(SignInFailureRow, key, with_for_update=True)
                    if row is None:
                        session.add(SignInFailureRow(key=key, failures=1, window_started_at=now))
                        return 1
                    if row.window_started_at < window_start:
                        row.failures, row.window_started_at = 1, now
                    else:
                        row.failures += 1
                    return row.failures
            except SqlIntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _prune(session: Session, window_start: datetime, now: datetime) -> None:
        stale = (
            select(SignInFailureRow.key)
            .where(
                SignInFailureRow.window_started_at < window_start,
                or_(SignInFailureRow.blocked_until.is_(None), SignInFailureRow.blocked_until < now),
            )
            .limit(_PRUNE_BATCH)
        )
        keys = list(session.scalars(stale))
        if keys:
            session.execute(delete(SignInFailureRow).where(SignInFailureRow.key.in_(keys)))

    def block_sign_in(self, key: str, until: datetime) -> None:
        with self._write() as session:
            session.execute(
                update(SignInFailureRow).where(SignInFailureRow.key == key).values(blocked_until=until)
            )

    def clear_sign_in_failures(self, key: str) -> None:
        with self._write() as session:
            session.execute(delete(SignInFailureRow).where(SignInFailureRow.key == key))
