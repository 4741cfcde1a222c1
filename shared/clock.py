"""Time as the services see it: real time, or a demo clock running faster so 14 days pass in minutes.

Every service of one deployment is given the same epoch and speed, so their clocks agree.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

CAMBODIA = ZoneInfo("Asia/Phnom_Penh")


class Clock:
    """`now()` = epoch + (real time since epoch) x speed + offset; speed 1 and no offset is real time."""

    def __init__(self, speed: float = 1.0, epoch: datetime | None = None):
        self.speed = speed
        self.epoch = epoch or datetime.now(UTC)
        self._offset = timedelta()

    def now(self) -> datetime:
        real = datetime.now(UTC)
        return self.epoch + (real - self.epoch) * self.speed + self._offset

    def today(self) -> date:
        """The date in Cambodia, where quarantine days are counted."""
        return self.now().astimezone(CAMBODIA).date()

    def advance(self, delta: timedelta) -> None:
        """Jump ahead (tests and demos)."""
        self._offset += delta
