"""Use cases of the intake service: each runs in one transaction and enqueues its events in it."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, case, false, func, or_, select, true, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import domain, metrics
from services.intake.models import (
    CorrectionIn,
    DayStats,
    DuplicateHint,
    ExpectedList,
    ExpectedPerson,
    HouseholdOut,
    PersonIn,
    Registration,
    RegistrationIn,
    RegistrationOut,
    RegistrationPage,
    ScreeningIn,
)
from services.intake.settings import Settings
from shared.audit import record_access, record_accesses
from shared.contracts.intake import (
    QuarantinePolicy,
    ReturneeCorrected,
    ReturneeReferred,
    ReturneeRegistered,
    Screening,
)
from shared.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from shared.geo.gazetteer import load_gazetteer
from shared.unit_of_work import UnitOfWork
from shared.web.auth import Principal, Role

Uow = UnitOfWork[Settings]

# One answer for every taken id, one's own checkpoint's or another's: no telling which, or whose.
ID_TAKEN = "a registration id in this request is already used for another registration"


# --- registration ---------------------------------------------------------------------------------------


async def register(uow: Uow, *, principal: Principal, request: RegistrationIn) -> tuple[HouseholdOut, bool]:
    """Register a returnee (and the household members given with them); returns (record, created).

    A request re-sent with the same id returns the stored record and enqueues nothing.
    """
    [answer] = await register_many(uow, principal=principal, requests=[request])
    if isinstance(answer, DomainError):
        raise answer
    return answer


@dataclass
class _Household:
    """A request checked and turned into rows, waiting for the batch's statements."""

    index: int
    request: RegistrationIn
    digest: str
    rows: list[Registration]


Answer = tuple[HouseholdOut, bool] | DomainError


async def register_many(
    uow: Uow, *, principal: Principal, requests: list[RegistrationIn], correlate_households: bool = False
) -> list[Answer]:
    """Register many households in one transaction, with a few statements for all of them (an import's
    batch, a tablet's queue): each answer is what `register` returns for its request, or the error it
    raises. A refused household writes nothing; the others are registered as if one after the other.
    With `correlate_households`, each household's events carry its id as their correlation id, as when
    the tablet sent it alone."""
    answers: list[Answer | None] = [None] * len(requests)
    checked = []
    for index, request in enumerate(requests):
        try:
            checked.append(_prepare(uow, principal, request, index))
        except DomainError as exc:
            answers[index] = exc
    new, repeated = await _new_households(uow.session, checked, answers)
    new = await _expected_ones(uow.session, new, answers)
    if new:
        await _hint_duplicates(uow.session, new)
        try:
            async with uow.session.begin_nested():
                uow.session.add_all([row for h in new for row in h.rows])
        except IntegrityError:
            # Another request with one of these ids committed first: each household answers alone.
            if len(new) == 1:
                [h] = new
                answers[h.index] = await _resent(uow.session, h)
            else:
                for h in new:
                    [answers[h.index]] = await register_many(
                        uow,
                        principal=principal,
                        requests=[h.request],
                        correlate_households=correlate_households,
                    )
            new = []
    rows = [row for h in new for row in h.rows]
    # The people of expected lists these registrations confirmed; only if still unconfirmed, since another
    # tablet may have confirmed the same person since they were checked (its commit makes this one fail).
    for h in new:
        if h.request.expected_id:
            confirmed = await uow.session.execute(
                update(ExpectedPerson)
                .where(ExpectedPerson.id == h.request.expected_id, ExpectedPerson.returnee_id.is_(None))
                .values(returnee_id=h.rows[0].id, arrived_at=h.rows[0].arrived_at)
                .execution_options(synchronize_session=False)
            )
            if confirmed.rowcount != 1:
                raise Conflict("expected_id: confirmed meanwhile as another registration")
    correlation = [str(h.request.id) for h in new for _ in h.rows] if correlate_households else None
    await uow.emit_many([_snapshot(ReturneeRegistered, row) for row in rows], correlation_ids=correlation)
    for row in rows:
        await _refer_if_positive(uow, row)
    await record_accesses(
        uow, principal=principal, action="register", object_type="returnee", object_ids=[r.id for r in rows]
    )
    # Labels are the checkpoint and policy only, never the person.
    counts = Counter((h.request.checkpoint_id, h.rows[0].policy) for h in new for _ in h.rows)
    uow.on_commit(lambda: [metrics.REGISTRATIONS.labels(*k).inc(n) for k, n in counts.items()])
    for h in new:
        answers[h.index] = (_household_out(h.rows), True)
    for h, first in repeated:
        answers[h.index] = (_household_out(first.rows), False)
    return answers


