"""Reading the images of one file within its OCR budget, noting what could not be read."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from PIL import Image

from retrieval.ocr.engines import EngineUnavailable, OcrEngine, OcrTimeout, open_engine
from retrieval.ocr.images import Unreadable, bounded, check_size, open_image
from retrieval.reading import SkippedPart

if TYPE_CHECKING:  # not imported: retrieval.parse imports this module
    from retrieval.parse.limits import ParseLimits

log = logging.getLogger(__name__)


class ImageReader:
    """One file's OCR: each image bounded in pixels and seconds, the file in images and
    seconds; every image not read is kept as a `SkippedPart` with its reason."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self.read_count = 0
        self.skipped: list[SkippedPart] = []
        self._spent = 0.0
        self._tried = 0
        self._engine: OcrEngine | None = None
        self._unavailable = ""

    def read_bytes(self, data: bytes, part: str) -> str:
        """The text of an encoded image (PNG, JPEG, ...); "" when none was read."""
        if not self._ready(part):
            return ""
        try:
            image = open_image(data, self.limits)
        except Unreadable as exc:
            return self.skip(part, str(exc))
        return self._ocr(image, part)

    def read_image(self, image: Image.Image, part: str) -> str:
        """The text of an image already decoded (a rendered page); "" when none was read."""
        if not self._ready(part):
            return ""
        try:
            image = bounded(image, self.limits)
        except Unreadable as exc:
            return self.skip(part, str(exc))
        return self._ocr(image, part)

    def wants(self, width: int, height: int, part: str) -> bool:
        """False (and the part noted) when an image of this size cannot be read."""
        try:
            check_size(width, height, self.limits)
        except Unreadable as exc:
            self.skip(part, str(exc))
            return False
        return self._ready(part)

    def skip(self, part: str, reason: str) -> str:
        self.skipped.append(SkippedPart(part, reason))
        return ""

    def _ready(self, part: str) -> bool:
        """An engine is there and the file's budget is not spent; else the part is noted."""
        if self._engine is None and not self._unavailable:
            try:
                self._engine = open_engine(self.limits.ocr_engine, self.limits.ocr_languages)
            except EngineUnavailable as exc:
                self._unavailable = f"not read: {exc}"
        if self._engine is None:
            self.skip(part, self._unavailable)
            return False
        if self._tried >= self.limits.ocr_max_images:
            self.skip(part, f"not read: only {self.limits.ocr_max_images} images are read per file")
            return False
        if self._spent >= self.limits.ocr_seconds:
            spent = f"{self.limits.ocr_seconds:.0f} s"
            self.skip(part, f"not read: the file's OCR time ({spent}) ran out")
            return False
        return True

    def _ocr(self, image: Image.Image, part: str) -> str:
        engine = self._engine
        if engine is None:  # _ready() said no
            return ""
        self._tried += 1
        timeout = min(self.limits.ocr_image_seconds, self.limits.ocr_seconds - self._spent)
        started = time.perf_counter()
        try:
            text = engine.read(image, timeout)
        except OcrTimeout:
            return self.skip(part, f"reading it took over {timeout:.0f} s")
        except Exception as exc:  # an engine failing on one image must not sink the file
            log.warning("ocr failed engine=%s error=%s", engine.name, type(exc).__name__)
            return self.skip(part, f"the OCR engine failed on it ({type(exc).__name__})")
        finally:
            self._spent += time.perf_counter() - started
        text = "\n".join(line.strip() for line in text.splitlines() if line.strip())
        if not _has_words(text):
            return self.skip(part, "no readable text in the image")
        self.read_count += 1
        return text


def _has_words(text: str) -> bool:
    """At least one run of 2+ letters or digits: specks read as "|" or "." are not text."""
    return any(sum(ch.isalnum() for ch in word) >= 2 for word in text.split())
