"""OCR engines behind one small interface: Tesseract (the default) and RapidOCR.

Tesseract comes from Debian (`tesseract-ocr`, a language pack per language) and runs as
a separate process per image, so a timeout kills it cleanly. RapidOCR (ONNX models in
its wheel) is optional: `pip install rapidocr-onnxruntime`. benchmarks/ocr_bench.py
measures both; docs/README say why Tesseract is the default.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Protocol

from PIL import Image

ENGINES = ("tesseract", "rapidocr", "none")


class EngineUnavailable(Exception):
    """The engine cannot run on this machine; the message says what to install."""


class OcrTimeout(Exception):
    """One image took longer than it may."""


class OcrEngine(Protocol):
    name: str

    def read(self, image: Image.Image, timeout: float) -> str:
        """The text in `image`, lines in reading order; `OcrTimeout` past `timeout` s."""
        ...


class Tesseract:
    name = "tesseract"

    def __init__(self, languages: str = "eng") -> None:
        import pytesseract

        # one thread per image: the parsing pool already runs one child per core
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        try:
            pytesseract.get_tesseract_version()
            installed = set(pytesseract.get_languages(config=""))
        except (pytesseract.TesseractNotFoundError, OSError) as exc:
            raise EngineUnavailable(
                "the OCR engine Tesseract is not installed (Debian package tesseract-ocr)"
            ) from exc
        missing = [code for code in languages.split("+") if code not in installed]
        if missing:
            raise EngineUnavailable(
                f"Tesseract has no language data for {', '.join(missing)} "
                f"(Debian package tesseract-ocr-{missing[0]})"
            )
        self.languages = languages
        self._pytesseract = pytesseract

    def read(self, image: Image.Image, timeout: float) -> str:
        try:
            text: str = self._pytesseract.image_to_string(
                image, lang=self.languages, timeout=max(1, int(timeout))
            )
        except RuntimeError as exc:  # pytesseract's way of saying it killed tesseract
            if "timeout" in str(exc).lower():
                raise OcrTimeout(str(exc)) from exc
            raise
        return text


class RapidOcr:
    name = "rapidocr"

    def __init__(self, languages: str = "eng") -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise EngineUnavailable(
                "the OCR engine RapidOCR is not installed (pip install rapidocr-onnxruntime)"
            ) from exc
        self._engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)

    def read(self, image: Image.Image, timeout: float) -> str:
        import numpy as np

        result, _ = self._engine(np.asarray(image.convert("RGB")))
        return _lines(result or [])


def _lines(boxes: list[Any]) -> str:
    """RapidOCR's (box, text, score) triples as lines: boxes whose middles share a row."""
    items = []
    for box, text, _score in boxes:
        ys = [point[1] for point in box]
        items.append(((min(ys) + max(ys)) / 2, max(ys) - min(ys), min(p[0] for p in box), text))
    items.sort()
    lines: list[list[tuple[float, str]]] = []
    last_mid = -1e9
    for mid, height, left, text in items:
        if lines and abs(mid - last_mid) < height / 2:
            lines[-1].append((left, text))
        else:
            lines.append([(left, text)])
            last_mid = mid
    return "\n".join(" ".join(t for _, t in sorted(line)) for line in lines)


@functools.lru_cache(maxsize=4)
def open_engine(name: str, languages: str) -> OcrEngine:
    """The named engine, loaded once per process; `EngineUnavailable` says why not."""
    if name == "tesseract":
        return Tesseract(languages)
    if name == "rapidocr":
        return RapidOcr(languages)
    if name == "none":
        raise EngineUnavailable("OCR is turned off (LEARNLOOP_OCR_ENGINE=none)")
    raise EngineUnavailable(f"unknown OCR engine {name!r}; choose one of {', '.join(ENGINES)}")