def _prepare(uow: Uow, principal: Principal, request: RegistrationIn, index: int) -> _Household:
    if request.checkpoint_id not in principal.scopes(Role.checkpoint_officer):
        raise Forbidden("checkpoint_id: not one of your checkpoints")
    if load_gazetteer().checkpoint(request.checkpoint_id) is None:
        raise Invalid(("body", "checkpoint_id"), "unknown checkpoint")
    settings = uow.settings
    now = uow.now()
    arrived_at = request.arrived_at or now
    domain.check_arrival(
        arrived_at=arrived_at,
        now=now,
        skew=timedelta(minutes=settings.clock_skew_minutes),
        max_age=timedelta(days=settings.max_offline_days),
    )
    digest = domain.fingerprint(request.model_dump(mode="json"))
    day = domain.cambodia_day(arrived_at)
    policy = _policy(settings, request.checkpoint_id, day)
    household_id = request.id if request.members else None
    people: list[tuple[UUID, PersonIn, tuple]] = [(request.id, request, ("body",))]
    people += [(m.id, m, ("body", "members", i)) for i, m in enumerate(request.members)]
    _check_distinct_ids(people)
    rows = [
        _new_row(
            returnee_id,
            person,
            loc=loc,
            request=request,
            arrived_at=arrived_at,
            day=day,
            policy=policy,
            household_id=household_id,
            officer=principal.subject,
            now=now,
            digest=digest,
        )
        for returnee_id, person, loc in people
    ]
    return _Household(index, request, digest, rows)


async def _new_households(
    session: AsyncSession, checked: list[_Household], answers: list
) -> tuple[list[_Household], list[tuple[_Household, _Household]]]:
    """The households to write: a re-sent one gets its stored record, an id already taken a Conflict, and
    one sent twice in the batch the first's record (returned as (household, first) pairs)."""
    ids = [row.id for h in checked for row in h.rows]
    stored = (
        set(await session.scalars(select(Registration.id).where(Registration.id.in_(ids)))) if ids else set()
    )
    new, repeated, seen = [], [], {}
    for h in checked:
        own = [row.id for row in h.rows]
        first = seen.get(own[0])
        if first is not None and first.digest == h.digest and first.rows[0].id == own[0]:
            repeated.append((h, first))
        elif own[0] in stored:
            answers[h.index] = await _resent(session, h)
        elif any(i in stored or i in seen for i in own):
            answers[h.index] = Conflict(ID_TAKEN)
        else:
            seen.update(dict.fromkeys(own, h))
            new.append(h)
    return new, repeated


async def _expected_ones(session: AsyncSession, new: list[_Household], answers: list) -> list[_Household]:
    """Refuse a household that claims a person of an expected list who is another checkpoint's, unknown, or
    already confirmed as someone else."""
    wanted = {h.request.expected_id for h in new if h.request.expected_id}
    if not wanted:
        return new
    query = (
        select(ExpectedPerson.id, ExpectedPerson.returnee_id, ExpectedList.checkpoint_id)
        .join(ExpectedList, ExpectedList.id == ExpectedPerson.list_id)
        .where(ExpectedPerson.id.in_(wanted))
    )
    known = {eid: (returnee, checkpoint) for eid, returnee, checkpoint in await session.execute(query)}
    kept, claimed = [], set()
    for h in new:
        eid = h.request.expected_id
        if eid is not None:
            returnee, checkpoint = known.get(eid, (None, None))
            if checkpoint != h.request.checkpoint_id or returnee is not None or eid in claimed:
                answers[h.index] = Invalid(
                    ("body", "expected_id"), "not a person this checkpoint still expects"
                )
                continue
            claimed.add(eid)
        kept.append(h)
    return kept


