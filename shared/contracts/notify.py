"""Events of the commune follow-up context (topic `notify.followup.v1`)."""

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.contracts import Event
from shared.contracts.topics import FOLLOWUP


class _FollowupEvent(Event):
    topic = FOLLOWUP

    returnee_id: UUID
    commune_code: str = Field(pattern=r"^\d{6}$")


class AlertSent(_FollowupEvent):
    type = "kh.gov.border.followup.alert_sent.v1"

    channel: Literal["sms", "webhook"]
    reason: str
    sent_at: AwareDatetime


class VisitRecorded(_FollowupEvent):
    type = "kh.gov.border.followup.visit_recorded.v1"

    visited_at: AwareDatetime


class SelfIsolationCheckin(_FollowupEvent):
    """A commune's report on a returnee isolating at home (from an SMS reply), for quarantine."""

    type = "kh.gov.border.followup.checkin_reported.v1"

    symptoms: list[str] = []
    reported_at: AwareDatetime


class FollowupOverdue(_FollowupEvent):
    type = "kh.gov.border.followup.overdue.v1"

    due_at: AwareDatetime


class FollowupCompleted(_FollowupEvent):
    type = "kh.gov.border.followup.completed.v1"

    completed_at: AwareDatetime
