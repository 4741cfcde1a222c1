"""Events of the transport context (topic `transport.transfer.v1`)."""

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts import Event
from shared.contracts.intake import VILLAGE_PATTERN
from shared.contracts.topics import TRANSFER


class Passenger(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    returnee_id: UUID
    home_village_code: str = Field(pattern=VILLAGE_PATTERN)


class ManifestDispatched(Event):
    """One event per vehicle; keyed by manifest id since it concerns several returnees at once."""

    type = "kh.gov.border.transport.manifest_dispatched.v1"
    topic = TRANSFER

    manifest_id: UUID
    destination_province_code: str = Field(pattern=r"^\d{2}$")
    vehicle_plate: str
    dispatched_at: AwareDatetime
    expected_arrival: AwareDatetime
    passengers: list[Passenger] = Field(min_length=1)

    def partition_key(self) -> str:
        return str(self.manifest_id)


class _PassengerEvent(Event):
    topic = TRANSFER

    returnee_id: UUID
    manifest_id: UUID
    home_village_code: str = Field(pattern=VILLAGE_PATTERN)


class HandedOver(_PassengerEvent):
    type = "kh.gov.border.transport.handed_over.v1"

    handed_over_at: AwareDatetime


class PassengerMissing(_PassengerEvent):
    """A returnee not found at hand-over: an alert, never a silent drop."""

    type = "kh.gov.border.transport.passenger_missing.v1"

    reported_at: AwareDatetime
