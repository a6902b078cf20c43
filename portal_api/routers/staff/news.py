"""News management (operators publish; P20)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from ingest.portal import audit
from ingest.portal import news as news_sql
from portal_api.deps import Conn, StaffUser, actor
from portal_api.errors import not_found, responses
from portal_api.schemas.records import NewsIn, NewsOut, news_out

router = APIRouter(prefix="/staff/news", tags=["staff: news"])


@router.get("", summary="All news, drafts included", responses=responses(401, 403, 422))
async def list_news(
    user: StaffUser,
    conn: Conn,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> list[NewsOut]:
    return [news_out(n) for n in await news_sql.everything(conn, limit=limit, offset=offset)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Write news",
    responses=responses(401, 403, 422),
)
async def create(body: NewsIn, user: StaffUser, conn: Conn) -> NewsOut:
    item = await news_sql.create(
        conn, title=body.title, body=body.body, published_at=body.published_at
    )
    await audit.record(
        conn,
        actor=actor(user),
        action="news.create",
        entity="news",
        entity_id=item.id,
        details={"title": item.title, "published": item.published_at is not None},
    )
    return news_out(item)


@router.get("/{news_id}", summary="One item, draft or not", responses=responses(401, 403, 404))
async def get_news(news_id: int, user: StaffUser, conn: Conn) -> NewsOut:
    item = await news_sql.get(conn, news_id, drafts=True)
    if item is None:
        raise not_found("no such news item")
    return news_out(item)


@router.put(
    "/{news_id}", summary="Edit, publish or unpublish", responses=responses(401, 403, 404, 422)
)
async def update(news_id: int, body: NewsIn, user: StaffUser, conn: Conn) -> NewsOut:
    item = await news_sql.update(
        conn, news_id, title=body.title, body=body.body, published_at=body.published_at
    )
    if item is None:
        raise not_found("no such news item")
    await audit.record(
        conn,
        actor=actor(user),
        action="news.update",
        entity="news",
        entity_id=news_id,
        details={"title": item.title, "published": item.published_at is not None},
    )
    return news_out(item)


@router.delete(
    "/{news_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete",
    responses=responses(401, 403, 404),
)
async def delete(news_id: int, user: StaffUser, conn: Conn) -> None:
    if not await news_sql.delete(conn, news_id):
        raise not_found("no such news item")
    await audit.record(
        conn, actor=actor(user), action="news.delete", entity="news", entity_id=news_id, details={}
    )
