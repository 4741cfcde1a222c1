"""Event contracts: versioned pydantic models, one module per owning context.

A contract's `type` is its CloudEvents type; a breaking change gets a new `.vN` type, never an edit.
"""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

REGISTRY: dict[str, type["Event"]] = {}


class Event(BaseModel):
    """Base of every payload published on Kafka."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ClassVar[str]
    topic: ClassVar[str]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            if cls.type in REGISTRY:
                raise ValueError(f"event type {cls.type} defined twice")
            REGISTRY[cls.type] = cls

    def partition_key(self) -> str:
        """The Kafka key: the returnee id, so one returnee's events stay in order on one partition."""
        return str(self.returnee_id)  # type: ignore[attr-defined]


def event_class(type_: str) -> type[Event] | None:
    _load_contracts()
    return REGISTRY.get(type_)


def _load_contracts() -> None:
    from shared.contracts import intake, notify, quarantine, transport  # noqa: F401
