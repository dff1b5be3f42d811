"""The task state machine: queued → picked_up → running → completed | failed; failed → queued
while attempts remain; any open task → cancelled | escalated (schema standard, connector layer 4)."""

from dataclasses import dataclass
from enum import StrEnum

from governance_app.kernel.actors import Actor
from governance_app.kernel.errors import DomainError, Refusal
from tasks_app.models import Task, TaskStatus

T = TaskStatus


class TaskRole(StrEnum):
    WORKER = "worker"        # a member, brain token or executor of the Brain the task is assigned to
    MANAGER = "manager"      # a person (not an executor) of a Brain working the parent request
    HEAD_OFFICE = "head_office"


@dataclass(frozen=True)
class TaskMove:
    name: str
    label: str
    to_status: str
    from_statuses: frozenset[str]
    roles: frozenset[TaskRole]


def _m(name: str, label: str, to: str, frm: set[str], roles: set[TaskRole]) -> TaskMove:
    return TaskMove(name, label, to, frozenset(frm), frozenset(roles))


W, M, H = TaskRole.WORKER, TaskRole.MANAGER, TaskRole.HEAD_OFFICE
OPEN = {T.QUEUED, T.PICKED_UP, T.RUNNING, T.FAILED}

TASK_MOVES: tuple[TaskMove, ...] = (
    _m("claim", "Pick up", T.PICKED_UP, {T.QUEUED}, {W}),
    _m("start", "Start", T.RUNNING, {T.PICKED_UP}, {W}),
    _m("progress", "Report progress", T.RUNNING, {T.RUNNING}, {W}),
    _m("warn", "Warn", T.RUNNING, {T.PICKED_UP, T.RUNNING}, {W}),
    _m("complete", "Complete", T.COMPLETED, {T.RUNNING}, {W}),
    _m("fail", "Fail", T.FAILED, {T.PICKED_UP, T.RUNNING}, {W}),
    _m("retry", "Retry", T.QUEUED, {T.FAILED}, {M, H}),
    _m("cancel", "Cancel", T.CANCELLED, OPEN, {M, H}),
    _m("escalate", "Escalate", T.ESCALATED, OPEN, {W, M, H}),
)
TASK_MOVE_NAMES = tuple(dict.fromkeys(m.name for m in TASK_MOVES))
# The API names a move by the status it reaches; progress and warnings are events, not moves there.
TASK_MOVE_FOR_STATUS = {m.to_status: m.name for m in TASK_MOVES if m.name not in ("progress", "warn")}


def task_roles_of(actor: Actor, task: Task) -> frozenset[TaskRole]:
    """The roles an actor holds on one task (for anyone but an executor, the task's request is read)."""
    if actor.is_integration:
        return frozenset()
    roles = set()
    if actor.belongs_to(task.assigned_brain_id):
        roles.add(TaskRole.WORKER)
    if actor.is_executor:
        return frozenset(roles)  # an executor works tasks, it never manages them
    if actor.is_head_office:
        roles.add(TaskRole.HEAD_OFFICE)
    request = task.request
    if actor.brains & {request.target_brain_id, request.primary_brain_id, *request.supporting_brains}:
        roles.add(TaskRole.MANAGER)
    return frozenset(roles)


def task_move_check(task: Task, name: str, actor: Actor) -> TaskMove:
    """The rule that allows this task move now, or a DomainError (conflict or forbidden)."""
    if name not in TASK_MOVE_NAMES:
        raise DomainError(f"There is no task move called {name!r}.", field="move")
    candidates = [m for m in TASK_MOVES if m.name == name]
    roles = task_roles_of(actor, task)
    # Who may act is judged before when: a move that is never the actor's is refused as such
    # (and an executor's attempt recorded), whatever the task's status.
    rule = next((m for m in candidates if task.status in m.from_statuses), None)
    if not (rule or candidates[0]).roles & roles:
        raise DomainError(f"{candidates[0].label} is not yours to do: this task belongs to "
                          f"{task.assigned_brain_id}.", kind=Refusal.FORBIDDEN)
    if rule is None:
        raise DomainError(f"{candidates[0].label} is not possible while the task is "
                          f"{task.get_status_display().lower()}.", kind=Refusal.CONFLICT)
    return rule


def task_moves_open(task: Task, actor: Actor) -> list[TaskMove]:
    """The task moves this actor may make right now."""
    roles = task_roles_of(actor, task)
    return [m for m in TASK_MOVES if task.status in m.from_statuses and m.roles & roles]
