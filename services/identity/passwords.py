"""Password hashing with argon2id; the work runs in a thread so the event loop keeps serving."""

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id baseline (19 MiB, 2 passes): a burst of logins at a shift change stays affordable.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def _dummy_hash() -> str:
    """Checked when the username is unknown, so a miss costs as much time as a wrong password."""
    return _hasher.hash("no such user: this hash only burns the same time")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash (unknown user) it spends the same time and says no."""
    matched = await asyncio.to_thread(_matches, password_hash or _dummy_hash(), password)
    return matched and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """The hash was made with older parameters: store a new one at the next successful login."""
    return _hasher.check_needs_rehash(password_hash)