async def _resent(session: AsyncSession, h: _Household) -> Answer:
    try:
        existing = await _stored_household(session, h.request, h.digest)
    except DomainError as exc:
        return exc
    return (existing, False) if existing is not None else Conflict(ID_TAKEN)


def _household_out(rows: list[Registration]) -> HouseholdOut:
    head, *members = (to_out(r) for r in rows)
    return HouseholdOut(**head.model_dump(), members=members)


def _check_distinct_ids(people: list[tuple[UUID, PersonIn, tuple]]) -> None:
    seen: set[UUID] = set()
    for returnee_id, _person, loc in people:
        if returnee_id in seen:
            raise Invalid((*loc, "id"), "the same id is used twice in this household")
        seen.add(returnee_id)


def _policy(settings: Settings, checkpoint_id: str, day: date) -> QuarantinePolicy:
    rules = [domain.Rule(r.checkpoint_id, r.policy, r.starts_on, r.ends_on) for r in settings.policy_rules]
    return domain.policy_for(rules, settings.default_policy, checkpoint_id=checkpoint_id, day=day)


def _new_row(
    returnee_id: UUID,
    person: PersonIn,
    *,
    loc: tuple,
    request: RegistrationIn,
    arrived_at: datetime,
    day: date,
    policy: QuarantinePolicy,
    household_id: UUID | None,
    officer: str,
    now: datetime,
    digest: str,
) -> Registration:
    age = domain.resolve_age(birth=person.date_of_birth, age_years=person.age_years, today=day, loc=loc)
    domain.check_id_document(doc_type=person.id_doc_type, number=person.id_doc_number, loc=loc)
    return Registration(
        id=returnee_id,
        household_id=household_id,
        checkpoint_id=request.checkpoint_id,
        arrived_at=arrived_at,
        arrival_day=day,
        registered_at=now,
        updated_at=now,
        officer=officer,
        name_km=person.name_km,
        name_latin=person.name_latin,
        sex=person.sex.value,
        date_of_birth=person.date_of_birth,
        age_years=age,
        phone=person.phone,
        id_doc_type=person.id_doc_type.value,
        id_doc_number=person.id_doc_number,
        home_village_code=request.home_village_code,
        worked_in=person.worked_in,
        migration_status=person.migration_status.value if person.migration_status else None,
        temperature_c=person.screening.temperature_c,
        symptoms=[s.value for s in person.screening.symptoms],
        test_result=person.screening.test_result,
        special_care=domain.care_flags(person.special_care, age),
        needs=[n.value for n in person.needs],
        consent=person.consent,
        policy=policy.value,
        payload_hash=digest,
        # Given, not defaulted: pydantic inspects a default factory's signature at every construction.
        possible_duplicates=[],
    )


async def _stored_household(
    session: AsyncSession, request: RegistrationIn, digest: str
) -> HouseholdOut | None:
    """The stored registration with this request's id (and its members, in the request's order), if the
    same request made it."""
    head = await session.get(Registration, request.id)
    if head is None:
        return None
    # Another checkpoint's id gets the answer one's own does, and it says nothing of the record.
    if head.payload_hash != digest:
        raise Conflict(ID_TAKEN)
    members = []
    if head.household_id is not None:
        household = select(Registration).where(
            Registration.household_id == head.household_id, Registration.id != head.id
        )
        rows = await session.scalars(household)
        # The same digest means the same members: answer them as they were sent.
        order = {m.id: i for i, m in enumerate(request.members)}
        members = sorted(rows.all(), key=lambda r: order.get(r.id, len(order)))
    return HouseholdOut(**to_out(head).model_dump(), members=[to_out(m) for m in members])


