"""The simulated WorkSpaces Core backend: moto's WorkSpaces backend holding the simulator's resources.

This class only holds one account's resources in one Region and the lookups every resource needs (settle
to the simulated now, find a WorkSpace, the ARN of a resource). The operations themselves live in
:mod:`simulator.operations`, one module per resource; :data:`simulator.operations.OPERATIONS` composes
them. Registered in place of moto's own ``workspaces_backends`` (see :func:`install`), so moto's reset
and resource-tagging API see it; moto's EC2, Directory Service, IAM and STS backends are used as they are.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from collections.abc import Iterator
from typing import Any, cast

from moto.core.base_backend import BackendDict
from moto.core.resource_tagging import TaggedResource
from moto.ec2 import ec2_backends
from moto.workspaces import models as moto_workspaces_models
from moto.workspaces.models import WorkSpacesBackend

from simulator import errors
from simulator.entities import (
    TERMINATED,
    TERMINATING,
    AccountModification,
    Bundle,
    RegisteredDirectory,
    Workspace,
    WorkspaceImage,
)
from simulator.state import STATE, AccountSettings


class WorkspaceStore(dict[str, Workspace]):
    """An account's WorkSpaces by id, remembering which ones were handed out since the last settle.

    A WorkSpace handed out may have been changed (a stop begun, a session scripted), so the next settle
    looks at it; one nobody touched changes only at its own due time. Iterating the whole store touches
    everything, which keeps any unforeseen caller correct (it only costs a full settle).
    """

    def __init__(self) -> None:
        super().__init__()
        self.touched: set[str] = set()
        self.all_touched = True

    def __getitem__(self, workspace_id: str) -> Workspace:
        self.touched.add(workspace_id)
        return super().__getitem__(workspace_id)

    def get(self, workspace_id: str, default: Any = None) -> Any:
        self.touched.add(workspace_id)
        return super().get(workspace_id, default)

    def __setitem__(self, workspace_id: str, workspace: Workspace) -> None:
        self.touched.add(workspace_id)
        super().__setitem__(workspace_id, workspace)

    def __iter__(self) -> Iterator[str]:
        self.all_touched = True
        return super().__iter__()

    def values(self):
        self.all_touched = True
        return super().values()

    def items(self):
        self.all_touched = True
        return super().items()

    def by_ids(self, workspace_ids: list[str]) -> list[Workspace]:
        """The WorkSpaces among these ids that exist, touching only them."""
        return [workspace for i in dict.fromkeys(workspace_ids) if (workspace := self.get(i)) is not None]


class SimWorkSpacesBackend(WorkSpacesBackend):
    """One account's simulated WorkSpaces resources in one Region."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.sim_workspaces = WorkspaceStore()
        # (due time, id) of every WorkSpace that will change by itself; stale entries are skipped.
        self._due: list[tuple[float, str]] = []
        self._due_at: dict[str, float] = {}
        self._settled_with: object = None
        self.sim_images: dict[str, WorkspaceImage] = {}
        self.sim_bundles: dict[str, Bundle] = {}
        self.sim_directories: dict[str, RegisteredDirectory] = {}
        self.account_modifications: list[AccountModification] = []
        self._sequence = itertools.count(1)

    @property
    def settings(self) -> AccountSettings:
        return STATE.account(self.account_id)

    @property
    def ec2(self) -> Any:
        return ec2_backends[self.account_id][self.region_name]

    def next_sequence(self) -> int:
        """Creation order of a new resource: pages are cut after a sequence, never at a position."""
        return next(self._sequence)

    def settle(self) -> float:
        """Bring every resource up to the simulated now; drop long-terminated WorkSpaces."""
        now = STATE.now()
        durations = STATE.durations
        store = self.sim_workspaces
        if store.all_touched or self._settled_with != durations:
            ids = set(dict.keys(store))  # durations changed or someone looked at everything: settle all
            self._due, self._due_at = [], {}
            self._settled_with = dataclasses.replace(durations)
        else:
            ids = set(store.touched)
            while self._due and self._due[0][0] <= now:
                due_at, workspace_id = heapq.heappop(self._due)
                if self._due_at.get(workspace_id) == due_at:
                    del self._due_at[workspace_id]
                    ids.add(workspace_id)
        store.touched, store.all_touched = set(), False
        for workspace_id in ids:
            workspace = dict.get(store, workspace_id)
            if workspace is None:
                continue
            workspace.settle(now, durations)
            if workspace.is_gone(now, durations):
                dict.__delitem__(store, workspace_id)
                self._due_at.pop(workspace_id, None)
                continue
            due_at = workspace.next_change_at(durations)
            if due_at == math.inf:
                self._due_at.pop(workspace_id, None)
            elif self._due_at.get(workspace_id) != due_at:
                self._due_at[workspace_id] = due_at
                heapq.heappush(self._due, (due_at, workspace_id))
        for image in self.sim_images.values():
            image.settle(now)
        return now

    def live_workspaces(self) -> list[Workspace]:
        """The WorkSpaces not terminating or gone, as of the last settle(): callers settle first, so
        reading them all need not mark them all for the next settle (as `values()` would)."""
        return [w for w in dict.values(self.sim_workspaces) if w.state not in (TERMINATING, TERMINATED)]

    def get_workspace(self, workspace_id: str) -> Workspace:
        workspace = self.sim_workspaces.get(workspace_id)
        if workspace is None:
            raise errors.not_found(f"The WorkSpace {workspace_id} could not be found.")
        return workspace

    def resource_arn(self, kind: str, resource_id: str) -> str:
        return f"arn:aws:workspaces:{self.region_name}:{self.account_id}:{kind}/{resource_id}"

    def taggable_stores(self) -> list[tuple[str, dict[str, Any]]]:
        """Every kind of resource that carries tags, with its ARN resource type."""
        return [
            ("workspace", self.sim_workspaces),
            ("workspaceimage", self.sim_images),
            ("workspacebundle", self.sim_bundles),
            ("directory", self.sim_directories),
        ]

    def find_taggable(self, resource_id: str) -> tuple[str, dict[str, str]]:
        """The ARN resource type and the (live, mutable) tags of a resource of this account."""
        self.settle()
        for kind, store in self.taggable_stores():
            if resource_id in store:
                return kind, store[resource_id].tags
        raise errors.not_found(f"The resource {resource_id} could not be found.")

    # ------------------------------------------- moto's resource-tagging API
    def iter_tagged_resources(self) -> Iterator[TaggedResource]:
        for kind, store in self.taggable_stores():
            for resource_id, resource in store.items():
                yield TaggedResource(
                    arn=self.resource_arn(kind, resource_id),
                    tags=dict(resource.tags),
                    resource_type=f"workspaces:{kind}",
                )

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        _, current = self.find_taggable(arn.split("/")[-1])
        current.update(tags)


workspaces_backends: BackendDict[SimWorkSpacesBackend] = BackendDict(SimWorkSpacesBackend, "workspaces")


def install() -> None:
    """Put the simulator's backend where moto looks for WorkSpaces (idempotent)."""
    import moto.workspaces as moto_workspaces_package

    # moto only reads backends from it, and ours subclass its WorkSpacesBackend.
    as_moto = cast("BackendDict[WorkSpacesBackend]", workspaces_backends)
    moto_workspaces_models.workspaces_backends = as_moto
    moto_workspaces_package.workspaces_backends = as_moto


def backend_for(account_id: str, region: str) -> SimWorkSpacesBackend | None:
    try:
        return workspaces_backends[account_id][region]
    except KeyError:
        return None


def all_backends(region: str) -> list[SimWorkSpacesBackend]:
    """Every account's backend already created in ``region`` (without creating new ones)."""
    found = []
    for account_backends in list(workspaces_backends.values()):
        backend = dict.get(account_backends, region)
        if backend is not None:
            found.append(backend)
    return found
