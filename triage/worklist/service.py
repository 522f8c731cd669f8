"""``WorklistService``: the worklist for the CLI and the TUI, without SQL.

One database session per call (one transaction per action); writes take the SQLite
writer lock first (a no-op on PostgreSQL, which decides races by compare-and-set).
Every method returns plain values (``views``) and raises ``WorklistError`` subclasses
with messages fit for a user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from triage.db.engine import write_lock, writer
from triage.db.models import ItemOutcome, ItemState
from triage.settings import Settings
from triage.worklist import queries, transitions
from triage.worklist.errors import InvalidRequestError
from triage.worklist.queries import ItemFilter
from triage.worklist.roster import Roster
from triage.worklist.routing import current_roster, open_counts, route_pool_item
from triage.worklist.shifts import on_shift
from triage.worklist.views import ItemDetail, ItemPage, ItemSummary, PageCursor, RadiologistLoad

Clock = Callable[[], datetime]
MAX_USER_LENGTH = 64  # the longest radiologist id; audit actors hold 128


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WorklistService:
    def __init__(self, engine: Engine, settings: Settings, clock: Clock | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.clock: Clock = clock or _utc_now

    # reading
    def page(
        self,
        filters: ItemFilter | None = None,
        *,
        after: PageCursor | None = None,
        before: PageCursor | None = None,
        limit: int = 50,
    ) -> ItemPage:
        """One page of the worklist in its order (``queries.list_items``)."""
        with Session(self.engine) as session:
            return queries.list_items(
                session,
                filters=filters or ItemFilter(),
                now=self.clock(),
                after=after,
                before=before,
                limit=limit,
            )

    def iter_items(
        self, filters: ItemFilter | None = None, *, page_size: int = 500
    ) -> Iterator[ItemSummary]:
        """Every matching item, fetched page by page (never all at once)."""
        cursor: PageCursor | None = None
        while True:
            page = self.page(filters, after=cursor, limit=page_size)
            yield from page.items
            if page.next_after is None:
                return
            cursor = page.next_after

    def count(self, filters: ItemFilter | None = None) -> int:
        with Session(self.engine) as session:
            return queries.count_items(session, filters=filters or ItemFilter(), now=self.clock())

    def item(self, item_id: int) -> ItemSummary:
        with Session(self.engine) as session:
            return queries.get_summary(session, item_id=item_id)

    def detail(self, item_id: int) -> ItemDetail:
        """The item, its findings with evidence, and its audit history."""
        with Session(self.engine) as session:
            return queries.get_detail(session, item_id=item_id)

    def roster(self) -> Roster:
        return current_roster(self.settings)

    def workload(self) -> list[RadiologistLoad]:
        """Every radiologist on the roster with their open items and whether they are
        on shift now (e.g. to pick whom to reassign to)."""
        roster = self.roster()
        now = self.clock()
        with Session(self.engine) as session:
            counts = open_counts(session)
        return [
            RadiologistLoad(
                id=person.id,
                name=person.name,
                active=person.active,
                on_shift=on_shift(person, now, self.settings.site_timezone),
                open_items=counts.get(person.id, 0),
                max_open_items=person.max_open_items,
                subspecialties=tuple(person.subspecialties),
            )
            for person in roster.radiologists
        ]

    # actions: each one transaction, returning the item as it is after the action
    def claim(
        self,
        item_id: int,
        *,
        user: str,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> ItemSummary:
        with self._action(user) as (session, now):
            transitions.claim(
                session,
                item_id=item_id,
                actor=user,
                now=now,
                settings=self.settings,
                note=note,
                expected_version=expected_version,
            )
            return queries.get_summary(session, item_id=item_id)

    def start_review(
        self,
        item_id: int,
        *,
        user: str,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> ItemSummary:
        with self._action(user) as (session, now):
            transitions.start_review(
                session,
                item_id=item_id,
                actor=user,
                now=now,
                note=note,
                expected_version=expected_version,
            )
            return queries.get_summary(session, item_id=item_id)

    def close(
        self,
        item_id: int,
        *,
        user: str,
        outcome: str | ItemOutcome | None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> ItemSummary:
        with self._action(user) as (session, now):
            transitions.close(
                session,
                item_id=item_id,
                actor=user,
                now=now,
                outcome=outcome,
                note=note,
                expected_version=expected_version,
            )
            return queries.get_summary(session, item_id=item_id)

    def release(
        self,
        item_id: int,
        *,
        user: str,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> ItemSummary:
        with self._action(user) as (session, now):
            transitions.release(
                session,
                item_id=item_id,
                actor=user,
                now=now,
                note=note,
                expected_version=expected_version,
            )
            return queries.get_summary(session, item_id=item_id)

    def reassign(
        self,
        item_id: int,
        *,
        user: str,
        to: str | None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> ItemSummary:
        """To radiologist ``to``, or to the unassigned pool with ``to=None``."""
        with self._action(user) as (session, now):
            transitions.reassign(
                session,
                item_id=item_id,
                actor=user,
                now=now,
                settings=self.settings,
                to=to,
                note=note,
                expected_version=expected_version,
            )
            return queries.get_summary(session, item_id=item_id)

    def reopen(
        self,
        item_id: int,
        *,
        user: str,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> ItemSummary:
        """Back to the previous reader if active, else routed (or the pool)."""
        with self._action(user) as (session, now):
            reopened = transitions.reopen(
                session,
                item_id=item_id,
                actor=user,
                now=now,
                settings=self.settings,
                note=note,
                expected_version=expected_version,
                route=False,
            )
            if reopened.state != ItemState.NEW:
                return queries.get_summary(session, item_id=item_id)
        # routing in a second transaction: cursor first, then the item (store: lock order)
        with self._action(user) as (session, now):
            routed = route_pool_item(
                session, item_id=item_id, now=now, settings=self.settings, actor=user
            )
            if routed is not None and routed[1].assignee is None:
                transitions.audit_pooled(
                    session, item=routed[0], now=now, actor=user, reason=routed[1].reason
                )
            return queries.get_summary(session, item_id=item_id)

    @contextmanager
    def _action(self, user: str) -> Iterator[tuple[Session, datetime]]:
        if not user or not user.strip():
            raise InvalidRequestError("an action needs a user (who is doing it)")
        if len(user) > MAX_USER_LENGTH:
            raise InvalidRequestError(f"a user id is at most {MAX_USER_LENGTH} characters")
        if user.startswith("system:"):
            raise InvalidRequestError("'system:' users are reserved for the jobs")
        with (
            write_lock(self.engine),
            Session(writer(self.engine)) as session,
            session.begin(),
        ):
            yield session, self.clock()
