"""The one way the tests wait: poll a condition until it holds, and fail naming what never came."""

import asyncio
import time


def _timed_out(timeout: float, what) -> AssertionError:
    return AssertionError(f"timed out after {timeout}s waiting for {what() if callable(what) else what}")


async def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05, what="condition"):
    """Poll an (async or sync) predicate until it is truthy and return its value.

    `what` (a text, or a function giving one) names the condition in the failure.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise _timed_out(timeout, what)
        await asyncio.sleep(interval)


def wait_until_blocking(predicate, timeout: float = 20.0, interval: float = 0.05, what="condition"):
    """`wait_until` for code outside an event loop (the fault harness, the SMS log reader)."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise _timed_out(timeout, what)
        time.sleep(interval)
    return result
