"""Typed errors of the worklist; every message is fit to show a user as it is."""

from __future__ import annotations


class WorklistError(Exception):
    """Base of every error the worklist raises on purpose."""


class ItemNotFoundError(WorklistError):
    def __init__(self, item_id: int) -> None:
        super().__init__(f"worklist item {item_id} does not exist")
        self.item_id = item_id


class InvalidTransitionError(WorklistError):
    """The action is not possible from the item's current state."""

    def __init__(self, item_id: int, action: str, state: str, hint: str = "") -> None:
        message = f"cannot {action} item {item_id}: it is {state.replace('_', ' ')}"
        super().__init__(f"{message} ({hint})" if hint else message)
        self.item_id = item_id
        self.action = action
        self.state = state


class StaleItemError(WorklistError):
    """The item changed since it was read (someone else acted first): a lost race."""

    def __init__(
        self,
        item_id: int,
        action: str,
        expected_version: int,
        current_version: int,
        state: str,
        assignee: str | None,
    ) -> None:
        holder = f", assigned to {assignee}" if assignee else ""
        super().__init__(
            f"cannot {action} item {item_id}: it changed (version {current_version}, not"
            f" {expected_version}; now {state.replace('_', ' ')}{holder}); look at it again"
        )
        self.item_id = item_id
        self.action = action
        self.expected_version = expected_version
        self.current_version = current_version
        self.state = state
        self.assignee = assignee


class NotPermittedError(WorklistError):
    """The user may not do this to this item (e.g. it is someone else's)."""


class InvalidRequestError(WorklistError):
    """The request itself is wrong: a missing outcome or note, an unknown radiologist."""


class RosterError(WorklistError):
    """The roster file cannot be read or is invalid; the message names every problem."""
