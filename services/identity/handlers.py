"""Use cases of identity: log in, create a user, reset a password, seed the demo users."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from services.identity.domain import (
    DEMO_USERS,
    Brake,
    not_before,
    password_problem,
    scope_fits,
    username_problem,
)
from services.identity.models import LoginLock, User
from services.identity.passwords import hash_password, needs_rehash, verify_password
from services.identity.settings import Settings
from shared.audit import record_access
from shared.errors import Conflict, Invalid, NotFound
from shared.geo.gazetteer import load_gazetteer
from shared.unit_of_work import UnitOfWork
from shared.web.auth import Grant, Principal
from shared.web.revocation import subject_key

Uow = UnitOfWork[Settings]


def principal_of(user: User) -> Principal:
    return Principal(subject=user.username, grants=tuple(Grant.model_validate(g) for g in user.grants))


async def _user(uow: Uow, username: str, *, lock: bool = False) -> User | None:
    query = select(User).where(User.username == username)
    return (await uow.session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()


def _brake(settings: Settings) -> Brake:
    return Brake(settings.max_failed_logins, timedelta(minutes=settings.lockout_minutes))


@dataclass(frozen=True)
class LoggedIn:
    principal: Principal
    not_before: int | None  # no token may be issued before this second (see `domain.not_before`)


def _revoke_tokens(user: User) -> None:
    """Refuse every token issued to `user` so far. Real time, as tokens' `iat` is, not the demo clock."""
    user.tokens_valid_after = datetime.now(UTC)


async def log_in(uow: Uow, *, username: str, password: str) -> LoggedIn | None:
    """The user's principal when the password is right and the account open; None otherwise, alike.

    Failures are counted per username *and client address*, so a guesser elsewhere locks only themselves
    out, never the officer at their own tablet; the count is kept in this work, which commits even then.
    """
    brake = _brake(uow.settings)
    username = username.strip().lower()  # usernames are stored in lower case
    client = ((uow.origin and uow.origin.client_ip) or "-")[:64]
    # Real time: at the demo clock's 1440x a 15-minute lock would end in under a second.
    now = datetime.now(UTC)
    user = await _user(uow, username)
    lock = await uow.session.get(LoginLock, (username, client))
    usable = user is not None and user.active and not brake.is_locked(lock and lock.locked_until, now)
    # Always hash once, so unknown, locked and wrong all take the same time.
    matched = await verify_password(user.password_hash if usable else None, password)
    if user is None:
        return None
    # Read again under the user's lock: logins and guesses of the same user may run alongside this one.
    user = await uow.session.get(User, user.id, with_for_update=True, populate_existing=True)
    lock = await uow.session.get(LoginLock, (username, client), populate_existing=True)
    if not matched:
        await _count_failure(uow, user, lock or LoginLock(username=username, client=client), brake, now)
        return None
    if (lock is not None and brake.is_locked(lock.locked_until, now)) or not user.active:
        return None  # guesses locked this client out, or the user was deactivated, meanwhile
    if lock is not None:
        await uow.session.delete(lock)  # a success resets this client's count
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    principal = principal_of(user)
    await record_access(uow, principal=principal, action="login", object_type="user", object_id=user.id)
    valid_after = user.tokens_valid_after
    return LoggedIn(principal, None if valid_after is None else not_before(valid_after))


async def _count_failure(uow: Uow, user: User, lock: LoginLock, brake: Brake, now: datetime) -> None:
    if brake.is_locked(lock.locked_until, now):
        return  # already waiting: guesses during the lock do not lengthen it
    lock.failures, locked_until = brake.after_failure(lock.failures, now)
    lock.locked_until = locked_until or lock.locked_until
    uow.session.add(lock)
    await record_access(
        uow,
        principal=Principal(subject=user.username, grants=()),
        action="locked" if locked_until else "login_failed",
        object_type="user",
        object_id=user.id,
    )


