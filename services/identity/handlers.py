"""Use cases of identity: log in, create a user, reset a password, seed the demo users."""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity.domain import DEMO_USERS, Brake, password_problem, username_problem
from services.identity.models import User
from services.identity.passwords import hash_password, needs_rehash, verify_password
from shared.audit import record_access
from shared.auth import Grant, Principal
from shared.clock import Clock


class UserError(ValueError):
    """A request the identity store refuses; the message names the field and holds no secret."""


def principal_of(user: User) -> Principal:
    return Principal(subject=user.username, grants=tuple(Grant.model_validate(g) for g in user.grants))


async def _user(session: AsyncSession, username: str, *, lock: bool = False) -> User | None:
    query = select(User).where(User.username == username)
    return (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()


@dataclass(frozen=True)
class LoginPolicy:
    brake: Brake
    failure_delay_seconds: float


async def log_in(
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    policy: LoginPolicy,
    username: str,
    password: str,
    request: Request | None = None,
) -> Principal | None:
    """The user's principal when the password is right and the account open; None otherwise, alike."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with sessions() as session:
        user = await _user(session, username.strip().lower())  # usernames are stored in lower case
    usable = user is not None and user.active and not policy.brake.is_locked(user.locked_until, clock.now())
    # Always hash once, so unknown, locked and wrong all take the same time.
    matched = await verify_password(user.password_hash if usable else None, password)
    if not matched:
        if user is not None:
            await _count_failure(sessions, user_id=user.id, clock=clock, policy=policy, request=request)
        # Every failure answers the same time after it began, whether or not the username exists.
        await asyncio.sleep(max(0.0, policy.failure_delay_seconds - (loop.time() - started)))
        return None
    async with sessions.begin() as session:
        user = await session.get(User, user.id, with_for_update=True)
        if policy.brake.is_locked(user.locked_until, clock.now()):
            return None  # guesses running alongside this login locked the account meanwhile
        user.failed_logins, user.locked_until = 0, None
        if needs_rehash(user.password_hash):
            user.password_hash = await hash_password(password)
        principal = principal_of(user)
        await record_access(
            session,
            principal=principal,
            action="login",
            object_type="user",
            object_id=user.id,
            request=request,
        )
    return principal


async def _count_failure(
    sessions: async_sessionmaker[AsyncSession],
    *,
    user_id: UUID,
    clock: Clock,
    policy: LoginPolicy,
    request: Request | None,
) -> None:
    async with sessions.begin() as session:
        user = await session.get(User, user_id, with_for_update=True)
        now = clock.now()
        if policy.brake.is_locked(user.locked_until, now):
            return  # already waiting: guesses during the lock do not lengthen it
        user.failed_logins, locked_until = policy.brake.after_failure(user.failed_logins, now)
        user.locked_until = locked_until or user.locked_until
        action = "locked" if locked_until else "login_failed"
        await record_access(
            session,
            principal=Principal(subject=user.username, grants=()),
            action=action,
            object_type="user",
            object_id=user.id,
            request=request,
        )


def _check_password(password: str) -> None:
    if problem := password_problem(password):
        raise UserError(problem)


async def create_user(
    sessions: async_sessionmaker[AsyncSession],
    *,
    by: Principal,
    username: str,
    password: str,
    grants: Sequence[Grant],
    now: datetime,
) -> User:
    """A new user holding `grants`; refuses a taken username, a bad one, or a weak password."""
    if problem := username_problem(username):
        raise UserError(problem)
    _check_password(password)
    if not grants:
        raise UserError("role: at least one ROLE:SCOPE")
    password_hash = await hash_password(password)
    async with sessions.begin() as session:
        if await _user(session, username) is not None:
            raise UserError(f"username: {username} is already taken")
        user = User(
            username=username,
            password_hash=password_hash,
            grants=[g.model_dump(mode="json") for g in grants],
            created_at=now,
            password_changed_at=now,
        )
        session.add(user)
        await record_access(
            session, principal=by, action="create", object_type="user", object_id=user.id, at=now
        )
    return user


async def reset_password(
    sessions: async_sessionmaker[AsyncSession], *, by: Principal, username: str, password: str, now: datetime
) -> User:
    """Set a new password and lift any lock."""
    _check_password(password)
    password_hash = await hash_password(password)
    async with sessions.begin() as session:
        user = await _user(session, username, lock=True)
        if user is None:
            raise UserError(f"username: no user {username}")
        user.password_hash, user.password_changed_at = password_hash, now
        user.failed_logins, user.locked_until = 0, None
        await record_access(
            session, principal=by, action="reset_password", object_type="user", object_id=user.id, at=now
        )
    return user


async def seed_demo_users(
    sessions: async_sessionmaker[AsyncSession],
    *,
    by: Principal,
    password: str,
    grants_of: Callable[[str], Grant],
    now: datetime,
) -> None:
    """Create the demo users, or bring existing ones back to the demo password and grants."""
    for demo in DEMO_USERS:
        grants = [grants_of(text) for text in demo.grants]
        async with sessions() as session:
            exists = await _user(session, demo.username) is not None
        if not exists:
            await create_user(
                sessions, by=by, username=demo.username, password=password, grants=grants, now=now
            )
            continue
        await reset_password(sessions, by=by, username=demo.username, password=password, now=now)
        async with sessions.begin() as session:
            user = await _user(session, demo.username, lock=True)
            user.grants, user.active = [g.model_dump(mode="json") for g in grants], True
