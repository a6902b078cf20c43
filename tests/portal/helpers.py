"""Checks several portal tests share."""

from __future__ import annotations

import io
import os
from pathlib import Path

from lxml import etree
from PIL import Image


def _standards() -> Path:
    """The Green Button XSDs of the project's shared/ folder (beside the checkout in CI);
    METERGATE_GREENBUTTON_XSD_DIR overrides."""
    if configured := os.environ.get("METERGATE_GREENBUTTON_XSD_DIR"):
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "standards" / "greenbutton"
        if (candidate / "espi.xsd").exists():
            return candidate
    raise FileNotFoundError(
        "Green Button schemas not found: put the project's shared/ folder beside the checkout "
        "or set METERGATE_GREENBUTTON_XSD_DIR to the folder holding espi.xsd and atom.xsd"
    )


STANDARDS = _standards()


def greenbutton_schema() -> etree.XMLSchema:
    """A wrapper schema importing Atom and ESPI, so a feed validates as a whole
    (the Atom ``content`` holds ESPI elements, checked strictly)."""
    wrapper = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
                  targetNamespace="urn:metergate:test" elementFormDefault="qualified">
      <xs:import namespace="http://www.w3.org/2005/Atom"
                 schemaLocation="{(STANDARDS / "atom.xsd").as_uri()}"/>
      <xs:import namespace="http://naesb.org/espi"
                 schemaLocation="{(STANDARDS / "espi.xsd").as_uri()}"/>
    </xs:schema>"""
    return etree.XMLSchema(etree.fromstring(wrapper.encode(), base_url=STANDARDS.as_uri() + "/"))


def validate_espi(xml: bytes) -> etree._Element:
    """Parse and validate a Green Button feed; return its root (raises on error)."""
    schema = greenbutton_schema()
    root = etree.fromstring(xml)
    schema.assertValid(root)
    return root


def exif_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())