def _check_grants(grants: Sequence[Grant]) -> None:
    if not grants:
        raise Invalid(("role",), "role: at least one ROLE:SCOPE")
    gazetteer = load_gazetteer()
    for grant in grants:
        if not scope_fits(gazetteer, grant.role, grant.scope):
            raise Invalid(("role",), f"role: {grant.scope!r} is not a valid scope for {grant.role.value}")


def _check_password(password: str) -> None:
    if problem := password_problem(password):
        raise Invalid(("password",), problem)


async def create_user(
    uow: Uow, *, by: Principal, username: str, password: str, grants: Sequence[Grant]
) -> User:
    """A new user holding `grants`; refuses a taken username, a bad one, or a weak password."""
    if problem := username_problem(username):
        raise Invalid(("username",), problem)
    _check_password(password)
    _check_grants(grants)
    password_hash = await hash_password(password)
    if await _user(uow, username) is not None:
        raise Conflict(f"username: {username} is already taken")
    now = uow.now()
    user = User(
        username=username,
        password_hash=password_hash,
        grants=[g.model_dump(mode="json") for g in grants],
        created_at=now,
        password_changed_at=now,
    )
    uow.session.add(user)
    await record_access(uow, principal=by, action="create", object_type="user", object_id=user.id)
    return user


async def reset_password(uow: Uow, *, by: Principal, username: str, password: str) -> User:
    """Set a new password and lift any lock."""
    _check_password(password)
    password_hash = await hash_password(password)
    user = await _user(uow, username, lock=True)
    if user is None:
        raise NotFound(f"username: no user {username}")
    user.password_hash, user.password_changed_at = password_hash, uow.now()
    await uow.session.execute(delete(LoginLock).where(LoginLock.username == user.username))
    _revoke_tokens(user)  # whoever knew the old password may hold a token made with it
    await record_access(uow, principal=by, action="reset_password", object_type="user", object_id=user.id)
    return user


async def deactivate_user(uow: Uow, *, by: Principal, username: str) -> User:
    """The user can no longer log in, and the tokens they hold are refused."""
    user = await _user(uow, username, lock=True)
    if user is None:
        raise NotFound(f"username: no user {username}")
    user.active = False
    _revoke_tokens(user)
    await record_access(uow, principal=by, action="deactivate", object_type="user", object_id=user.id)
    return user


async def set_grants(uow: Uow, *, by: Principal, username: str, grants: Sequence[Grant]) -> User:
    """Replace a user's grants; tokens carrying the old ones are refused."""
    _check_grants(grants)
    user = await _user(uow, username, lock=True)
    if user is None:
        raise NotFound(f"username: no user {username}")
    user.grants = [g.model_dump(mode="json") for g in grants]
    _revoke_tokens(user)
    await record_access(uow, principal=by, action="set_grants", object_type="user", object_id=user.id)
    return user


async def revocations(uow: Uow, *, max_age: timedelta) -> dict[str, int]:
    """Subject key -> not-before of every user whose tokens were revoked within `max_age` (older tokens
    have expired anyway)."""
    since = datetime.now(UTC) - max_age
    query = select(User.username, User.tokens_valid_after).where(User.tokens_valid_after > since)
    rows = (await uow.session.execute(query)).all()
    return {subject_key(username): not_before(valid_after) for username, valid_after in rows}


async def seed_demo_users(
    uow: Uow, *, by: Principal, password: str, grants_of: Callable[[str], Grant]
) -> None:
    """Create the demo users, or bring existing ones back to the demo password and grants."""
    for demo in DEMO_USERS:
        grants = [grants_of(text) for text in demo.grants]
        if await _user(uow, demo.username) is None:
            await create_user(uow, by=by, username=demo.username, password=password, grants=grants)
            continue
        user = await reset_password(uow, by=by, username=demo.username, password=password)
        user.grants, user.active = [g.model_dump(mode="json") for g in grants], True
