"""OCR benchmark: prints figures, asserts nothing (not in CI).

Draws known text into images of four kinds (a scanned document page at 200 DPI, a
screenshot with small UI-sized text, a photo of a notice: tilted, blurred, noisy, on
off-white, and a slide with white text on a dark background), reads each with every OCR
engine installed here (Tesseract through pytesseract; RapidOCR if `rapidocr-onnxruntime`
is installed), and reports per engine and kind: images per second on the CPU (one
thread) and the character error rate against the known text (Levenshtein distance /
length, whitespace folded; also with all spaces removed, which does not count an
engine's lost word gaps). Then a scanned PDF of --pages pages goes through the parsing
sandbox as an upload would (render + OCR + limits), against the OCR budget.

Usage: python benchmarks/ocr_bench.py [--repeat 2] [--pages 20]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' image builders

from PIL import Image, ImageChops  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from retrieval.ocr.engines import EngineUnavailable, open_engine  # noqa: E402
from retrieval.ocr.images import bounded  # noqa: E402
from retrieval.parse.limits import ParseLimits  # noqa: E402
from retrieval.parse.sandbox import SandboxParser  # noqa: E402
from tests.images import encoded, scanned_pdf, text_image  # noqa: E402

PARAGRAPHS = [
    "LearnLoop answers questions from your company's training material, quotes its "
    "sources, and tells you honestly when the material does not cover a question.",
    "Administrators add material by sharing a file with the bot: PDF, Word, PowerPoint, "
    "HTML, Markdown or plain text, up to 25 MB per file.",
    "Material can be restricted to named groups with --audience GROUP. People outside "
    "the group never see it in answers or search results.",
    "Expense claims above 250 EUR need approval from a line manager within 14 days; "
    "report a lost badge to security at extension 4417.",
]


def samples(seed: int = 7) -> list[tuple[str, str, Image.Image]]:
    rng = random.Random(seed)
    out = []
    for n, text in enumerate(PARAGRAPHS):
        out.append(("document page", text, _page(text, rng)))
        out.append(("screenshot", text, text_image(text, 15, 760, "#eef2fb", "#1d2340")))
        photo = text_image(text, 26, 1100, "#e9e2cf", "#2b2b2b", rng.uniform(-3, 3), 1.1)
        out.append(("photo", text, _noisy(photo, 18, seed + n)))
        out.append(("dark slide", text, text_image(text, 30, 1280, "#1f2a44", "white")))
    return out


def _page(text: str, rng: random.Random) -> Image.Image:
    """A letter page at 200 DPI with the paragraph a third of the way down."""
    page = Image.new("RGB", (1700, 2200), "white")
    block = text_image(text, 36, 1400)
    page.paste(block, (150 + rng.randrange(20), 600 + rng.randrange(40)))
    return page


def _noisy(image: Image.Image, sigma: float, seed: int) -> Image.Image:
    random.seed(seed)
    noise = Image.effect_noise(image.size, sigma).convert("RGB")
    return ImageChops.add(image, noise, scale=1.0, offset=-128)


def cer(truth: str, got: str, spaces: bool = True) -> float:
    fold = (lambda s: " ".join(s.split())) if spaces else (lambda s: "".join(s.split()))
    return Levenshtein.distance(fold(truth), fold(got)) / max(1, len(fold(truth)))


def measure(engine_name: str, items: list[tuple[str, str, Image.Image]], repeat: int) -> None:
    try:
        engine = open_engine(engine_name, "eng")
    except EngineUnavailable as exc:
        print(f"{engine_name}: not measured ({exc})")
        return
    limits = ParseLimits()
    engine.read(bounded(items[0][2].copy(), limits), 60)  # load models outside the timing
    by_kind: dict[str, list[tuple[float, float, float]]] = {}
    for kind, truth, image in items:
        prepared = bounded(image.copy(), limits)
        started = time.perf_counter()
        for _ in range(repeat):
            got = engine.read(prepared, 60)
        seconds = (time.perf_counter() - started) / repeat
        by_kind.setdefault(kind, []).append((seconds, cer(truth, got), cer(truth, got, False)))
    print(f"\n{engine_name}")
    print(f"  {'kind':<14} {'images/s':>9} {'CER':>7} {'CER no spaces':>14}")
    total_s = total_n = 0.0
    all_cer: list[float] = []
    for kind, rows in by_kind.items():
        seconds = sum(r[0] for r in rows)
        total_s += seconds
        total_n += len(rows)
        all_cer += [r[1] for r in rows]
        mean = sum(r[1] for r in rows) / len(rows)
        mean_ns = sum(r[2] for r in rows) / len(rows)
        print(f"  {kind:<14} {len(rows) / seconds:>9.2f} {mean:>7.3f} {mean_ns:>14.3f}")
    overall = total_n / total_s
    print(f"  {'all':<14} {overall:>9.2f} {sum(all_cer) / len(all_cer):>7.3f}")


def scanned_upload(pages: int) -> None:
    """A scanned PDF through the sandbox as an upload: render + OCR of every page."""
    rng = random.Random(3)
    images = [_page(PARAGRAPHS[n % len(PARAGRAPHS)], rng) for n in range(pages)]
    data = scanned_pdf(images)
    limits = ParseLimits()
    sandbox = SandboxParser(limits, workers=1)
    try:
        sandbox.parse("warm-up.png", encoded(text_image(PARAGRAPHS[0])))
        started = time.perf_counter()
        doc = sandbox.parse("scan.pdf", data)
        seconds = time.perf_counter() - started
    finally:
        sandbox.close()
    reading = doc.reading
    print(
        f"\nscanned PDF through the sandbox (tesseract): {pages} pages, {len(data) / 1e6:.1f} MB"
        f"\n  {seconds:.1f} s = {pages / seconds:.2f} pages/s; read {reading.summary()};"
        f" skipped {len(reading.skipped)}; peak child RSS {sandbox.peak_rss / 2**20:.0f} MiB"
        f"\n  a 100-page scan at this rate: {100 / (pages / seconds):.0f} s of the"
        f" {limits.ocr_seconds:.0f} s OCR budget per file"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--engines", default="tesseract,rapidocr")
    args = parser.parse_args()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    print("load average (1, 5, 15 min) before:", os.getloadavg(), "on", os.cpu_count(), "CPUs")
    items = samples()
    print(f"{len(items)} images, {len(PARAGRAPHS)} texts x 4 kinds, {args.repeat} reads each")
    for name in args.engines.split(","):
        measure(name, items, args.repeat)
    if args.pages:
        scanned_upload(args.pages)
    print("load average after:", os.getloadavg())


if __name__ == "__main__":
    main()
