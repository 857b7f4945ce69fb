"""Organisations, their groups and priorities, and their monthly credit quotas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, bindparam, delete, insert, select, update

from qstation import errors
from qstation.model import DEFAULT_GROUP, CreditKind, CreditQuota, Group
from qstation.scheduling.policy import DEFAULT_PRIORITY
from qstation.store.charges import holder, quota_key, spent
from qstation.store.database import Database, PreparedRead
from qstation.store.records import group_record
from qstation.store.schema import credit_quotas, group_members, organisations, user_groups, users


class OrganisationRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    def create(self, name: str, now: datetime) -> None:
        """A new organisation, with its DEFAULT group."""
        exists = errors.AccountExists(f"The organisation {name} exists already.")
        with self._db.write(conflict=exists) as conn:
            conn.execute(insert(organisations).values(name=name, created_at=now))
            conn.execute(
                insert(user_groups).values(
                    organisation=name, name=DEFAULT_GROUP, priority=DEFAULT_PRIORITY
                )
            )

    def names(self) -> list[str]:
        with self._db.read() as conn:
            return list(conn.scalars(select(organisations.c.name).order_by(organisations.c.name)))

    def create_group(self, group: Group) -> None:
        """A new group of an existing organisation."""
        exists = errors.AccountExists(
            f"The organisation {group.organisation} has a group {group.name} already."
        )
        with self._db.write(conflict=exists) as conn:
            _require_organisation(conn, group.organisation)
            conn.execute(
                insert(user_groups).values(
                    organisation=group.organisation, name=group.name, priority=group.priority
                )
            )

    def set_group_priority(self, organisation: str, name: str, priority: int) -> None:
        with self._db.write() as conn:
            changed = conn.execute(
                update(user_groups).where(_is_group(organisation, name)).values(priority=priority)
            ).rowcount
        if not changed:
            raise _no_group(organisation, name)

    def get_group(self, organisation: str, name: str) -> Group | None:
        with self._db.read() as conn:
            row = conn.execute(select(user_groups).where(_is_group(organisation, name))).first()
        return None if row is None else group_record(row)

    def groups(self) -> list[Group]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(user_groups).order_by(user_groups.c.organisation, user_groups.c.name)
            ).all()
        return [group_record(row) for row in rows]

    # --- membership ----------------------------------------------------------------------

    def add_member(self, organisation: str, group: str, user_id: str) -> None:
        """Let the user submit under the group (a no-op if they may already)."""
        with self._db.write() as conn:
            if not _group_exists(conn, organisation, group):
                raise _no_group(organisation, group)
            add_membership(self._db, conn, organisation, group, user_id)

    def remove_member(self, organisation: str, group: str, user_id: str) -> bool:
        """False if the user was not a member."""
        with self._db.write() as conn:
            removed = conn.execute(
                delete(group_members).where(
                    group_members.c.organisation == organisation,
                    group_members.c.group_name == group,
                    group_members.c.user_id == user_id,
                )
            )
        return removed.rowcount == 1

    def is_member(self, organisation: str, group: str, user_id: str) -> bool:
        rows = self._db.read_rows(
            _MEMBERSHIP, {"organisation": organisation, "group_name": group, "user_id": user_id}
        )
        return bool(rows)

    def members(self, organisation: str, group: str) -> list[str]:
        """The emails of the group's members."""
        with self._db.read() as conn:
            return list(
                conn.scalars(
                    select(users.c.email)
                    .join(group_members, group_members.c.user_id == users.c.id)
                    .where(
                        group_members.c.organisation == organisation,
                        group_members.c.group_name == group,
                    )
                    .order_by(users.c.email)
                )
            )

    # --- monthly credit quotas ------------------------------------------------------------

    def set_quota(self, quota: CreditQuota) -> None:
        """Set (or replace) a monthly quota; its organisation and group must exist."""
        with self._db.write() as conn:
            _require_organisation(conn, quota.organisation)
            if quota.group is not None and not _group_exists(conn, quota.organisation, quota.group):
                raise _no_group(quota.organisation, quota.group)
            conn.execute(delete(credit_quotas).where(quota_key(*_key_of(quota))))
            conn.execute(
                insert(credit_quotas).values(
                    organisation=quota.organisation,
                    group_name=quota.group or "",
                    kind=quota.kind,
                    credits=quota.credits,
                )
            )

    def remove_quota(self, organisation: str, group: str | None, kind: CreditKind) -> None:
        with self._db.write() as conn:
            removed = conn.execute(
                delete(credit_quotas).where(quota_key(organisation, group, kind))
            ).rowcount
        if not removed:
            raise errors.AccountNotFound(f"No {kind} quota for {holder(organisation, group)}.")

    def quotas(self) -> list[CreditQuota]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(credit_quotas).order_by(
                    credit_quotas.c.organisation, credit_quotas.c.group_name, credit_quotas.c.kind
                )
            ).all()
        return [
            CreditQuota(row.organisation, CreditKind(row.kind), row.credits, row.group_name or None)
            for row in rows
        ]

    def spent_this_month(
        self, organisation: str, group: str | None, kind: CreditKind, now: datetime
    ) -> float:
        """HQCs charged to the organisation (or group) for ``kind`` since the month began."""
        with self._db.read() as conn:
            return spent(conn, organisation, group, kind, now)


def add_membership(
    database: Database, conn: Connection, organisation: str, group: str, user_id: str
) -> None:
    conn.execute(
        database.insert(group_members)
        .values(organisation=organisation, group_name=group, user_id=user_id)
        .on_conflict_do_nothing()
    )


_MEMBERSHIP = PreparedRead(
    select(group_members.c.user_id).where(
        group_members.c.organisation == bindparam("organisation"),
        group_members.c.group_name == bindparam("group_name"),
        group_members.c.user_id == bindparam("user_id"),
    )
)


def _key_of(quota: CreditQuota) -> tuple[str, str | None, CreditKind]:
    return quota.organisation, quota.group, quota.kind


def _is_group(organisation: str, name: str) -> ColumnElement[bool]:
    return and_(user_groups.c.organisation == organisation, user_groups.c.name == name)


def _group_exists(conn: Connection, organisation: str, name: str) -> bool:
    return conn.scalar(select(user_groups.c.name).where(_is_group(organisation, name))) is not None


def _require_organisation(conn: Connection, organisation: str) -> None:
    found = conn.scalar(select(organisations.c.name).where(organisations.c.name == organisation))
    if found is None:
        raise errors.AccountNotFound(f"No organisation {organisation}.")


def _no_group(organisation: str, name: str) -> errors.AccountNotFound:
    return errors.AccountNotFound(f"The organisation {organisation} has no group {name}.")
