"""Turns a text PDF into what a scanner or a phone makes of it: pages rendered to
pixels, rotated by up to ±2°, with sensor noise and JPEG artefacts, saved as an
image-only PDF (no text layer)."""

import random
from io import BytesIO

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

DPI = 200


def degrade(pdf: bytes, rng: random.Random) -> bytes:
    document = pdfium.PdfDocument(pdf)
    pages = []
    try:
        for page in document:
            image = page.render(scale=DPI / 72, grayscale=True).to_pil().convert("L")
            angle = rng.choice((-1, 1)) * rng.uniform(0.4, 2.0)
            image = image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
            pixels = np.asarray(image, dtype=np.float32)
            noise = np.random.default_rng(rng.randrange(2**32)).normal(
                0, rng.uniform(6, 14), pixels.shape
            )
            # A little uneven lighting, as from a phone camera.
            shade = np.linspace(0, rng.uniform(0, 25), pixels.shape[1], dtype=np.float32)
            pixels = np.clip(pixels + noise - shade, 0, 255).astype(np.uint8)
            jpeg = BytesIO()
            Image.fromarray(pixels).save(jpeg, "JPEG", quality=rng.randint(35, 60))
            pages.append(Image.open(BytesIO(jpeg.getvalue())))
    finally:
        document.close()
    out = BytesIO()
    pages[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=pages[1:])
    return out.getvalue()
