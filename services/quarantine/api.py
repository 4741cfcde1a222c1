"""HTTP API of the quarantine service: facilities, episodes, check-ins and clearances."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, status

from services.quarantine import handlers, queries
from services.quarantine.models import (
    CapacityUpdate,
    CheckinCreate,
    CheckinRead,
    EpisodeDetail,
    EpisodeRead,
    FacilityCreate,
    FacilityRead,
    SupplyItem,
    SupplyUpdate,
)
from services.quarantine.settings import Settings
from shared.unit_of_work import Deps, OriginDep, get_deps
from shared.web.api_errors import errors
from shared.web.auth import Principal, Role, public, require
from shared.web.pages import page_config as origin_config
from shared.web.pages import page_messages

router = APIRouter(tags=["quarantine"])

QuarantineDeps = Annotated[Deps[Settings], Depends(get_deps)]

FacilityPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
EpisodeStatus = Literal["waiting", "placed", "awaiting_handover", "home", "completed", "referred"]

FACILITY_READERS = (Role.facility_staff, Role.provincial_wg, Role.national_admin)
EPISODE_READERS = (
    Role.facility_staff,
    Role.provincial_wg,
    Role.district_officer,
    Role.commune_chief,
    Role.national_admin,
)


FacilityReader = Annotated[Principal, require(*FACILITY_READERS)]
EpisodeReader = Annotated[Principal, require(*EPISODE_READERS)]
ProvinceManager = Annotated[Principal, require(Role.provincial_wg, Role.national_admin)]
CheckinTaker = Annotated[Principal, require(Role.facility_staff, Role.commune_chief, Role.national_admin)]
Clearer = Annotated[Principal, require(Role.facility_staff, Role.provincial_wg, Role.national_admin)]
# PostgreSQL's OFFSET is a bigint: a larger one would be a server error, not an empty page.
MAX_OFFSET = 1_000_000_000


@router.get("/facilities")
async def list_facilities(
    deps: QuarantineDeps,
    principal: FacilityReader,
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
) -> list[FacilityRead]:
    """Facilities the caller may see, with occupancy, free beds and low-stock warnings."""
    return await deps.run(
        queries.facilities, scope=queries.facility_scope(principal), province_code=province_code
    )


@router.post("/facilities", status_code=status.HTTP_201_CREATED, responses=errors(409))
async def create_facility(
    deps: QuarantineDeps,
    body: FacilityCreate,
    principal: ProvinceManager,
) -> FacilityRead:
    """A new quarantine site of a border province; its beds go at once to whoever waits there."""
    facility = await deps.run(handlers.add_facility, principal=principal, request=body)
    await deps.run(handlers.place_waiting, province_code=facility.province_code)
    return await deps.run(queries.facility, scope=queries.facility_scope(principal), facility_id=facility.id)


@router.get("/facilities/{facility_id}", responses=errors(404))
async def get_facility(
    deps: QuarantineDeps, facility_id: FacilityPath, principal: FacilityReader
) -> FacilityRead:
    return await deps.run(queries.facility, scope=queries.facility_scope(principal), facility_id=facility_id)


@router.put("/facilities/{facility_id}/supplies/{item}", responses=errors(404))
async def update_supply(
    deps: QuarantineDeps,
    facility_id: FacilityPath,
    item: SupplyItem,
    body: SupplyUpdate,
    principal: FacilityReader,
) -> FacilityRead:
    """Record the stock of one item now on hand (a count, not a delta)."""
    scope = queries.facility_scope(principal)
    await deps.run(handlers.set_supply, facility_id=facility_id, scope=scope, item=item.value, data=body)
    return await deps.run(queries.facility, scope=scope, facility_id=facility_id)


@router.put("/facilities/{facility_id}/capacity", responses=errors(404, 409))
async def update_capacity(
    deps: QuarantineDeps,
    facility_id: FacilityPath,
    body: CapacityUpdate,
    principal: FacilityReader,
) -> FacilityRead:
    """Set the beds a facility has now (not below those occupied); new beds go at once to whoever waits."""
    scope = queries.facility_scope(principal)
    facility = await deps.run(handlers.set_capacity, facility_id=facility_id, scope=scope, data=body)
    await deps.run(handlers.place_waiting, province_code=facility.province_code)
    return await deps.run(queries.facility, scope=scope, facility_id=facility_id)


@router.get("/episodes")
async def list_episodes(
    deps: QuarantineDeps,
    principal: EpisodeReader,
    origin: OriginDep,
    status_: Annotated[EpisodeStatus | None, Query(alias="status")] = None,
    facility_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,40}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[EpisodeRead]:
    """Episodes the caller may see, by status (`referred`: held for health care, not yet cleared)."""
    return await deps.run(
        queries.episodes,
        origin=origin,
        viewer=principal,
        scope=queries.episode_scope(principal),
        status=status_,
        facility_id=facility_id,
        limit=limit,
        offset=offset,
    )


@router.get("/episodes/{episode_id}", responses=errors(404))
async def get_episode(
    deps: QuarantineDeps, episode_id: UUID, principal: EpisodeReader, origin: OriginDep
) -> EpisodeDetail:
    """One episode with its check-in history and missed days."""
    return await deps.run(
        queries.episode_detail,
        origin=origin,
        viewer=principal,
        scope=queries.episode_scope(principal),
        episode_id=episode_id,
    )


@router.get("/returnees/{returnee_id}/episode", responses=errors(404))
async def get_returnee_episode(
    deps: QuarantineDeps, returnee_id: UUID, principal: EpisodeReader, origin: OriginDep
) -> EpisodeDetail:
    """A returnee's episode with its check-in history."""
    return await deps.run(
        queries.episode_detail,
        origin=origin,
        viewer=principal,
        scope=queries.episode_scope(principal),
        returnee_id=returnee_id,
    )


@router.post(
    "/episodes/{episode_id}/checkins", status_code=status.HTTP_201_CREATED, responses=errors(404, 409)
)
async def post_checkin(
    deps: QuarantineDeps,
    episode_id: UUID,
    body: CheckinCreate,
    principal: CheckinTaker,
) -> CheckinRead:
    """Today's check of one returnee; symptoms or fever refer them to health care and hold release."""
    checkin = await deps.run(
        handlers.record_checkin,
        episode_id=episode_id,
        scope=queries.checkin_scope(principal),
        temperature_c=body.temperature_c,
        symptoms=body.symptoms,
        by=principal.subject,
    )
    return CheckinRead.model_validate(checkin, from_attributes=True)


@router.post("/episodes/{episode_id}/clearance", responses=errors(404, 409))
async def post_clearance(
    deps: QuarantineDeps,
    episode_id: UUID,
    principal: Clearer,
) -> EpisodeDetail:
    """Health staff clear a referred returnee; release then waits for a clear check-in."""
    scope = queries.clearance_scope(principal)
    await deps.run(handlers.clear_referral, episode_id=episode_id, scope=scope, by=principal.subject)
    return await deps.run(queries.episode_detail, scope=scope, episode_id=episode_id)


# --- the staff page's settings and words (public: they hold no data) ------------------------------------

page = APIRouter(tags=["staff page"])


@page.get("/quarantine/config.json", dependencies=[public()])
async def page_config(deps: QuarantineDeps, request: Request) -> dict:
    """Where the facility staff's page finds its API and logs in (shared/web/pages.py)."""
    return origin_config(request, deps.settings.identity_url)


@page.get("/quarantine/messages.json", dependencies=[public()])
async def quarantine_page_messages() -> dict:
    """The page's words in Khmer and English (shared/i18n)."""
    return page_messages("quarantine")
