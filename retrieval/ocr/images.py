"""Decoding images for OCR within pixel bounds: tiny ones skipped, huge ones reduced or
refused before their pixels are unpacked."""

from __future__ import annotations

import io
import math
import struct
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

if TYPE_CHECKING:  # not imported: retrieval.parse imports this module
    from retrieval.parse.limits import ParseLimits


# raster formats only: no EPS (Ghostscript) or other formats that run external programs
FORMATS = ("PNG", "JPEG", "MPO", "WEBP", "GIF", "BMP", "TIFF")


class Unreadable(Exception):
    """An image that is not read, with the reason as its message."""


def open_image(data: bytes, limits: ParseLimits) -> Image.Image:
    """Decode `data` as an image ready for OCR, or raise `Unreadable` saying why not."""
    return bounded(_header(data), limits)


def _header(data: bytes) -> Image.Image:
    """The image opened lazily (its header read, no pixels) by the first format plugin
    that takes it. Not `Image.open`: its own pixel cap would refuse a huge JPEG before
    `bounded` could decode it reduced; our limits apply instead."""
    Image.init()
    for kind in FORMATS:
        factory, accept = Image.OPEN.get(kind, (None, None))
        if factory is None:
            continue
        if accept is not None and not accept(data[:16]):
            continue
        try:
            image: Image.Image = factory(io.BytesIO(data), "")
        except (SyntaxError, IndexError, TypeError, ValueError, OSError, struct.error):
            continue  # what Image.open also treats as "not this format"
        return image
    raise Unreadable("not an image format that can be read (PNG, JPEG, WebP, ...)")


def bounded(image: Image.Image, limits: ParseLimits) -> Image.Image:
    """Check the size before decoding, decode, and downscale to what OCR needs."""
    width, height = image.size
    check_size(width, height, limits)
    if width * height > limits.ocr_max_decode_pixels and image.format in {"JPEG", "MPO"}:
        # JPEG decodes at 1/2, 1/4 or 1/8 scale without unpacking the full image
        need = math.sqrt(width * height / limits.ocr_max_decode_pixels)
        scale = next((s for s in (2, 4, 8) if s >= need), 8)
        image.draft("L", (width // scale, height // scale))
    if image.size[0] * image.size[1] > limits.ocr_max_decode_pixels:
        raise Unreadable(
            f"image too large: {width:,}x{height:,} px ({width * height / 1e6:.0f} MP) is over "
            f"the {limits.ocr_max_decode_pixels / 1e6:g} MP that may be decoded"
        )
    try:
        image.load()
        image = ImageOps.exif_transpose(image) or image
    except (OSError, ValueError, SyntaxError) as exc:
        raise Unreadable("the image data is damaged or truncated") from exc
    return _for_ocr(image, limits)


def check_size(width: int, height: int, limits: ParseLimits) -> None:
    if min(width, height) < limits.ocr_min_side:
        raise Unreadable(f"image too small to hold text ({width}x{height} px)")


def _for_ocr(image: Image.Image, limits: ParseLimits) -> Image.Image:
    """Greyscale on white (transparent screenshots too), at most `ocr_max_pixels`."""
    if image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.new("RGBA", rgba.size, "white")
        image.alpha_composite(rgba)
    image = image.convert("L")
    width, height = image.size
    if width * height > limits.ocr_max_pixels:
        factor = math.sqrt(limits.ocr_max_pixels / (width * height))
        size = (max(1, int(width * factor)), max(1, int(height * factor)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image
