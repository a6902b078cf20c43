"""Uploaded files: size-limited, type-checked by content, images re-encoded.

A photo is accepted only if its first bytes say JPEG or PNG *and* Pillow
parses and verifies it as that format; it is then decoded and encoded again,
which drops EXIF (GPS position, camera serial), XMP, comments and text chunks.
The orientation from EXIF is applied to the pixels first so the photo still
looks right. A PDF is parsed with pypdf and written again without its
document information dictionary (Author, Creator, Producer, Title, …) and
without XMP metadata streams; an encrypted PDF or one pypdf cannot read is
refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import UploadFile
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

from portal_api.errors import ProblemError

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
_MAGIC = {JPEG: b"\xff\xd8\xff", PNG: b"\x89PNG\r\n\x1a\n", PDF: b"%PDF-"}
_PIL_FORMAT = {JPEG: "JPEG", PNG: "PNG"}


@dataclass(frozen=True, slots=True)
class CleanFile:
    media_type: str
    content: bytes
    sha256: str
    width: int = 0
    height: int = 0


def too_large(limit: int) -> ProblemError:
    return ProblemError(
        413, "too-large", "Upload too large", f"the file is larger than {limit} bytes"
    )


def unsupported(detail: str) -> ProblemError:
    return ProblemError(415, "unsupported-type", "Unsupported file type", detail)


async def read_limited(upload: UploadFile, limit: int) -> bytes:
    """The whole upload, or 413 once it passes ``limit`` bytes."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit)
    if not data:
        raise ProblemError(422, "empty-file", "Empty file", "the file is empty")
    return data


def sniff(data: bytes) -> str | None:
    """The media type the content says it is (JPEG, PNG, PDF), or None."""
    for media_type, magic in _MAGIC.items():
        if data.startswith(magic):
            return media_type
    return None


async def clean_image(data: bytes, *, max_pixels: int) -> CleanFile:
    """A verified JPEG or PNG, re-encoded without metadata (else 415)."""
    media_type = sniff(data)
    if media_type not in _PIL_FORMAT:
        raise unsupported("a photo must be a JPEG or PNG image")
    return await asyncio.to_thread(_reencode, data, media_type, max_pixels)


def _reencode(data: bytes, media_type: str, max_pixels: int) -> CleanFile:
    fmt = _PIL_FORMAT[media_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
                width, height = probe.size
                if width * height > max_pixels:
                    raise unsupported(f"the image has more than {max_pixels} pixels")
                probe.verify()
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except ProblemError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise unsupported(f"not a valid {fmt} image") from exc
    out = io.BytesIO()
    if fmt == "JPEG":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(out, "JPEG", quality=90, optimize=True)
    else:
        upright.save(out, "PNG", optimize=True)
    content = out.getvalue()
    return CleanFile(
        media_type=media_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        width=upright.width,
        height=upright.height,
    )


async def clean_pdf(data: bytes) -> CleanFile:
    """A PDF that pypdf reads, written again without metadata (else 415)."""
    if sniff(data) != PDF or b"%%EOF" not in data[-2048:]:
        raise unsupported("a document must be a PDF file")
    return await asyncio.to_thread(_rewrite_pdf, data)


# Private data a PDF's objects may carry besides their content: XMP streams
# (on the catalog, pages, images, fonts) and applications' private data.
_PDF_METADATA_KEYS = ("/Metadata", "/PieceInfo")


def _rewrite_pdf(data: bytes) -> CleanFile:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise unsupported("the PDF is encrypted (password-protected); upload it without one")
        pages = len(reader.pages)
        if pages == 0:
            raise unsupported("the PDF has no pages")
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None  # the trailer's /Info: Author, Creator, Producer, Title, …
        _strip_metadata(writer.root_object)
        # the metadata streams are unlinked now: do not write them at all
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        out = io.BytesIO()
        writer.write(out)
    except ProblemError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on malformed input
        raise unsupported("not a valid PDF file: it cannot be read") from exc
    content = out.getvalue()
    return CleanFile(media_type=PDF, content=content, sha256=hashlib.sha256(content).hexdigest())


def _strip_metadata(root: PdfObject) -> None:
    """Remove the metadata keys from every dictionary reachable from ``root``."""
    stack: list[PdfObject | None] = [root]
    seen: set[tuple[int, int]] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            if (node.idnum, node.generation) in seen:
                continue
            seen.add((node.idnum, node.generation))
            node = node.get_object()
        if isinstance(node, DictionaryObject):  # streams too
            for key in _PDF_METADATA_KEYS:
                node.pop(key, None)
            stack.extend(node.values())
        elif isinstance(node, ArrayObject):
            stack.extend(node)


async def clean_attachment(data: bytes, *, max_pixels: int) -> CleanFile:
    """An appeal attachment: a photo (re-encoded) or a PDF scan (rewritten)."""
    if sniff(data) == PDF:
        return await clean_pdf(data)
    if sniff(data) in _PIL_FORMAT:
        return await clean_image(data, max_pixels=max_pixels)
    raise unsupported("an attachment must be a JPEG or PNG photo or a PDF scan")


_UNSAFE = re.compile(r"[^\w.\- ()]+")
_EXTENSION = {JPEG: ".jpg", PNG: ".png", PDF: ".pdf"}


def safe_filename(name: str | None, media_type: str, fallback: str = "file") -> str:
    """A filename without paths or control characters, with the right extension."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    stem = _UNSAFE.sub("_", base.rsplit(".", 1)[0] if "." in base else base).strip(" ._")
    return (stem[:100] or fallback) + _EXTENSION.get(media_type, "")


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """RFC 6266 header value with an ASCII fallback and the UTF-8 name."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