async def _hint_duplicates(session: AsyncSession, households: list["_Household"]) -> None:
    """Earlier registrations that may be the same person (same ID document, or name + birth + village),
    found for the whole batch with one query; a household earlier in the batch counts as earlier."""
    rows = [row for h in households for row in h.rows]
    docs = {(r.id_doc_type, r.id_doc_number) for r in rows if r.id_doc_number}
    births = {(r.home_village_code, r.date_of_birth) for r in rows if r.date_of_birth}
    wanted = []
    if docs:
        wanted.append(tuple_(Registration.id_doc_type, Registration.id_doc_number).in_(docs))
    if births:
        wanted.append(tuple_(Registration.home_village_code, Registration.date_of_birth).in_(births))
    columns = (Registration.id, Registration.id_doc_type, Registration.id_doc_number)
    columns += (Registration.home_village_code, Registration.date_of_birth)
    columns += (Registration.name_latin, Registration.name_km)
    found = list(await session.execute(select(*columns).where(or_(*wanted)))) if wanted else []
    by_doc, by_birth = defaultdict(list), defaultdict(list)

    def remember(other) -> None:
        if other.id_doc_number:
            by_doc[other.id_doc_type, other.id_doc_number].append(other)
        if other.date_of_birth:
            by_birth[other.home_village_code, other.date_of_birth].append(other)

    for other in found:
        remember(other)
    for h in households:
        own = {row.id for row in h.rows}
        for row in h.rows:
            # One reason per earlier record: its ID document if that is the same, else name + birth + village.
            same_doc = set()
            if row.id_doc_number:
                same_doc = {o.id for o in by_doc[row.id_doc_type, row.id_doc_number] if o.id not in own}
            latin, km = row.name_latin.lower(), row.name_km
            same_person = row.date_of_birth and any(
                o.id not in own
                and o.id not in same_doc
                and (o.name_latin.lower() == latin or o.name_km == km)
                for o in by_birth[row.home_village_code, row.date_of_birth]
            )
            reasons = {"same_id_document"} if same_doc else set()
            if same_person:
                reasons.add("same_name_birth_village")
            # The earlier record may be another area's, and this one is read by other areas than that
            # one's: the hint names the reason only, and the working group looks it up.
            row.possible_duplicates = [
                DuplicateHint(reason=r).model_dump(mode="json") for r in sorted(reasons)
            ]
        for row in h.rows:
            remember(row)


def _snapshot(cls, row: Registration):
    return cls(
        returnee_id=row.id,
        household_id=row.household_id,
        checkpoint_id=row.checkpoint_id,
        arrived_at=row.arrived_at,
        home_village_code=row.home_village_code,
        name_km=row.name_km,
        name_latin=row.name_latin,
        sex=row.sex,
        age_years=row.age_years,
        phone=row.phone,
        special_care=row.special_care,
        screening=Screening(
            temperature_c=row.temperature_c, symptoms=row.symptoms, test_result=row.test_result
        ),
        policy=row.policy,
    )


async def _refer_if_positive(uow: Uow, row: Registration) -> None:
    """A positive screening refers the returnee to health care, once."""
    reasons = domain.referral_reasons(
        temperature_c=row.temperature_c, symptoms=row.symptoms, test_result=row.test_result
    )
    if not reasons or row.referred:
        return
    row.referred = True
    referral = ReturneeReferred(
        returnee_id=row.id,
        checkpoint_id=row.checkpoint_id,
        home_village_code=row.home_village_code,
        reason=",".join(reasons),
        referred_at=uow.now(),
    )
    await uow.emit(referral)


# --- correction -----------------------------------------------------------------------------------------


