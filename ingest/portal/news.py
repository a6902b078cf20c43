"""Company news (P20): published items for everyone, drafts for staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingest.portal._sql import Conn, many, one, run, scalar

_COLUMNS = "id, title, body, published_at, created_at, updated_at"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewsItem:
    id: int
    title: str
    body: str
    published_at: datetime | None
    """None: a draft."""
    created_at: datetime
    updated_at: datetime


async def published(conn: Conn, *, limit: int, offset: int) -> tuple[int, list[NewsItem]]:
    """Published items, newest first, and how many there are."""
    total = await scalar(
        conn, "SELECT count(*) FROM news WHERE published_at IS NOT NULL AND published_at <= now()"
    )
    items = await many(
        conn,
        NewsItem,
        f"""SELECT {_COLUMNS} FROM news
            WHERE published_at IS NOT NULL AND published_at <= now()
            ORDER BY published_at DESC, id DESC LIMIT %s OFFSET %s""",
        (limit, offset),
    )
    return int(total), items


async def get(conn: Conn, news_id: int, *, drafts: bool) -> NewsItem | None:
    return await one(
        conn,
        NewsItem,
        f"""SELECT {_COLUMNS} FROM news WHERE id = %s
            AND (%s OR (published_at IS NOT NULL AND published_at <= now()))""",
        (news_id, drafts),
    )


async def everything(conn: Conn, *, limit: int, offset: int) -> list[NewsItem]:
    return await many(
        conn,
        NewsItem,
        f"""SELECT {_COLUMNS} FROM news ORDER BY coalesce(published_at, created_at) DESC, id DESC
            LIMIT %s OFFSET %s""",
        (limit, offset),
    )


async def create(conn: Conn, *, title: str, body: str, published_at: datetime | None) -> NewsItem:
    row = await one(
        conn,
        NewsItem,
        f"INSERT INTO news (title, body, published_at) VALUES (%s, %s, %s) RETURNING {_COLUMNS}",
        (title, body, published_at),
    )
    assert row is not None
    return row


async def update(
    conn: Conn, news_id: int, *, title: str, body: str, published_at: datetime | None
) -> NewsItem | None:
    return await one(
        conn,
        NewsItem,
        f"""UPDATE news SET title = %s, body = %s, published_at = %s, updated_at = now()
            WHERE id = %s RETURNING {_COLUMNS}""",
        (title, body, published_at, news_id),
    )


async def delete(conn: Conn, news_id: int) -> bool:
    return await run(conn, "DELETE FROM news WHERE id = %s", (news_id,)) == 1
