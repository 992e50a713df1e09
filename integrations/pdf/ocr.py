"""OCR of one page image with Tesseract (Bahasa Indonesia + English), after deskewing.

Scans and phone photos are rarely straight: at 2° a table row drifts ~17 pt across an A4
page, more than a row's height, which would mix rows. The skew is found by maximising
the variance of the row profile of a small binarised copy (text lines are sharpest when
level), then the full image is rotated back before Tesseract reads it.
"""

import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

LANGUAGES = "ind+eng"
TESSERACT_TIMEOUT_S = 120


def estimate_skew(image: Image.Image, max_deg: float = 3.0, step: float = 0.2) -> float:
    """Degrees to rotate `image` counter-clockwise (PIL's sense) to make lines level.

    The dark pixels of a small copy are projected onto the vertical axis at each candidate
    angle (no image is rotated: a projection of ~80k points costs a few milliseconds); the
    row profile is sharpest when the text lines are level."""
    small = image.convert("L")
    scale = 1200 / max(small.size)
    if scale < 1:
        small = small.resize((int(small.width * scale), int(small.height * scale)))
    ys, xs = np.nonzero(np.asarray(small) < 160)
    if len(xs) < 50:
        return 0.0
    if len(xs) > 80_000:
        pick = np.random.default_rng(0).choice(len(xs), 80_000, replace=False)
        xs, ys = xs[pick], ys[pick]
    x = xs - small.width / 2
    y = ys - small.height / 2

    def score(angle: float) -> float:
        t = np.deg2rad(angle)
        rows = y * np.cos(t) - x * np.sin(t)
        profile = np.bincount((rows - rows.min()).astype(np.int64)).astype(np.float32)
        return float(np.var(np.diff(profile)))

    coarse = max(np.arange(-max_deg, max_deg + 1e-9, step), key=score)
    fine = max(np.arange(coarse - step, coarse + step + 1e-9, step / 4), key=score)
    return round(float(fine), 2)


def _runs(dark: np.ndarray, length: int) -> np.ndarray:
    """Pixels that lie on a run of at least `length` dark pixels along axis 1."""
    rows, cols = dark.shape
    if cols < length:
        return np.zeros_like(dark)
    cs = np.zeros((rows, cols + 1), dtype=np.int32)
    np.cumsum(dark, axis=1, out=cs[:, 1:])
    # Window starting at j nearly all dark (noise and JPEG leave a few light pixels).
    full = (cs[:, length:] - cs[:, :-length]) >= int(length * 0.9)
    # Spread each full window back over its `length` pixels.
    starts = np.zeros((rows, cols + 1), dtype=np.int32)
    starts[:, : cols - length + 1] += full
    starts[:, length : cols + 1] -= full
    return np.cumsum(starts, axis=1)[:, :cols] > 0


# Dark runs at least this long (in points) are rules, not print: the longest stroke of a
# letter in 14-pt print is ~10 pt.
RULE_MIN_H_PT = 19.0
RULE_MIN_V_PT = 17.0


def remove_rules(gray: Image.Image, *, min_h: int, min_v: int) -> Image.Image:
    """Whitens table rules (straight dark runs of at least min_h / min_v pixels):
    Tesseract drops text that touches a cell border, and a ruled PO puts every number in
    a box."""
    pixels = np.asarray(gray).copy()
    dark = (pixels < 200).astype(np.int32)
    lines = _runs(dark, min_h) | _runs(dark.T, min_v).T
    pixels[lines] = 255
    return Image.fromarray(pixels)


def ocr_words(image: Image.Image, *, points_per_pixel: float) -> tuple[list[tuple], float]:
    """Words (text, x0, y0, x1, y1, conf) in PDF points of the deskewed page, and the angle."""
    gray = image.convert("L")
    angle = estimate_skew(gray)
    if abs(angle) >= 0.1:
        gray = gray.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    gray = remove_rules(
        gray,
        min_h=round(RULE_MIN_H_PT / points_per_pixel),
        min_v=round(RULE_MIN_V_PT / points_per_pixel),
    )
    with tempfile.TemporaryDirectory(prefix="sfa-ocr-") as tmp:
        path = Path(tmp) / "page.png"
        gray.save(path)
        result = subprocess.run(
            ["tesseract", str(path), "stdout", "-l", LANGUAGES, "--psm", "6", "tsv"],
            capture_output=True,
            timeout=TESSERACT_TIMEOUT_S,
            check=False,
            env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
        )
    if result.returncode != 0:
        raise RuntimeError(f"tesseract failed: {result.stderr.decode(errors='replace')[:300]}")
    return _parse_tsv(result.stdout.decode("utf-8", errors="replace"), points_per_pixel), angle


def _parse_tsv(tsv: str, k: float) -> list[tuple]:
    words = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":  # level 5 = word
            continue
        text = cols[11].strip()
        if not text:
            continue
        left, top, width, height = (int(c) for c in cols[6:10])
        conf = max(0.0, float(cols[10]))
        words.append((text, left * k, top * k, (left + width) * k, (top + height) * k, conf))
    return words
