"""How much a single file may cost to parse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

MiB = 1024 * 1024

# formats that can hold images to read: they get the OCR time on top of the parse time
IMAGE_BEARING = frozenset({".pdf", ".docx", ".pptx", ".png", ".jpg", ".jpeg", ".webp"})


@dataclass(frozen=True)
class ParseLimits:
    """Limits on one file's parse; the pre-checks refuse most offenders before parsing."""

    memory_bytes: int = 1024 * MiB  # address space of a parsing child (RLIMIT_AS)
    cpu_seconds: int = 60  # CPU time of a parsing child per file (RLIMIT_CPU)
    wall_seconds: float = 120.0  # a child blocked for longer is killed
    max_text_chars: int = 40_000_000  # extracted text, all sections together
    max_sections: int = 50_000
    max_unpacked_bytes: int = 200 * MiB  # OOXML: declared size of all zip members
    max_member_ratio: float = 200.0  # OOXML: uncompressed / compressed, per large member
    max_members: int = 10_000  # OOXML: zip entries
    max_html_elements: int = 400_000  # start tags in an HTML page
    # OCR (retrieval/ocr): the engine, and what one image and one file may cost
    ocr_engine: str = "tesseract"  # tesseract | rapidocr | none
    ocr_languages: str = "eng"  # Tesseract language codes joined by "+"
    ocr_seconds: float = 300.0  # all OCR of one file (a 100-page scan takes about 100 s)
    ocr_image_seconds: float = 30.0  # one page or figure
    ocr_max_images: int = 500  # figures and scanned pages read per file
    ocr_dpi: int = 200  # scanned PDF pages are rendered at this resolution
    ocr_max_pixels: int = 12_000_000  # an image is downscaled to this before OCR
    ocr_max_decode_pixels: int = 100_000_000  # larger images are refused (or JPEGs reduced)
    ocr_min_side: int = 16  # images narrower or lower than this cannot hold a line of text

    def seconds_for(self, name: str) -> tuple[float, float]:
        """(CPU, wall) seconds one file may take: files with images get the OCR time too."""
        extra = self.ocr_seconds if PurePath(name).suffix.lower() in IMAGE_BEARING else 0.0
        return self.cpu_seconds + extra, self.wall_seconds + extra