async def correct(
    uow: Uow, *, principal: Principal, returnee_id: UUID, request: CorrectionIn
) -> RegistrationOut:
    """Correct a registration of the officer's checkpoint; a change enqueues `returnee.corrected`."""
    changes = request.model_dump(exclude_unset=True, exclude={"expected_version"})
    row = (
        await uow.session.scalars(
            select(Registration).where(Registration.id == returnee_id, _writable(principal)).with_for_update()
        )
    ).one_or_none()
    if row is None:
        raise NotFound("registration not found")
    if request.expected_version is not None and request.expected_version != row.version:
        raise Conflict("the registration was changed since it was read")
    await _audit(uow, principal, "correct", row.id)
    before = to_out(row).model_dump()
    _apply(row, changes, request)
    if to_out(row).model_dump() == before:
        return to_out(row)
    row.version += 1
    row.updated_at = uow.now()
    await uow.emit(_snapshot(ReturneeCorrected, row))
    await _refer_if_positive(uow, row)
    return to_out(row)


_REQUIRED = ("name_km", "name_latin", "sex", "home_village_code", "id_doc_type")


def _apply(row: Registration, changes: dict, request: CorrectionIn) -> None:
    loc = ("body",)
    for name in _REQUIRED:
        if name in changes and changes[name] is None:
            raise Invalid((*loc, name), "this field cannot be removed")
    old_age_flags = set(domain.care_flags([], row.age_years))
    for name in ("name_km", "name_latin", "phone", "id_doc_number", "home_village_code", "worked_in"):
        if name in changes:
            setattr(row, name, getattr(request, name))
    for name in ("sex", "id_doc_type", "migration_status"):
        if name in changes:
            value = getattr(request, name)
            setattr(row, name, value.value if value is not None else None)
    if "date_of_birth" in changes or "age_years" in changes:
        birth = request.date_of_birth if "date_of_birth" in changes else row.date_of_birth
        given = request.age_years if "age_years" in changes else None
        row.age_years = domain.resolve_age(birth=birth, age_years=given, today=row.arrival_day, loc=loc)
        row.date_of_birth = birth
    domain.check_id_document(doc_type=row.id_doc_type, number=row.id_doc_number, loc=loc)
    if request.screening is not None:
        row.temperature_c = request.screening.temperature_c
        row.symptoms = [s.value for s in request.screening.symptoms]
        row.test_result = request.screening.test_result
    if request.needs is not None:
        row.needs = [n.value for n in request.needs]
    officer_flags = (
        [f.value for f in request.special_care]
        if request.special_care is not None
        else [f for f in row.special_care if f not in old_age_flags]
    )
    row.special_care = domain.care_flags(officer_flags, row.age_years)


# --- reads ----------------------------------------------------------------------------------------------


def _visible(principal: Principal) -> ColumnElement[bool]:
    """What a caller may read: their checkpoints, or their province's checkpoints and home villages."""
    if principal.is_national:
        return true()
    conditions = []
    checkpoints = principal.scopes(Role.checkpoint_officer)
    if checkpoints:
        conditions.append(Registration.checkpoint_id.in_(checkpoints))
    provinces = principal.scopes(Role.provincial_wg)
    if provinces:
        in_province = [c.id for c in load_gazetteer().checkpoints() if c.province_code in provinces]
        conditions.append(Registration.checkpoint_id.in_(in_province))
        conditions += [Registration.home_village_code.startswith(p) for p in provinces]
    return or_(*conditions) if conditions else false()


def _writable(principal: Principal) -> ColumnElement[bool]:
    checkpoints = principal.scopes(Role.checkpoint_officer)
    return Registration.checkpoint_id.in_(checkpoints) if checkpoints else false()


async def get(uow: Uow, *, principal: Principal, returnee_id: UUID) -> RegistrationOut:
    row = (
        await uow.session.scalars(
            select(Registration).where(Registration.id == returnee_id, _visible(principal))
        )
    ).one_or_none()
    if row is None:
        raise NotFound("registration not found")
    await _audit(uow, principal, "read", row.id)
    return to_out(row)


