"""Company news (P20), public."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ingest.portal import news as news_sql
from portal_api.deps import Conn
from portal_api.errors import not_found, responses
from portal_api.links import page_link
from portal_api.schemas.common import Page
from portal_api.schemas.records import NewsOut, news_out

router = APIRouter(prefix="/news", tags=["news"])


@router.get("", summary="Published news, newest first (P20)", responses=responses(422))
async def list_news(
    request: Request,
    conn: Conn,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Page[NewsOut]:
    total, items = await news_sql.published(conn, limit=page_size, offset=(page - 1) * page_size)
    more = page * page_size < total
    return Page[NewsOut](
        count=total,
        next=page_link(request, page=page + 1) if more else None,
        previous=page_link(request, page=page - 1) if page > 1 else None,
        results=[news_out(n) for n in items],
    )


@router.get("/{news_id}", summary="One news item (P20)", responses=responses(404, 422))
async def get_news(news_id: int, conn: Conn) -> NewsOut:
    item = await news_sql.get(conn, news_id, drafts=False)
    if item is None:
        raise not_found("no such news item")
    return news_out(item)
