"""Access by geography, as SQL: the rows whose gazetteer code lies in the caller's places."""

from collections.abc import Iterable

from sqlalchemy import ColumnElement, false, or_, true

from shared.web.auth import Principal, Role


def under(column, prefixes: Iterable[str] | None) -> ColumnElement[bool]:
    """`column` (a province, district, commune or village code) lies under one of `prefixes`.

    None is the whole nation; no prefixes at all is nothing.
    """
    if prefixes is None:
        return true()
    conditions = [column.startswith(p, autoescape=True) for p in sorted(prefixes)]
    return or_(*conditions) if conditions else false()


def scoped(column, principal: Principal, *roles: Role) -> ColumnElement[bool]:
    """The rows of `column` the principal sees through `roles` (by default every geographic role)."""
    return under(column, principal.geo_prefixes(*roles))
