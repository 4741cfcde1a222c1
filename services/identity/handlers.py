"""Use cases of identity: log in, create a user, reset a password, seed the demo users."""

from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import select

from services.identity.domain import DEMO_USERS, Brake, password_problem, username_problem
from services.identity.models import User
from services.identity.passwords import hash_password, needs_rehash, verify_password
from services.identity.settings import Settings
from shared.audit import record_access
from shared.errors import Conflict, Invalid, NotFound
from shared.unit_of_work import UnitOfWork
from shared.web.auth import Grant, Principal

Uow = UnitOfWork[Settings]


def principal_of(user: User) -> Principal:
    return Principal(subject=user.username, grants=tuple(Grant.model_validate(g) for g in user.grants))


async def _user(uow: Uow, username: str, *, lock: bool = False) -> User | None:
    query = select(User).where(User.username == username)
    return (await uow.session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()


def _brake(settings: Settings) -> Brake:
    return Brake(settings.max_failed_logins, timedelta(minutes=settings.lockout_minutes))


async def log_in(uow: Uow, *, username: str, password: str) -> Principal | None:
    """The user's principal when the password is right and the account open; None otherwise, alike.

    A failure is counted (and the account perhaps locked) in this work, which commits even then.
    """
    brake = _brake(uow.settings)
    user = await _user(uow, username.strip().lower())  # usernames are stored in lower case
    usable = user is not None and user.active and not brake.is_locked(user.locked_until, uow.now())
    # Always hash once, so unknown, locked and wrong all take the same time.
    matched = await verify_password(user.password_hash if usable else None, password)
    if user is None:
        return None
    # Read again under lock: logins and guesses of the same user may run alongside this one.
    user = await uow.session.get(User, user.id, with_for_update=True, populate_existing=True)
    if not matched:
        await _count_failure(uow, user, brake)
        return None
    if brake.is_locked(user.locked_until, uow.now()):
        return None  # guesses running alongside this login locked the account meanwhile
    user.failed_logins, user.locked_until = 0, None
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    principal = principal_of(user)
    await record_access(uow, principal=principal, action="login", object_type="user", object_id=user.id)
    return principal


async def _count_failure(uow: Uow, user: User, brake: Brake) -> None:
    now = uow.now()
    if brake.is_locked(user.locked_until, now):
        return  # already waiting: guesses during the lock do not lengthen it
    user.failed_logins, locked_until = brake.after_failure(user.failed_logins, now)
    user.locked_until = locked_until or user.locked_until
    await record_access(
        uow,
        principal=Principal(subject=user.username, grants=()),
        action="locked" if locked_until else "login_failed",
        object_type="user",
        object_id=user.id,
    )


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
    if not grants:
        raise Invalid(("role",), "role: at least one ROLE:SCOPE")
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
    user.failed_logins, user.locked_until = 0, None
    await record_access(uow, principal=by, action="reset_password", object_type="user", object_id=user.id)
    return user


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