async def _audit(uow: Uow, principal: Principal, action: str, returnee_id: UUID) -> None:
    """The access goes into the audit trail in the use case's own transaction: no extra commit."""
    await record_access(
        uow, principal=principal, action=action, object_type="returnee", object_id=returnee_id
    )


async def search(
    uow: Uow,
    *,
    principal: Principal,
    text: str | None,
    checkpoint_id: str | None,
    day: date | None,
    limit: int,
    offset: int,
) -> RegistrationPage:
    """Registrations the caller may see, newest first, matching a name, phone or document number."""
    where = [_visible(principal)]
    if checkpoint_id:
        where.append(Registration.checkpoint_id == checkpoint_id)
    if day:
        where.append(Registration.arrival_day == day)
    if text:
        needle = text.strip().lower()
        where.append(
            or_(
                func.lower(Registration.name_latin).contains(needle, autoescape=True),
                Registration.name_km.contains(text.strip(), autoescape=True),
                Registration.phone.contains(_phone_digits(needle) or needle, autoescape=True),
                Registration.id_doc_number.contains(needle.upper(), autoescape=True),
            )
        )
    session = uow.session
    total = (await session.execute(select(func.count()).select_from(Registration).where(*where))).scalar_one()
    rows = (
        await session.scalars(
            select(Registration)
            .where(*where)
            .order_by(Registration.arrived_at.desc(), Registration.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    await record_accesses(
        uow, principal=principal, action="list", object_type="returnee", object_ids=[r.id for r in rows]
    )
    return RegistrationPage(total=total, items=[to_out(r) for r in rows])


async def stats(
    uow: Uow, *, principal: Principal, since: date, until: date, checkpoint_id: str | None
) -> list[DayStats]:
    """Counts per checkpoint and arrival day, over the registrations the caller may see."""
    where = [_visible(principal), Registration.arrival_day >= since, Registration.arrival_day <= until]
    if checkpoint_id:
        where.append(Registration.checkpoint_id == checkpoint_id)

    def count_if(condition) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    group = (Registration.checkpoint_id, Registration.arrival_day)
    totals = (
        select(
            *group,
            func.count().label("total"),
            count_if(Registration.sex == "F").label("female"),
            count_if(Registration.sex == "M").label("male"),
            count_if(Registration.sex == "X").label("other"),
            count_if(Registration.referred).label("referred"),
            func.count(func.distinct(Registration.household_id)).label("households"),
            count_if(Registration.policy == "border").label("border"),
            count_if(Registration.policy == "home").label("home"),
        )
        .where(*where)
        .group_by(*group)
        .order_by(*group)
    )
    rows = (await uow.session.execute(totals)).all()
    # Flags are JSON lists, counted here rather than with each database's JSON functions.
    flags = (
        await uow.session.execute(select(*group, Registration.special_care, Registration.needs).where(*where))
    ).all()
    care: dict[tuple, Counter] = defaultdict(Counter)
    needs: dict[tuple, Counter] = defaultdict(Counter)
    for cp, day, special_care, wanted in flags:
        care[(cp, day)].update(special_care)
        needs[(cp, day)].update(wanted)
    return [
        DayStats(
            checkpoint_id=r.checkpoint_id,
            day=r.arrival_day,
            total=r.total,
            female=r.female,
            male=r.male,
            other=r.other,
            referred=r.referred,
            households=r.households,
            policy={"border": r.border, "home": r.home},
            special_care=dict(care[(r.checkpoint_id, r.arrival_day)]),
            needs=dict(needs[(r.checkpoint_id, r.arrival_day)]),
        )
        for r in rows
    ]


def _phone_digits(text: str) -> str:
    """Digits of a typed phone number without its trunk 0, to match the stored +855... form."""
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits[1:] if digits.startswith("0") else digits


def to_out(row: Registration) -> RegistrationOut:
    data = row.model_dump()
    data["screening"] = ScreeningIn(
        temperature_c=row.temperature_c, symptoms=row.symptoms, test_result=row.test_result
    )
    return RegistrationOut.model_validate(data)
