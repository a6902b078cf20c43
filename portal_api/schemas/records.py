"""Contact-change requests (P18), news (P20) and services (P1)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from ingest.portal.contact_changes import ChangeRequest
from ingest.portal.news import NewsItem
from ingest.portal.services import Service
from portal_api.schemas.common import Email


class ContactChange(BaseModel):
    """New contact data; at least one field."""

    holder_name: str | None = Field(
        default=None, min_length=1, max_length=200, examples=["Олена Ковальчук"]
    )
    phone: str | None = Field(
        default=None, pattern=r"^\+?[0-9 ()-]{5,31}$", examples=["+380501234567"]
    )
    email: Email | None = None
    comment: str = Field(default="", max_length=2000, examples=["Новий номер телефону"])

    @model_validator(mode="after")
    def _something(self) -> ContactChange:
        if self.holder_name is None and self.phone is None and self.email is None:
            raise ValueError("give at least one of holder_name, phone, email")
        return self


class ContactChangeOut(BaseModel):
    id: int = Field(examples=[4])
    account_number: str = Field(examples=["10000001"])
    holder_name: str | None
    phone: str | None
    email: str | None
    comment: str
    status: Literal["pending", "applied", "rejected"] = Field(examples=["pending"])
    review_note: str = Field(examples=[""])
    reviewed_at: datetime | None
    created_at: datetime


class Review(BaseModel):
    note: str = Field(default="", max_length=2000, examples=["Дані перевірено"])


def change_out(r: ChangeRequest) -> ContactChangeOut:
    return ContactChangeOut(
        id=r.id,
        account_number=r.account_number,
        holder_name=r.holder_name,
        phone=r.phone,
        email=r.email,
        comment=r.comment,
        status=r.status,  # type: ignore[arg-type]
        review_note=r.review_note,
        reviewed_at=r.reviewed_at,
        created_at=r.created_at,
    )


class NewsOut(BaseModel):
    id: int = Field(examples=[1])
    title: str = Field(examples=["Графік планових відключень"])
    body: str = Field(examples=["У зв'язку з ремонтом лінії…"])
    published_at: datetime | None = Field(description="None: a draft (staff only).")
    updated_at: datetime


class NewsIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20000)
    published_at: datetime | None = Field(
        default=None, description="Publish at this time; None keeps a draft."
    )


def news_out(n: NewsItem) -> NewsOut:
    return NewsOut(
        id=n.id, title=n.title, body=n.body, published_at=n.published_at, updated_at=n.updated_at
    )


class ServiceOut(BaseModel):
    id: int = Field(examples=[1])
    name: str = Field(examples=["Позачергове зняття показів лічильника"])
    description: str = Field(examples=["На замовлення споживача"])
    price_kop: int = Field(description="Price in kopiykas (1/100 UAH).", examples=[24000])
    price: str = Field(description="The same in UAH, exact.", examples=["240.00"])
    unit: str = Field(examples=["послуга"])
    vat_included: bool = Field(examples=[True])
    active: bool


class ServiceIn(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=5000)
    price_kop: int = Field(ge=0, le=10**12, examples=[24000])
    unit: str = Field(min_length=1, max_length=50, examples=["послуга"])
    vat_included: bool = True
    position: int = Field(default=0, ge=-(10**6), le=10**6)
    active: bool = True


def service_out(s: Service) -> ServiceOut:
    return ServiceOut(
        id=s.id,
        name=s.name,
        description=s.description,
        price_kop=s.price_kop,
        price=f"{s.price_kop // 100}.{s.price_kop % 100:02d}",
        unit=s.unit,
        vat_included=s.vat_included,
        active=s.active,
    )
