"""Routes of tasks (``/api/tasks``), notes (``/api/notes``) and the timeline (``/api/activities``).

Nothing here filters by tenant: the request's session only sees the caller's company. Record
scopes come from ``Access``: tasks belong to their assignee, notes to their author. A record
outside the read scope is reported as missing (404); a visible record outside the write scope is
refused with 403 ``permission_scope``.

Tags on tasks and notes are links to the shared tags (``task_tags``, ``note_tags``): they come with
every read (one query per page), are set with ``tag_ids`` on create/update or ``PUT /{task_id}/tags``
(``/{note_id}/tags``), filter lists with ``?tag=<tag id>``, and do not change the record's version
(like contact tags).

Events (outbox, delivered live to whoever may read the record): ``task.created/updated/completed/deleted``
and ``note.created/updated/deleted`` (payload: id, excerpt, author_id, contact_id, entity_type, entity_id,
is_pinned, tag_ids, version; ``note.updated`` adds ``changed``, the fields the caller sent).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import utcnow
from xynap.core.errors import NotFound, ValidationFailed, check_version
from xynap.core.events import publish
from xynap.core.keyset import Key, page
from xynap.core.pagination import Page, paginate
from xynap.core.security.permissions import Access
from xynap.platform.auth.deps import DbDep, require
from xynap.platform.users.models import User
from xynap.shared.contacts.schemas import TagRef
from xynap.shared.tags.models import Tag
from xynap.shared.tags.service import replace_tag_links, tags_by_record
from xynap.shared.worklog.models import PRIORITY_RANK, Activity, Note, NoteTag, Task, TaskTag
from xynap.shared.worklog.schemas import (
    ActivityRead,
    NoteCreate,
    NoteRead,
    NoteTagsSet,
    NoteUpdate,
    Subtask,
    TaskCreate,
    TaskMove,
    TaskPriority,
    TaskRead,
    TaskStatus,
    TaskTagsSet,
    TaskUpdate,
)

tasks_router = APIRouter(tags=["tasks"])
notes_router = APIRouter(tags=["notes"])
activities_router = APIRouter(tags=["activities"])

TASK_READ = "tasks.task:read"
NOTE_READ = "notes.note:read"

TaskRead_ = Annotated[Access, require(TASK_READ)]
NoteRead_ = Annotated[Access, require(NOTE_READ)]

NO_DUE_DATE = dt.date(9999, 12, 31)  # sorts tasks without a due date last
_PRIORITY_EXPR = case(PRIORITY_RANK, value=Task.priority, else_=PRIORITY_RANK["medium"])

TASK_SORT_KEYS = {
    "due_date": (func.coalesce(Task.due_date, NO_DUE_DATE), lambda t: t.due_date or NO_DUE_DATE, "date"),
    "created_at": (Task.created_at, lambda t: t.created_at, "datetime"),
    "priority": (_PRIORITY_EXPR, lambda t: PRIORITY_RANK.get(t.priority, PRIORITY_RANK["medium"]), "int"),
    "position": (Task.position, lambda t: t.position, "int"),
}
TaskSort = Literal["due_date", "-due_date", "created_at", "-created_at", "priority", "-priority", "position",
                   "-position"]


# --- helpers ----------------------------------------------------------------------------------------


def _invalid(field: str, message: str, code: str = "validation_error") -> ValidationFailed:
    return ValidationFailed(f"Invalid value for: {field}", code=code, errors=[{"field": field, "message": message}])


async def _ensure_user(db: AsyncSession, user_id: uuid.UUID | None, field: str) -> None:
    """``user_id`` is an active user of this company (the session sees no other company's users)."""
    if user_id is None:
        return
    user = await db.get(User, user_id)
    if user is None or not user.is_active:
        raise _invalid(field, "no active user of your company has this id", "invalid_user")


def _subtasks(items: list[Subtask]) -> list[dict[str, Any]]:
    return [{"id": str(s.id or uuid.uuid4()), "title": s.title, "done": s.done} for s in items]


def _task_payload(task: Task, tag_ids: list[uuid.UUID], **extra: Any) -> dict[str, Any]:
    return {"id": task.id, "title": task.title, "status": task.status, "priority": task.priority,
            "due_date": task.due_date, "assigned_to": task.assigned_to, "contact_id": task.linked_contact_id,
            "entity_type": task.linked_entity_type, "entity_id": task.linked_entity_id, "tag_ids": tag_ids, **extra}


async def _publish_task(db: AsyncSession, name: str, task: Task, **extra: Any) -> None:
    tag_ids = [t.id for t in (await _tags_of(db, [task.id]))[task.id]]
    publish(db, name, _task_payload(task, tag_ids, **extra), permission=TASK_READ, owner_id=task.assigned_to)


async def _tags_of(db: AsyncSession, record_ids: list[uuid.UUID],
                   record_column: Any = TaskTag.task_id) -> dict[uuid.UUID, list[Tag]]:
    """{record id: its tags by name}, for a whole page; ``record_column`` names the link
    table's record column (``TaskTag.task_id`` or ``NoteTag.note_id``)."""
    return await tags_by_record(db, record_column, record_ids)


async def _read_tasks(db: AsyncSession, tasks: list[Task]) -> list[TaskRead]:
    tags = await _tags_of(db, [t.id for t in tasks])
    return [TaskRead.model_validate(t).model_copy(update={"tags": [TagRef.model_validate(tag) for tag in tags[t.id]]})
            for t in tasks]


async def _read_task(db: AsyncSession, task: Task) -> TaskRead:
    return (await _read_tasks(db, [task]))[0]


async def _checked_tags(db: AsyncSession, tag_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The wanted tag ids without repeats; each must be a tag of this company (the session sees no other's)."""
    wanted = list(dict.fromkeys(tag_ids))
    known = set(await db.scalars(select(Tag.id).where(Tag.id.in_(wanted)))) if wanted else set()
    unknown = [str(tag_id) for tag_id in wanted if tag_id not in known]
    if unknown:
        raise _invalid("tag_ids", f"no tag of your company has the id(s) {', '.join(unknown)}", "invalid_tag")
    return wanted


async def _set_tags(db: AsyncSession, task: Task, wanted: list[uuid.UUID]) -> None:
    await replace_tag_links(db, TaskTag, TaskTag.task_id, task.id, wanted)


def _set_status(task: Task, status: str) -> bool:
    """Change the status, keeping ``completed_at`` in step; True when the task became done."""
    if status == task.status:
        return False
    completed = status == "done"
    task.status = status
    task.completed_at = utcnow() if completed else None
    return completed


async def _end_of_column(db: AsyncSession, status: str) -> int:
    last = await db.scalar(select(func.max(Task.position)).where(Task.status == status))
    return 0 if last is None else int(last) + 1


async def _visible_task(db: AsyncSession, task_id: uuid.UUID, read: Access) -> Task:
    task = await db.scalar(read.apply(select(Task).where(Task.id == task_id), Task.assigned_to))
    if task is None:
        raise NotFound("No such task.", code="task_not_found")
    return task


async def _read_notes(db: AsyncSession, notes: list[Note]) -> list[NoteRead]:
    tags = await _tags_of(db, [n.id for n in notes], NoteTag.note_id)
    return [NoteRead.model_validate(n).model_copy(update={"tags": [TagRef.model_validate(tag) for tag in tags[n.id]]})
            for n in notes]


async def _read_note(db: AsyncSession, note: Note) -> NoteRead:
    return (await _read_notes(db, [note]))[0]


async def _publish_note(db: AsyncSession, name: str, note: Note, **extra: Any) -> None:
    """``note.created/updated/deleted``: seen live by whoever may read the note (like tasks, by owner)."""
    tag_ids = [t.id for t in (await _tags_of(db, [note.id], NoteTag.note_id))[note.id]]
    publish(db, name,
            {"id": note.id, "excerpt": note.content[:200], "author_id": note.author_id,
             "contact_id": note.linked_contact_id, "entity_type": note.linked_entity_type,
             "entity_id": note.linked_entity_id, "is_pinned": note.is_pinned, "tag_ids": tag_ids,
             "version": note.version, **extra},
            permission=NOTE_READ, owner_id=note.author_id)


async def _visible_note(db: AsyncSession, note_id: uuid.UUID, read: Access) -> Note:
    note = await db.scalar(read.apply(select(Note).where(Note.id == note_id), Note.author_id))
    if note is None:
        raise NotFound("No such note.", code="note_not_found")
    return note


# --- tasks ------------------------------------------------------------------------------------------


@tasks_router.get("", response_model=Page[TaskRead], summary="Tasks in the caller's scope")
async def list_tasks(
    db: DbDep,
    access: TaskRead_,
    status: TaskStatus | None = None,
    priority: TaskPriority | None = None,
    assignee: Annotated[str | None, Query(max_length=36, description="'me', 'none' or a user id")] = None,
    due_before: Annotated[dt.date | None, Query(description="Due on or before this day")] = None,
    due_after: Annotated[dt.date | None, Query(description="Due on or after this day")] = None,
    linked_contact_id: uuid.UUID | None = None,
    linked_entity_type: Annotated[str | None, Query(max_length=50)] = None,
    linked_entity_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of the title")] = None,
    tag: Annotated[uuid.UUID | None, Query(description="Only tasks carrying this tag (a tag id)")] = None,
    sort: Annotated[TaskSort, Query(description="due_date, created_at, priority or position; - for descending")]
    = "-created_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[TaskRead]:
    stmt = access.apply(select(Task), Task.assigned_to)
    if status is not None:
        stmt = stmt.where(Task.status == status)
    if priority is not None:
        stmt = stmt.where(Task.priority == priority)
    if assignee == "me":
        stmt = stmt.where(Task.assigned_to == access.principal.user_id)
    elif assignee == "none":
        stmt = stmt.where(Task.assigned_to.is_(None))
    elif assignee is not None:
        try:
            stmt = stmt.where(Task.assigned_to == uuid.UUID(assignee))
        except ValueError:
            raise _invalid("assignee", "use 'me', 'none' or a user id") from None
    if due_before is not None:
        stmt = stmt.where(Task.due_date <= due_before)
    if due_after is not None:
        stmt = stmt.where(Task.due_date >= due_after)
    if linked_contact_id is not None:
        stmt = stmt.where(Task.linked_contact_id == linked_contact_id)
    if linked_entity_type is not None:
        stmt = stmt.where(Task.linked_entity_type == linked_entity_type)
    if linked_entity_id is not None:
        stmt = stmt.where(Task.linked_entity_id == linked_entity_id)
    if q:
        stmt = stmt.where(Task.title.icontains(q, autoescape=True))
    if tag is not None:
        stmt = stmt.where(Task.id.in_(select(TaskTag.task_id).where(TaskTag.tag_id == tag)))
    descending = sort.startswith("-")
    expr, value, kind = TASK_SORT_KEYS[sort.lstrip("-")]
    rows, next_cursor = await page(db, stmt, keys=[Key(expr, value, kind, descending)], id_col=Task.id,
                                   limit=limit, cursor=cursor, id_descending=descending)
    return Page(items=await _read_tasks(db, list(rows)), next_cursor=next_cursor)


@tasks_router.post("", response_model=TaskRead, status_code=201, summary="Create a task")
async def create_task(body: TaskCreate, db: DbDep,
                      access: Annotated[Access, require("tasks.task:create")]) -> TaskRead:
    me = access.principal.user_id
    assignee = body.assigned_to if "assigned_to" in body.model_fields_set else me
    access.ensure_owner(assignee)
    await _ensure_user(db, assignee, "assigned_to")
    tag_ids = await _checked_tags(db, body.tag_ids or [])
    task = Task(title=body.title, description=body.description, status=body.status, priority=body.priority,
                due_date=body.due_date, assigned_to=assignee, created_by=me,
                linked_contact_id=body.linked_contact_id, linked_entity_type=body.linked_entity_type,
                linked_entity_id=body.linked_entity_id, subtasks=_subtasks(body.subtasks),
                position=await _end_of_column(db, body.status),
                completed_at=utcnow() if body.status == "done" else None)
    db.add(task)
    await db.flush()
    await _set_tags(db, task, tag_ids)
    await db.flush()
    await _publish_task(db, "task.created", task)
    if task.status == "done":
        await _publish_task(db, "task.completed", task)
    return await _read_task(db, task)


@tasks_router.get("/{task_id}", response_model=TaskRead, summary="One task")
async def get_task(task_id: uuid.UUID, db: DbDep, access: TaskRead_) -> TaskRead:
    return await _read_task(db, await _visible_task(db, task_id, access))


@tasks_router.patch("/{task_id}", response_model=TaskRead, summary="Change a task")
async def update_task(task_id: uuid.UUID, body: TaskUpdate, db: DbDep, read: TaskRead_,
                      access: Annotated[Access, require("tasks.task:update")]) -> TaskRead:
    task = await _visible_task(db, task_id, read)
    access.ensure_owner(task.assigned_to)
    check_version(task, body.version)
    changes = body.model_dump(exclude_unset=True, exclude={"version", "status", "subtasks", "tag_ids"})
    if "assigned_to" in changes and changes["assigned_to"] != task.assigned_to:
        access.ensure_owner(changes["assigned_to"])  # nobody hands a task out of their own write scope
        await _ensure_user(db, changes["assigned_to"], "assigned_to")
    tag_ids = await _checked_tags(db, body.tag_ids) if body.tag_ids is not None else None
    # queries first, changes after: one UPDATE, so the version goes up by one
    moved = body.status is not None and body.status != task.status
    position = await _end_of_column(db, body.status) if moved else task.position
    for field, value in changes.items():
        setattr(task, field, value)
    if body.subtasks is not None:
        task.subtasks = _subtasks(body.subtasks)
    completed = False
    if moved:
        completed = _set_status(task, body.status)
        task.position = position
    changed = sorted(set(body.model_fields_set) - {"version"})
    await db.flush()
    if tag_ids is not None:
        await _set_tags(db, task, tag_ids)
        await db.flush()
    await _publish_task(db, "task.updated", task, changed=changed)
    if completed:
        await _publish_task(db, "task.completed", task)
    return await _read_task(db, task)


@tasks_router.put("/{task_id}/tags", response_model=TaskRead, summary="Set the tags of a task")
async def set_task_tags(task_id: uuid.UUID, body: TaskTagsSet, db: DbDep, read: TaskRead_,
                        access: Annotated[Access, require("tasks.task:update")]) -> TaskRead:
    task = await _visible_task(db, task_id, read)
    access.ensure_owner(task.assigned_to)
    await _set_tags(db, task, await _checked_tags(db, body.tag_ids))
    await db.flush()
    await _publish_task(db, "task.updated", task, changed=["tag_ids"])
    return await _read_task(db, task)


@tasks_router.post("/{task_id}/move", response_model=TaskRead, summary="Move a task on the board")
async def move_task(task_id: uuid.UUID, body: TaskMove, db: DbDep, read: TaskRead_,
                    access: Annotated[Access, require("tasks.task:update")]) -> TaskRead:
    """Put the task into the column ``status`` at ``position`` (0-based, among the tasks the caller
    sees there). The column is renumbered so positions stay dense; only the moved task's version
    changes (the order of a column is not an edit of the other tasks)."""
    task = await _visible_task(db, task_id, read)
    access.ensure_owner(task.assigned_to)
    check_version(task, body.version)
    column = select(Task.id, Task.position, Task.assigned_to).where(Task.status == body.status, Task.id != task.id)
    rows = (await db.execute(column.order_by(Task.position, Task.id))).all()
    visible = [r.id for r in rows if read.allows_owner(r.assigned_to)]
    order = [r.id for r in rows]
    if body.position < len(visible):
        at = order.index(visible[body.position])
    elif visible:
        at = order.index(visible[-1]) + 1
    else:
        at = len(order)
    order.insert(at, task.id)
    current = {r.id: r.position for r in rows}
    for index, row_id in enumerate(order):
        if row_id != task.id and current[row_id] != index:
            await db.execute(update(Task).where(Task.id == row_id).values(position=index)
                             .execution_options(synchronize_session=False))
    completed = _set_status(task, body.status)
    task.position = at
    await db.flush()
    await _publish_task(db, "task.updated", task, changed=["position", "status"])
    if completed:
        await _publish_task(db, "task.completed", task)
    return await _read_task(db, task)


@tasks_router.delete("/{task_id}", status_code=204, summary="Delete a task")
async def delete_task(task_id: uuid.UUID, db: DbDep, read: TaskRead_,
                      access: Annotated[Access, require("tasks.task:delete")]) -> Response:
    task = await _visible_task(db, task_id, read)
    access.ensure_owner(task.assigned_to)
    await _publish_task(db, "task.deleted", task)
    await db.delete(task)
    await db.flush()
    return Response(status_code=204)


# --- notes ------------------------------------------------------------------------------------------

NOTE_KEYS = [
    Key(case((Note.is_pinned.is_(True), 1), else_=0), lambda n: 1 if n.is_pinned else 0, "int", descending=True),
    Key(Note.created_at, lambda n: n.created_at, "datetime", descending=True),
]


@notes_router.get("", response_model=Page[NoteRead], summary="Notes, pinned first, newest first")
async def list_notes(
    db: DbDep,
    access: NoteRead_,
    linked_contact_id: uuid.UUID | None = None,
    linked_entity_type: Annotated[str | None, Query(max_length=50)] = None,
    linked_entity_id: uuid.UUID | None = None,
    author_id: uuid.UUID | None = None,
    pinned: bool | None = None,
    tag: Annotated[uuid.UUID | None, Query(description="Only notes carrying this tag (a tag id)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[NoteRead]:
    stmt = access.apply(select(Note), Note.author_id)
    if linked_contact_id is not None:
        stmt = stmt.where(Note.linked_contact_id == linked_contact_id)
    if linked_entity_type is not None:
        stmt = stmt.where(Note.linked_entity_type == linked_entity_type)
    if linked_entity_id is not None:
        stmt = stmt.where(Note.linked_entity_id == linked_entity_id)
    if author_id is not None:
        stmt = stmt.where(Note.author_id == author_id)
    if pinned is not None:
        stmt = stmt.where(Note.is_pinned.is_(pinned))
    if tag is not None:
        stmt = stmt.where(Note.id.in_(select(NoteTag.note_id).where(NoteTag.tag_id == tag)))
    rows, next_cursor = await page(db, stmt, keys=NOTE_KEYS, id_col=Note.id, limit=limit, cursor=cursor,
                                   id_descending=True)
    return Page(items=await _read_notes(db, list(rows)), next_cursor=next_cursor)


@notes_router.post("", response_model=NoteRead, status_code=201, summary="Write a note")
async def create_note(body: NoteCreate, db: DbDep,
                      access: Annotated[Access, require("notes.note:create")]) -> NoteRead:
    tag_ids = await _checked_tags(db, body.tag_ids or [])
    note = Note(content=body.content, author_id=access.principal.user_id, linked_contact_id=body.linked_contact_id,
                linked_entity_type=body.linked_entity_type, linked_entity_id=body.linked_entity_id,
                is_pinned=body.is_pinned)
    db.add(note)
    await db.flush()
    await replace_tag_links(db, NoteTag, NoteTag.note_id, note.id, tag_ids, current=set())
    await db.flush()
    await _publish_note(db, "note.created", note)
    return await _read_note(db, note)


@notes_router.get("/{note_id}", response_model=NoteRead, summary="One note")
async def get_note(note_id: uuid.UUID, db: DbDep, access: NoteRead_) -> NoteRead:
    return await _read_note(db, await _visible_note(db, note_id, access))


@notes_router.patch("/{note_id}", response_model=NoteRead, summary="Change a note")
async def update_note(note_id: uuid.UUID, body: NoteUpdate, db: DbDep, read: NoteRead_,
                      access: Annotated[Access, require("notes.note:update")]) -> NoteRead:
    note = await _visible_note(db, note_id, read)
    access.ensure_owner(note.author_id)
    check_version(note, body.version)
    tag_ids = await _checked_tags(db, body.tag_ids) if body.tag_ids is not None else None  # before any change
    for field, value in body.model_dump(exclude_unset=True, exclude={"version", "tag_ids"}).items():
        setattr(note, field, value)
    await db.flush()
    if tag_ids is not None:
        await replace_tag_links(db, NoteTag, NoteTag.note_id, note.id, tag_ids)
        await db.flush()
    await _publish_note(db, "note.updated", note, changed=sorted(set(body.model_fields_set) - {"version"}))
    return await _read_note(db, note)


@notes_router.put("/{note_id}/tags", response_model=NoteRead, summary="Set the tags of a note")
async def set_note_tags(note_id: uuid.UUID, body: NoteTagsSet, db: DbDep, read: NoteRead_,
                        access: Annotated[Access, require("notes.note:update")]) -> NoteRead:
    note = await _visible_note(db, note_id, read)
    access.ensure_owner(note.author_id)
    await replace_tag_links(db, NoteTag, NoteTag.note_id, note.id, await _checked_tags(db, body.tag_ids))
    await db.flush()
    await _publish_note(db, "note.updated", note, changed=["tag_ids"])
    return await _read_note(db, note)


@notes_router.delete("/{note_id}", status_code=204, summary="Delete a note")
async def delete_note(note_id: uuid.UUID, db: DbDep, read: NoteRead_,
                      access: Annotated[Access, require("notes.note:delete")]) -> Response:
    note = await _visible_note(db, note_id, read)
    access.ensure_owner(note.author_id)
    await _publish_note(db, "note.deleted", note)  # before the delete: the payload reads the note's tags
    await db.delete(note)
    await db.flush()
    return Response(status_code=204)


# --- activities -------------------------------------------------------------------------------------

ActivityAccess = Annotated[Access, require("activities.activity:read")]


@activities_router.get("", response_model=Page[ActivityRead], summary="The timeline, newest first")
async def list_activities(
    db: DbDep,
    access: ActivityAccess,
    contact_id: uuid.UUID | None = None,
    entity_type: Annotated[str | None, Query(max_length=50)] = None,
    entity_id: uuid.UUID | None = None,
    type: Annotated[str | None, Query(max_length=30)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[ActivityRead]:
    stmt = access.apply(select(Activity), Activity.user_id)
    if contact_id is not None:
        stmt = stmt.where(Activity.contact_id == contact_id)
    if entity_type is not None:
        stmt = stmt.where(Activity.entity_type == entity_type)
    if entity_id is not None:
        stmt = stmt.where(Activity.entity_id == entity_id)
    if type is not None:
        stmt = stmt.where(Activity.type == type)
    rows, next_cursor = await paginate(db, stmt, model=Activity, sort="-occurred_at",
                                       sortable={"occurred_at": Activity.occurred_at}, limit=limit, cursor=cursor)
    return Page(items=[ActivityRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@activities_router.get("/{activity_id}", response_model=ActivityRead, summary="One timeline entry")
async def get_activity(activity_id: uuid.UUID, db: DbDep, access: ActivityAccess) -> ActivityRead:
    activity = await db.scalar(access.apply(select(Activity).where(Activity.id == activity_id), Activity.user_id))
    if activity is None:
        raise NotFound("No such activity.", code="activity_not_found")
    return ActivityRead.model_validate(activity)
