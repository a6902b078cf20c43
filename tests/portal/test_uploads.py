"""Uploads are checked by content, limited in size, and photos lose metadata."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from pypdf import PdfReader

from tests.portal.helpers import exif_of
from tests.portal.world import PDF, World, jpeg_with_exif, pdf, png, sha256


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "photo_max_bytes": 64 * 1024,
        "attachment_max_bytes": 64 * 1024,
        "document_max_bytes": 64 * 1024,
        "max_request_bytes": 256 * 1024,
        "image_max_pixels": 4_000_000,
    }


def _photos_path(world: World) -> str:
    return (
        f"/api/v1/accounts/{world.a.number}/readings/submissions/{world.ids['submission']}/photos"
    )


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "GIF")
    return out.getvalue()


def _png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG that claims 900 million pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


BAD_PHOTOS = {
    "gif": ("meter.gif", _gif(), "image/gif"),
    "text named jpg": ("meter.jpg", b"<?php system($_GET['c']); ?>", "image/jpeg"),
    "pdf named png": ("meter.png", PDF, "image/png"),
    "truncated jpeg": ("meter.jpg", jpeg_with_exif()[:200], "image/jpeg"),
    "png magic, garbage": ("meter.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png"),
    "decompression bomb": ("meter.png", _png_bomb(), "image/png"),
}


@pytest.mark.parametrize("name", list(BAD_PHOTOS))
async def test_a_photo_that_is_not_a_jpeg_or_png_is_refused(world: World, name: str) -> None:
    r = await world.clients["consumer_a"].post(
        _photos_path(world), files={"photo": BAD_PHOTOS[name]}
    )
    assert r.status_code == 415, r.text
    assert r.json()["type"] == "urn:metergate:problem:unsupported-type"
    count = world.portal.sql("SELECT count(*) FROM submission_photos")[0][0]
    assert count == 1  # only the world's own photo


async def test_a_photo_over_the_limit_is_refused(world: World) -> None:
    big = io.BytesIO()
    Image.effect_noise((200, 200), 100).convert("RGB").save(big, "PNG")
    assert 64 * 1024 < len(big.getvalue()) < 256 * 1024
    r = await world.clients["consumer_a"].post(
        _photos_path(world), files={"photo": ("big.png", big.getvalue(), "image/png")}
    )
    assert r.status_code == 413
    assert r.json()["type"] == "urn:metergate:problem:too-large"


async def test_a_request_over_the_body_limit_is_refused_early(world: World) -> None:
    r = await world.clients["consumer_a"].post(
        _photos_path(world), files={"photo": ("huge.png", b"\x89PNG" + b"0" * 300_000, "image/png")}
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"


async def test_exif_is_stripped_and_the_image_kept(world: World) -> None:
    original = jpeg_with_exif((120, 90))
    assert 0x8825 in exif_of(original)  # GPS
    a = world.clients["consumer_a"]
    r = await a.post(_photos_path(world), files={"photo": ("gps.jpg", original, "image/jpeg")})
    assert r.status_code == 201, r.text
    meta = r.json()
    assert (meta["media_type"], meta["width"], meta["height"]) == ("image/jpeg", 120, 90)
    stored = await a.get(f"{_photos_path(world)}/{meta['id']}")
    assert exif_of(stored.content) == {}
    assert b"MeterCam" not in stored.content
    assert b"CAMERA-SERIAL" not in stored.content
    with Image.open(io.BytesIO(stored.content)) as image:
        assert image.size == (120, 90)


async def test_exif_orientation_is_applied_before_stripping(world: World) -> None:
    image = Image.new("RGB", (60, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    r = await world.clients["consumer_a"].post(
        _photos_path(world), files={"photo": ("rot.jpg", out.getvalue(), "image/jpeg")}
    )
    assert (r.json()["width"], r.json()["height"]) == (20, 60)


async def test_png_text_chunks_are_dropped(world: World) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address: secret street 5")
    out = io.BytesIO()
    Image.new("RGB", (16, 16)).save(out, "PNG", pnginfo=info)
    a = world.clients["consumer_a"]
    r = await a.post(_photos_path(world), files={"photo": ("t.png", out.getvalue(), "image/png")})
    assert r.status_code == 201
    stored = await a.get(f"{_photos_path(world)}/{r.json()['id']}")
    assert b"secret street" not in stored.content


async def test_appeal_attachments_take_photos_and_pdfs_only(world: World) -> None:
    a = world.clients["consumer_a"]
    path = f"/api/v1/accounts/{world.a.number}/appeals"
    form = {"category": "other", "text": "Див. вкладення"}
    for name, data, kind, expected in (
        ("scan.pdf", PDF, "application/pdf", 201),
        ("photo.png", png(), "image/png", 201),
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 64, "application/pdf", 415),
        ("fake.pdf", b"%PDF-1.4 but no end", "application/pdf", 415),
    ):
        r = await a.post(path, data=form, files={"attachment": (name, data, kind)})
        assert r.status_code == expected, (name, r.text)


async def test_contract_documents_must_be_pdf(world: World) -> None:
    op = world.clients["operator"]
    path = f"/api/v1/staff/contracts/{world.ids['contract']}/documents"
    r = await op.post(
        path,
        data={"kind": "annex", "title": "Фото"},
        files={"file": ("a.png", png(), "application/pdf")},
    )
    assert r.status_code == 415
    r = await op.post(
        path,
        data={"kind": "annex", "title": "../../etc/passwd"},
        files={"file": ("../../etc/passwd.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 201
    assert r.json()["filename"] == "passwd.pdf"


async def test_a_streamed_body_over_the_limit_is_refused(world: World) -> None:
    """No Content-Length (chunked): the cap applies while the body arrives."""

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 10_000

    r = await world.clients["consumer_a"].post(
        f"/api/v1/accounts/{world.a.number}/contact-changes",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["type"] == "urn:metergate:problem:too-large"


def _xmp(creator: str) -> bytes:
    return (
        b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
        b' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description'
        b' xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>'
        + creator.encode()
        + b"</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
        b'<?xpacket end="w"?>'
    )


PAGES = ((595, 842), (842, 595), (300, 400))
INFO = {
    "/Author": "Petrenko Ivan",
    "/Creator": "HomeScanner Pro",
    "/Producer": "ScanLib serial 0042",
    "/Title": "Passport scan",
}
SECRETS = [v.encode() for v in INFO.values()] + [b"XMP-CATALOG-CREATOR", b"XMP-PAGE-CREATOR"]


def _pdf_with_metadata() -> bytes:
    data = pdf(PAGES, info=INFO, xmp=_xmp("XMP-CATALOG-CREATOR"), page_xmp=_xmp("XMP-PAGE-CREATOR"))
    # the original does carry all of it (else the test below proves nothing)
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None
    assert reader.metadata.author == INFO["/Author"]
    assert reader.xmp_metadata is not None
    assert "/Metadata" in reader.pages[0]
    assert all(secret in data for secret in SECRETS)
    return data


def _assert_clean(content: bytes) -> None:
    for secret in SECRETS:
        assert secret not in content, secret
    assert b"/Metadata" not in content
    assert b"xmpmeta" not in content
    reader = PdfReader(io.BytesIO(content))
    assert reader.metadata is None  # no /Info in the trailer at all
    assert reader.xmp_metadata is None
    assert [(p.mediabox.width, p.mediabox.height) for p in reader.pages] == list(PAGES)


async def test_pdf_metadata_is_stripped_from_contract_documents(world: World) -> None:
    op = world.clients["operator"]
    path = f"/api/v1/staff/contracts/{world.ids['contract']}/documents"
    r = await op.post(
        path,
        data={"kind": "annex", "title": "Скан"},
        files={"file": ("scan.pdf", _pdf_with_metadata(), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    stored = await op.get(f"{path}/{r.json()['id']}")
    assert stored.status_code == 200
    _assert_clean(stored.content)
    assert r.json()["sha256"] == sha256(stored.content)  # what is kept is the clean file
    consumer = await world.clients["consumer_a"].get(
        f"/api/v1/accounts/{world.a.number}/contracts/{world.ids['contract']}"
        f"/documents/{r.json()['id']}"
    )
    assert consumer.content == stored.content


async def test_pdf_metadata_is_stripped_from_appeal_attachments(world: World) -> None:
    a = world.clients["consumer_a"]
    path = f"/api/v1/accounts/{world.a.number}/appeals"
    r = await a.post(
        path,
        data={"category": "other", "text": "Скан паспорта"},
        files={"attachment": ("passport.pdf", _pdf_with_metadata(), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    appeal = r.json()
    stored = await a.get(f"{path}/{appeal['id']}/attachments/{appeal['attachments'][0]['id']}")
    assert stored.status_code == 200
    _assert_clean(stored.content)


BAD_PDFS = {
    "truncated": _pdf_with_metadata()[:700] + b"\n%%EOF\n",
    "garbage between header and trailer": b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n",
    "no pages": pdf(()),
    "encrypted": pdf(password="secret"),
}


@pytest.mark.parametrize("name", list(BAD_PDFS))
async def test_a_pdf_that_cannot_be_read_is_refused(world: World, name: str) -> None:
    documents = world.portal.sql("SELECT count(*) FROM contract_documents")[0][0]
    r = await world.clients["operator"].post(
        f"/api/v1/staff/contracts/{world.ids['contract']}/documents",
        data={"kind": "annex", "title": "Скан"},
        files={"file": ("scan.pdf", BAD_PDFS[name], "application/pdf")},
    )
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:metergate:problem:unsupported-type"
    expected = {
        "truncated": "not a valid PDF file: it cannot be read",
        "garbage between header and trailer": "not a valid PDF file: it cannot be read",
        "no pages": "the PDF has no pages",
        "encrypted": "the PDF is encrypted (password-protected); upload it without one",
    }
    assert problem["detail"] == expected[name]
    assert world.portal.sql("SELECT count(*) FROM contract_documents")[0][0] == documents
    r = await world.clients["consumer_a"].post(
        f"/api/v1/accounts/{world.a.number}/appeals",
        data={"category": "other", "text": "Скан"},
        files={"attachment": ("scan.pdf", BAD_PDFS[name], "application/pdf")},
    )
    assert r.status_code == 415, r.text
    assert r.json()["detail"] == expected[name]
