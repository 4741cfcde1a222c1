"""HTTP API of the quarantine service: facilities, episodes, check-ins and clearances."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Query, status

from services.quarantine import handlers, queries
from services.quarantine.models import (
    CheckinCreate,
    CheckinRead,
    EpisodeDetail,
    EpisodeRead,
    Facility,
    FacilityCreate,
    FacilityRead,
    SupplyItem,
    SupplyUpdate,
)
from shared.api_errors import errors
from shared.auth import Principal, Role, require
from shared.service import RuntimeDep

router = APIRouter(tags=["quarantine"])

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


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{what} not found")


@router.get("/facilities")
async def list_facilities(
    rt: RuntimeDep,
    principal: FacilityReader,
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
) -> list[FacilityRead]:
    """Facilities the caller may see, with occupancy, free beds and low-stock warnings."""
    return await queries.facilities(rt, scope=queries.facility_scope(principal), province_code=province_code)


@router.post("/facilities", status_code=status.HTTP_201_CREATED, responses=errors(409))
async def create_facility(
    rt: RuntimeDep,
    body: FacilityCreate,
    principal: ProvinceManager,
) -> FacilityRead:
    """A new quarantine site of a border province; its beds go at once to whoever waits there."""
    if not principal.is_national and body.province_code not in principal.scopes(Role.provincial_wg):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="province_code: not your province")
    facility = Facility(**body.model_dump(mode="json"), occupancy=0)
    try:
        await handlers.add_facility(rt, facility)
    except handlers.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"id: {exc}") from exc
    (read,) = await queries.facilities(rt, scope=queries.facility_scope(principal), facility_id=facility.id)
    return read


@router.get("/facilities/{facility_id}", responses=errors(404))
async def get_facility(rt: RuntimeDep, facility_id: FacilityPath, principal: FacilityReader) -> FacilityRead:
    found = await queries.facilities(rt, scope=queries.facility_scope(principal), facility_id=facility_id)
    if not found:
        raise _not_found("facility")
    return found[0]


@router.put("/facilities/{facility_id}/supplies/{item}", responses=errors(404))
async def update_supply(
    rt: RuntimeDep,
    facility_id: FacilityPath,
    item: SupplyItem,
    body: SupplyUpdate,
    principal: FacilityReader,
) -> FacilityRead:
    """Record the stock of one item now on hand (a count, not a delta)."""
    scope = queries.facility_scope(principal)
    try:
        await handlers.set_supply(rt, facility_id=facility_id, scope=scope, item=item.value, data=body)
    except handlers.NotFound as exc:
        raise _not_found("facility") from exc
    (read,) = await queries.facilities(rt, scope=scope, facility_id=facility_id)
    return read


@router.get("/episodes")
async def list_episodes(
    rt: RuntimeDep,
    principal: EpisodeReader,
    status_: Annotated[EpisodeStatus | None, Query(alias="status")] = None,
    facility_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,40}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[EpisodeRead]:
    """Episodes the caller may see, by status (`referred`: held for health care, not yet cleared)."""
    return await queries.episodes(
        rt,
        scope=queries.episode_scope(principal),
        status=status_,
        facility_id=facility_id,
        limit=limit,
        offset=offset,
    )


@router.get("/episodes/{episode_id}", responses=errors(404))
async def get_episode(rt: RuntimeDep, episode_id: UUID, principal: EpisodeReader) -> EpisodeDetail:
    """One episode with its check-in history and missed days."""
    found = await queries.episode_detail(rt, scope=queries.episode_scope(principal), episode_id=episode_id)
    if found is None:
        raise _not_found("episode")
    return found


@router.get("/returnees/{returnee_id}/episode", responses=errors(404))
async def get_returnee_episode(rt: RuntimeDep, returnee_id: UUID, principal: EpisodeReader) -> EpisodeDetail:
    """A returnee's episode with its check-in history."""
    found = await queries.episode_detail(rt, scope=queries.episode_scope(principal), returnee_id=returnee_id)
    if found is None:
        raise _not_found("episode")
    return found


@router.post(
    "/episodes/{episode_id}/checkins", status_code=status.HTTP_201_CREATED, responses=errors(404, 409)
)
async def post_checkin(
    rt: RuntimeDep,
    episode_id: UUID,
    body: CheckinCreate,
    principal: CheckinTaker,
) -> CheckinRead:
    """Today's check of one returnee; symptoms or fever refer them to health care and hold release."""
    try:
        checkin = await handlers.record_checkin(
            rt,
            episode_id=episode_id,
            scope=queries.checkin_scope(principal),
            temperature_c=body.temperature_c,
            symptoms=body.symptoms,
            by=principal.subject,
        )
    except handlers.NotFound as exc:
        raise _not_found("episode") from exc
    except handlers.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"episode_id: {exc}") from exc
    return CheckinRead.model_validate(checkin, from_attributes=True)


@router.post("/episodes/{episode_id}/clearance", responses=errors(404, 409))
async def post_clearance(
    rt: RuntimeDep,
    episode_id: UUID,
    principal: Clearer,
) -> EpisodeDetail:
    """Health staff clear a referred returnee; release then waits for a clear check-in."""
    scope = queries.clearance_scope(principal)
    try:
        await handlers.clear_referral(rt, episode_id=episode_id, scope=scope, by=principal.subject)
    except handlers.NotFound as exc:
        raise _not_found("episode") from exc
    except handlers.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"episode_id: {exc}") from exc
    found = await queries.episode_detail(rt, scope=scope, episode_id=episode_id)
    assert found is not None
    return found
