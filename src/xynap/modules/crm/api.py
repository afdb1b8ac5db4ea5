"""Routes of the CRM module, mounted at ``/api/crm`` behind the module gate.

Record scopes follow the example module: a deal outside the caller's read scope is reported missing
(404 ``deal_not_found``); one that is visible but outside the write scope is refused with 403
``permission_scope``. Pipelines have no owner (unscoped ``crm.pipeline``). Edits carry the
``version`` the client saw (409 ``version_conflict`` when stale).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import utcnow
from xynap.core.errors import Conflict, NotFound, ValidationFailed, check_version
from xynap.core.pagination import Page, decode_cursor, paginate
from xynap.core.security.permissions import Access
from xynap.modules.crm import repository, service
from xynap.modules.crm.models import Deal, DealItem, DealStageHistory, DealTag, Pipeline, Stage
from xynap.modules.crm.schemas import (
    Board,
    BoardColumn,
    DealCreate,
    DealDetail,
    DealLost,
    DealMove,
    DealRead,
    DealReopen,
    DealUpdate,
    DealWon,
    Forecast,
    PipelineCreate,
    PipelineRead,
    PipelineUpdate,
    StageCreate,
    StageOrder,
    StageRead,
    StageUpdate,
)
from xynap.platform.auth.deps import DbDep, require

router = APIRouter(tags=["crm"])

PipelineRead_ = Annotated[Access, require("crm.pipeline:read")]
DealReadAccess = Annotated[Access, require("crm.deal:read")]
DEAL_SORTS = {"created_at": Deal.created_at, "updated_at": Deal.updated_at, "title": Deal.title,
              "value": Deal.value}
BOARD_PAGE = 50


# --- helpers -----------------------------------------------------------------------------------------


async def _pipeline_read(db: AsyncSession, pipeline: Pipeline) -> PipelineRead:
    stages = (await service.stages_of(db, [pipeline.id]))[pipeline.id]
    return PipelineRead.model_validate(pipeline).model_copy(
        update={"stages": [StageRead.model_validate(s) for s in stages]})


async def _stage(db: AsyncSession, pipeline: Pipeline, stage_id: uuid.UUID) -> Stage:
    stage = await db.get(Stage, stage_id)
    if stage is None or stage.pipeline_id != pipeline.id:
        raise NotFound("No such stage in this pipeline.", code="stage_not_found")
    return stage


async def _visible_deal(db: AsyncSession, deal_id: uuid.UUID, read: Access) -> Deal:
    deal = await db.scalar(read.apply(select(Deal).where(Deal.id == deal_id), Deal.owner_id))
    if deal is None:
        raise NotFound("No such deal.", code="deal_not_found")
    return deal


async def _detail(db: AsyncSession, deal: Deal, viewer: Access) -> DealDetail:
    (read,) = await service.deal_reads(db, [deal], viewer.principal)
    return DealDetail(**read.model_dump(), items=await service.items_of(db, deal.id),
                      stage_history=await service.history_of(db, deal.id))


async def _one(db: AsyncSession, deal: Deal, viewer: Access) -> DealRead:
    return (await service.deal_reads(db, [deal], viewer.principal))[0]


def _actor(access: Access) -> uuid.UUID:
    return access.principal.user_id


# --- pipelines and stages ----------------------------------------------------------------------------


@router.get("/pipelines", response_model=list[PipelineRead], summary="Pipelines with their stages")
async def list_pipelines(db: DbDep, _: PipelineRead_) -> list[PipelineRead]:
    pipelines = list(await db.scalars(select(Pipeline).order_by(Pipeline.position, Pipeline.name, Pipeline.id)))
    stages = await service.stages_of(db, [p.id for p in pipelines])
    return [PipelineRead.model_validate(p).model_copy(
        update={"stages": [StageRead.model_validate(s) for s in stages[p.id]]}) for p in pipelines]


async def _clear_default(db: AsyncSession, keep: uuid.UUID | None) -> None:
    stmt = update(Pipeline).where(Pipeline.is_default.is_(True))
    if keep is not None:
        stmt = stmt.where(Pipeline.id != keep)
    await db.execute(stmt.values(is_default=False), execution_options={"synchronize_session": False})


@router.post("/pipelines", response_model=PipelineRead, status_code=201, summary="Create a pipeline (with stages)")
async def create_pipeline(body: PipelineCreate, db: DbDep,
                          _: Annotated[Access, require("crm.pipeline:create")]) -> PipelineRead:
    last = await db.scalar(select(func.max(Pipeline.position)))
    first = await db.scalar(select(Pipeline.id).limit(1)) is None
    if body.is_default:
        await _clear_default(db, None)
    pipeline = Pipeline(name=body.name.strip() or body.name, is_default=body.is_default or first,
                        position=(last or 0) + 1)
    db.add(pipeline)
    await db.flush()
    for index, stage in enumerate(body.stages):
        db.add(Stage(pipeline_id=pipeline.id, name=stage.name, color=stage.color, probability=stage.probability,
                     rotting_days=stage.rotting_days, position=index))
    await db.flush()
    return await _pipeline_read(db, pipeline)


@router.get("/pipelines/{pipeline_id}", response_model=PipelineRead, summary="One pipeline with its stages")
async def get_pipeline(pipeline_id: uuid.UUID, db: DbDep, _: PipelineRead_) -> PipelineRead:
    return await _pipeline_read(db, await service.get_pipeline(db, pipeline_id))


@router.patch("/pipelines/{pipeline_id}", response_model=PipelineRead, summary="Rename a pipeline or make it default")
async def update_pipeline(pipeline_id: uuid.UUID, body: PipelineUpdate, db: DbDep,
                          _: Annotated[Access, require("crm.pipeline:update")]) -> PipelineRead:
    pipeline = await service.get_pipeline(db, pipeline_id)
    check_version(pipeline, body.version)
    if body.is_default:
        await _clear_default(db, pipeline.id)
    if body.name is not None:
        pipeline.name = body.name.strip() or body.name
    if body.is_default is not None:
        pipeline.is_default = body.is_default
    await db.flush()
    return await _pipeline_read(db, pipeline)


@router.delete("/pipelines/{pipeline_id}", status_code=204, summary="Delete a pipeline without deals")
async def delete_pipeline(pipeline_id: uuid.UUID, db: DbDep,
                          _: Annotated[Access, require("crm.pipeline:delete")]) -> Response:
    pipeline = await service.get_pipeline(db, pipeline_id)
    if await db.scalar(select(Deal.id).where(Deal.pipeline_id == pipeline.id).limit(1)) is not None:
        raise Conflict("The pipeline still has deals; move or delete them first.", code="pipeline_has_deals")
    await db.execute(delete(Stage).where(Stage.pipeline_id == pipeline.id))
    await db.delete(pipeline)
    await db.flush()
    return Response(status_code=204)


@router.post("/pipelines/{pipeline_id}/stages", response_model=StageRead, status_code=201, summary="Add a stage")
async def create_stage(pipeline_id: uuid.UUID, body: StageCreate, db: DbDep,
                       _: Annotated[Access, require("crm.pipeline:update")]) -> StageRead:
    pipeline = await service.get_pipeline(db, pipeline_id)
    stages = (await service.stages_of(db, [pipeline.id]))[pipeline.id]
    index = len(stages) if body.position is None else min(body.position, len(stages))
    for i, stage in enumerate(stages):
        stage.position = i + 1 if i >= index else i
    stage = Stage(pipeline_id=pipeline.id, name=body.name, color=body.color, probability=body.probability,
                  rotting_days=body.rotting_days, position=index)
    db.add(stage)
    await db.flush()
    return StageRead.model_validate(stage)


@router.patch("/pipelines/{pipeline_id}/stages/{stage_id}", response_model=StageRead, summary="Change a stage")
async def update_stage(pipeline_id: uuid.UUID, stage_id: uuid.UUID, body: StageUpdate, db: DbDep,
                       _: Annotated[Access, require("crm.pipeline:update")]) -> StageRead:
    stage = await _stage(db, await service.get_pipeline(db, pipeline_id), stage_id)
    for name in ("name", "color", "probability"):
        value = getattr(body, name)
        if value is not None:
            setattr(stage, name, value)
    if "rotting_days" in body.model_fields_set:
        stage.rotting_days = body.rotting_days
    await db.flush()
    return StageRead.model_validate(stage)


@router.delete("/pipelines/{pipeline_id}/stages/{stage_id}", status_code=204, summary="Delete a stage without deals")
async def delete_stage(pipeline_id: uuid.UUID, stage_id: uuid.UUID, db: DbDep,
                       _: Annotated[Access, require("crm.pipeline:update")]) -> Response:
    pipeline = await service.get_pipeline(db, pipeline_id)
    stage = await _stage(db, pipeline, stage_id)
    if await db.scalar(select(Deal.id).where(Deal.stage_id == stage.id).limit(1)) is not None:
        raise Conflict("The stage still has deals (open or closed); move them first.", code="stage_has_deals")
    await db.delete(stage)
    await db.flush()
    rest = (await service.stages_of(db, [pipeline.id]))[pipeline.id]
    for i, other in enumerate(rest):
        other.position = i
    await db.flush()
    return Response(status_code=204)


@router.put("/pipelines/{pipeline_id}/stage-order", response_model=list[StageRead], summary="Reorder the stages")
async def reorder_stages(pipeline_id: uuid.UUID, body: StageOrder, db: DbDep,
                         _: Annotated[Access, require("crm.pipeline:update")]) -> list[StageRead]:
    pipeline = await service.get_pipeline(db, pipeline_id)
    stages = {s.id: s for s in (await service.stages_of(db, [pipeline.id]))[pipeline.id]}
    if len(body.stage_ids) != len(set(body.stage_ids)) or set(body.stage_ids) != set(stages):
        raise service.invalid([service.field_error("stage_ids", "list every stage of the pipeline exactly once")],
                              code="invalid_stage_order")
    for index, stage_id in enumerate(body.stage_ids):
        stages[stage_id].position = index
    await db.flush()
    return [StageRead.model_validate(stages[i]) for i in body.stage_ids]


# --- board -------------------------------------------------------------------------------------------


@router.get("/pipelines/{pipeline_id}/board", response_model=Board,
            summary="Kanban board: per stage count, sums per currency and the first cards")
async def board(pipeline_id: uuid.UUID, db: DbDep, access: DealReadAccess,
                owner_id: uuid.UUID | None = None,
                limit: Annotated[int, Query(ge=1, le=200, description="Cards per stage")] = BOARD_PAGE) -> Board:
    pipeline = await service.get_pipeline(db, pipeline_id)
    stages = (await service.stages_of(db, [pipeline.id]))[pipeline.id]
    totals = await repository.column_totals(db, access, pipeline.id, owner_id)
    tags: dict[uuid.UUID, Any] = {}
    pages = []
    for stage in stages:
        deals, cursor = [], None
        if stage.id in totals:
            deals, cursor = await repository.stage_page(db, access, stage.id, limit=limit, owner_id=owner_id)
        pages.append((stage, deals, cursor))
    tags = await service.tags_by_deal(db, [d.id for _, deals, _ in pages for d in deals])
    names = await service.deal_names(db, access.principal, (d for _, deals, _ in pages for d in deals))
    now = utcnow()
    columns = []
    for stage, deals, cursor in pages:
        count, sums, weighted = totals.get(stage.id, (0, [], []))
        columns.append(BoardColumn(
            stage=StageRead.model_validate(stage), count=count, sums=sums, weighted=weighted,
            deals=[service.deal_read(d, stage, tags[d.id], now, names) for d in deals], next_cursor=cursor))
    read = PipelineRead.model_validate(pipeline).model_copy(
        update={"stages": [StageRead.model_validate(s) for s in stages]})
    return Board(pipeline=read, columns=columns)


@router.get("/pipelines/{pipeline_id}/stages/{stage_id}/deals", response_model=Page[DealRead],
            summary="More cards of one board column (board order)")
async def stage_deals(pipeline_id: uuid.UUID, stage_id: uuid.UUID, db: DbDep, access: DealReadAccess,
                      owner_id: uuid.UUID | None = None, cursor: str | None = None,
                      limit: Annotated[int, Query(ge=1, le=200)] = BOARD_PAGE) -> Page[DealRead]:
    stage = await _stage(db, await service.get_pipeline(db, pipeline_id), stage_id)
    after = None
    if cursor:
        position, last_id = decode_cursor(cursor)
        if isinstance(position, bool) or not isinstance(position, int) or not -(2**63) <= position < 2**63:
            raise ValidationFailed("The cursor is invalid; start again without it.", code="invalid_cursor",
                                   errors=[{"field": "cursor", "message": "invalid cursor"}])
        after = (position, last_id)
    deals, next_cursor = await repository.stage_page(db, access, stage.id, limit=limit, owner_id=owner_id,
                                                     after=after)
    tags = await service.tags_by_deal(db, [d.id for d in deals])
    names = await service.deal_names(db, access.principal, deals)
    now = utcnow()
    return Page(items=[service.deal_read(d, stage, tags[d.id], now, names) for d in deals],
                next_cursor=next_cursor)


# --- forecast ----------------------------------------------------------------------------------------


@router.get("/forecast", response_model=Forecast,
            summary="Weighted forecast of open deals: sum(value × probability) per group and currency")
async def forecast(db: DbDep, access: DealReadAccess,
                   group: Literal["stage", "month", "quarter", "owner", "team"] = "month",
                   pipeline_id: uuid.UUID | None = None, owner_id: uuid.UUID | None = None,
                   close_from: dt.date | None = None, close_to: dt.date | None = None) -> Forecast:
    rows, totals = await repository.forecast(db, access, group, pipeline_id=pipeline_id, owner_id=owner_id,
                                             close_from=close_from, close_to=close_to)
    return Forecast(group=group, rows=rows, totals=totals)


# --- deals -------------------------------------------------------------------------------------------


@router.get("/deals", response_model=Page[DealRead], summary="Deals in the caller's scope, filtered")
async def list_deals(
    db: DbDep, access: DealReadAccess,
    pipeline_id: uuid.UUID | None = None, stage_id: uuid.UUID | None = None,
    status: Literal["open", "won", "lost"] | None = None, owner_id: uuid.UUID | None = None,
    contact_id: Annotated[uuid.UUID | None, Query(description="Person or organisation of the deal")] = None,
    tag_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of the title")] = None,
    close_from: dt.date | None = None, close_to: dt.date | None = None,
    sort: Annotated[str, Query(description="created_at, updated_at, title or value; - for descending")] = "-created_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[DealRead]:
    stmt = repository.deal_filters(
        access.apply(select(Deal), Deal.owner_id), pipeline_id=pipeline_id, stage_id=stage_id, status=status,
        owner_id=owner_id, contact_id=contact_id, tag_id=tag_id, q=q, close_from=close_from, close_to=close_to)
    rows, next_cursor = await paginate(db, stmt, model=Deal, sort=sort, sortable=DEAL_SORTS, limit=limit,
                                       cursor=cursor)
    return Page(items=await service.deal_reads(db, rows, access.principal), next_cursor=next_cursor)


@router.post("/deals", response_model=DealDetail, status_code=201, summary="Create a deal")
async def create_deal(body: DealCreate, db: DbDep,
                      access: Annotated[Access, require("crm.deal:create")]) -> DealDetail:
    owner_id = body.owner_id or _actor(access)
    access.ensure_owner(owner_id)
    pipeline = await db.get(Pipeline, body.pipeline_id)
    if pipeline is None:
        raise service.invalid([service.field_error("pipeline_id", "no such pipeline")], code="pipeline_not_found")
    stage = await service.stage_in_pipeline(db, pipeline, body.stage_id)
    service.check_currency(body.currency)
    rows, items_total = service.item_rows(body.items)
    await service.check_owner(db, body.owner_id)
    await service.check_contacts(db, body.contact_id, body.organization_id)
    tag_ids = await service.check_tags(db, body.tag_ids)
    custom = await service.check_custom_fields(db, body.custom_fields)
    now = utcnow()
    deal = Deal(title=body.title.strip() or body.title, pipeline_id=pipeline.id, stage_id=stage.id,
                contact_id=body.contact_id, organization_id=body.organization_id, owner_id=owner_id,
                value=items_total if rows else body.value, currency=body.currency,
                expected_close_date=body.expected_close_date, probability=body.probability, status="open",
                source=body.source, custom_fields=custom, position=await service.end_position(db, stage.id),
                stage_entered_at=now)
    db.add(deal)
    await db.flush()
    service.enter_stage(db, deal, now, _actor(access))
    await service.replace_items(db, deal, rows)
    await service.set_tags(db, deal, tag_ids)
    await db.flush()
    service.publish_deal(db, "deal.created", deal, stage_name=stage.name)
    return await _detail(db, deal, access)


@router.get("/deals/{deal_id}", response_model=DealDetail, summary="One deal with line items and stage history")
async def get_deal(deal_id: uuid.UUID, db: DbDep, access: DealReadAccess) -> DealDetail:
    return await _detail(db, await _visible_deal(db, deal_id, access), access)


@router.patch("/deals/{deal_id}", response_model=DealDetail, summary="Change a deal (and replace its line items)")
async def update_deal(deal_id: uuid.UUID, body: DealUpdate, db: DbDep, read: DealReadAccess,
                      access: Annotated[Access, require("crm.deal:update")]) -> DealDetail:
    deal = await _visible_deal(db, deal_id, read)
    access.ensure_owner(deal.owner_id)
    check_version(deal, body.version)
    given = body.model_fields_set - {"version"}
    # Every check (and every query) before the first change: see the module docstring of service.
    values: dict[str, Any] = {}
    for name in ("title", "currency", "source"):
        if name in given and getattr(body, name) is not None:
            values[name] = getattr(body, name)
    for name in ("expected_close_date", "probability", "contact_id", "organization_id"):
        if name in given:
            values[name] = getattr(body, name)
    if "value" in given and body.value is not None:
        values["value"] = body.value
    if "currency" in values:
        service.check_currency(values["currency"])
    if "owner_id" in given and body.owner_id != deal.owner_id:
        if body.owner_id is None:
            raise service.invalid([service.field_error("owner_id", "a deal needs an owner")])
        access.ensure_owner(body.owner_id)
        await service.check_owner(db, body.owner_id)
        values["owner_id"] = body.owner_id
    if {"contact_id", "organization_id"} & given:
        await service.check_contacts(db, values.get("contact_id"), values.get("organization_id"))
    rows = None
    if "items" in given and body.items is not None:
        rows, items_total = service.item_rows(body.items)
        if rows:
            values["value"] = items_total
    tag_ids = await service.check_tags(db, body.tag_ids) if body.tag_ids is not None else None
    if "custom_fields" in given and body.custom_fields is not None:
        values["custom_fields"] = await service.check_custom_fields(db, body.custom_fields,
                                                                    existing=deal.custom_fields or {})
    stage = await db.get(Stage, deal.stage_id)
    if rows is not None:
        await service.replace_items(db, deal, rows)
    if tag_ids is not None:
        await service.set_tags(db, deal, tag_ids)
    changed = sorted(name for name, value in values.items() if getattr(deal, name) != value)
    for name in changed:
        setattr(deal, name, values[name])
    if rows is not None or tag_ids is not None:
        changed = sorted(set(changed) | ({"items"} if rows is not None else set())
                         | ({"tags"} if tag_ids is not None else set()))
        if not (set(changed) - {"items", "tags"}):
            deal.updated_at = utcnow()  # a change of items or tags is a change of the deal: count the version up
    await db.flush()
    if changed:
        service.publish_deal(db, "deal.updated", deal, stage_name=stage.name if stage else "", changed=changed)
    return await _detail(db, deal, access)


@router.delete("/deals/{deal_id}", status_code=204, summary="Delete a deal (with items, history and tags)")
async def delete_deal(deal_id: uuid.UUID, db: DbDep, read: DealReadAccess,
                      access: Annotated[Access, require("crm.deal:delete")]) -> Response:
    deal = await _visible_deal(db, deal_id, read)
    access.ensure_owner(deal.owner_id)
    for model in (DealItem, DealStageHistory, DealTag):
        await db.execute(delete(model).where(model.deal_id == deal.id))
    service.publish_deal(db, "deal.deleted", deal)
    await db.delete(deal)
    await db.flush()
    return Response(status_code=204)


@router.post("/deals/{deal_id}/move", response_model=DealRead,
             summary="Move a card: to another stage of its pipeline and/or to a place within the stage")
async def move_deal(deal_id: uuid.UUID, body: DealMove, db: DbDep, read: DealReadAccess,
                    access: Annotated[Access, require("crm.deal:update")]) -> DealRead:
    deal = await _visible_deal(db, deal_id, read)
    access.ensure_owner(deal.owner_id)
    check_version(deal, body.version)
    if deal.status != "open":
        raise Conflict("Only open deals are on the board; reopen the deal first.", code="deal_not_open")
    if body.before_id is not None and body.after_id is not None:
        raise service.invalid([service.field_error("before_id", "give before_id or after_id, not both")])
    pipeline = await service.get_pipeline(db, deal.pipeline_id)
    target = await service.stage_in_pipeline(db, pipeline, body.stage_id)
    position = await service.drop_position(db, target.id, deal.id, index=body.position, before_id=body.before_id,
                                           after_id=body.after_id)
    from_stage_id = deal.stage_id
    now = utcnow()
    if target.id != from_stage_id:
        await service.leave_stage(db, deal, now)
        deal.stage_id = target.id
        deal.stage_entered_at = now
        deal.rotting_notified_at = None
        service.enter_stage(db, deal, now, _actor(access))
    deal.position = position
    await db.flush()
    if target.id != from_stage_id:
        service.publish_deal(db, "deal.stage_changed", deal, from_stage_id=from_stage_id, to_stage_id=target.id,
                             stage_name=target.name)
    else:
        service.publish_deal(db, "deal.reordered", deal, stage_name=target.name)
    return await _one(db, deal, access)


async def _close(db: AsyncSession, deal: Deal, status: str, reason: str | None) -> None:
    now = utcnow()
    await service.leave_stage(db, deal, now)
    deal.status = status
    deal.won_at = now if status == "won" else None
    deal.lost_at = now if status == "lost" else None
    deal.lost_reason = reason
    await db.flush()


async def _writable_open_deal(db: AsyncSession, deal_id: uuid.UUID, read: Access, access: Access,
                              version: int) -> Deal:
    deal = await _visible_deal(db, deal_id, read)
    access.ensure_owner(deal.owner_id)
    check_version(deal, version)
    if deal.status != "open":
        raise Conflict(f"The deal is already {deal.status}; reopen it first.", code="deal_not_open")
    return deal


@router.post("/deals/{deal_id}/won", response_model=DealRead, summary="Mark a deal as won")
async def win_deal(deal_id: uuid.UUID, body: DealWon, db: DbDep, read: DealReadAccess,
                   access: Annotated[Access, require("crm.deal:update")]) -> DealRead:
    deal = await _writable_open_deal(db, deal_id, read, access, body.version)
    await _close(db, deal, "won", None)
    service.publish_deal(db, "deal.won", deal)
    return await _one(db, deal, access)


@router.post("/deals/{deal_id}/lost", response_model=DealRead, summary="Mark a deal as lost, with a reason")
async def lose_deal(deal_id: uuid.UUID, body: DealLost, db: DbDep, read: DealReadAccess,
                    access: Annotated[Access, require("crm.deal:update")]) -> DealRead:
    reason = body.reason.strip()
    if not reason:
        raise service.invalid([service.field_error("reason", "must not be blank")])
    deal = await _writable_open_deal(db, deal_id, read, access, body.version)
    await _close(db, deal, "lost", reason)
    service.publish_deal(db, "deal.lost", deal, reason=reason)
    return await _one(db, deal, access)


@router.post("/deals/{deal_id}/reopen", response_model=DealRead,
             summary="Reopen a won or lost deal (back on the board, at the end of its stage)")
async def reopen_deal(deal_id: uuid.UUID, body: DealReopen, db: DbDep, read: DealReadAccess,
                      access: Annotated[Access, require("crm.deal:update")]) -> DealRead:
    deal = await _visible_deal(db, deal_id, read)
    access.ensure_owner(deal.owner_id)
    check_version(deal, body.version)
    if deal.status == "open":
        raise Conflict("The deal is open already.", code="deal_already_open")
    position = await service.end_position(db, deal.stage_id, exclude=deal.id)
    stage = await db.get(Stage, deal.stage_id)
    now = utcnow()
    deal.status, deal.won_at, deal.lost_at, deal.lost_reason = "open", None, None, None
    deal.position, deal.stage_entered_at, deal.rotting_notified_at = position, now, None
    service.enter_stage(db, deal, now, _actor(access))
    await db.flush()
    service.publish_deal(db, "deal.reopened", deal, stage_name=stage.name if stage else "")
    return await _one(db, deal, access)
