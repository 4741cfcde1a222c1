"""Events of the quarantine context (topic `quarantine.episode.v1`)."""

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.contracts import Event
from shared.contracts.intake import VILLAGE_PATTERN, QuarantinePolicy
from shared.contracts.topics import EPISODE


class _EpisodeEvent(Event):
    topic = EPISODE

    returnee_id: UUID
    episode_id: UUID
    home_village_code: str = Field(pattern=VILLAGE_PATTERN)


class QuarantineStarted(_EpisodeEvent):
    type = "kh.gov.border.quarantine.started.v1"

    mode: QuarantinePolicy
    facility_id: str | None = None
    starts_on: date
    ends_on: date


class QuarantineWaiting(_EpisodeEvent):
    """No facility of the province has a free bed: the provincial working group must act."""

    type = "kh.gov.border.quarantine.waiting.v1"

    province_code: str
    since: AwareDatetime


class CheckinRecorded(_EpisodeEvent):
    type = "kh.gov.border.quarantine.checkin_recorded.v1"

    day: int = Field(ge=1)
    # None for a commune's report by SMS from a home self-isolation: no thermometer reading.
    temperature_c: float | None = None
    symptoms: list[str] = []
    recorded_at: AwareDatetime
    source: Literal["facility", "commune"] = "facility"


class SymptomsReported(_EpisodeEvent):
    type = "kh.gov.border.quarantine.symptoms_reported.v1"

    symptoms: list[str]
    temperature_c: float | None = None  # None when the commune reported by SMS
    reported_at: AwareDatetime


class QuarantineCompleted(_EpisodeEvent):
    type = "kh.gov.border.quarantine.completed.v1"

    mode: QuarantinePolicy
    completed_on: date


class ReferralCleared(_EpisodeEvent):
    """Health staff cleared a referred returnee: quarantine (or, under policy=home, transport) may go on."""

    type = "kh.gov.border.quarantine.referral_cleared.v1"

    cleared_at: AwareDatetime
