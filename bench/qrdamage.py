"""Ticket QR symbols under simulated damage: the share ZXing decodes, per symbol, damage and
severity (docs/decisions/0065). Not timed: a decode rate, reproducible from its seed.

A phone shows the ticket's QR image at a fixed size whatever its version, so every symbol is
first drawn at the same display width (``DISPLAY_PX``, quiet zone included): a symbol with more
modules has smaller ones. Then one damage is applied at one severity:

- ``occluded``: cracks and smudges, random rectangles of black, white or grey covering a share
  of the symbol's area;
- ``noise``: uniform noise of the given amplitude (grey levels) on every pixel;
- ``blur``: a Gaussian blur of the given radius (pixels of the display);
- ``downscaled``: the display seen at a smaller size (the share of its width), as a camera far
  from the screen or a low-resolution preview does;
- ``glare``: a bright elliptical wash, centred at random, of the given peak strength.

Each trial draws a fresh random code of the symbol's length and fresh damage from a
``random.Random`` seeded by the trial, so a run gives the same numbers on any machine.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from typing import Any

DISPLAY_PX = 300
SEED = 20261202

SEVERITIES: dict[str, tuple[float, ...]] = {
    "occluded": (0.02, 0.04, 0.08, 0.12),
    "noise": (110, 120, 130, 140),
    "blur": (2.0, 2.5, 3.0, 3.5),
    "downscaled": (0.3, 0.25, 0.2, 0.17),
    "glare": (0.85, 0.92, 0.97, 1.0),
}
UNITS = {
    "occluded": "share of the symbol hidden",
    "noise": "amplitude (± grey levels, triangular)",
    "blur": "radius, px of a 300-px display",
    "downscaled": "share of the display's width",
    "glare": "peak strength",
}


@dataclass(frozen=True)
class Symbol:
    name: str
    code_bytes: int
    level: str
    quiet_zone: int
    note: str


CHOSEN = "v2-Q"
SYMBOLS = (
    Symbol("today", 85, "M", 4, "version 1 code (136 characters), M, quiet zone 4"),
    Symbol("v2-M", 90, "M", 4, "version 2 code (144 characters), M, quiet zone 4"),
    Symbol("v2-Q", 90, "Q", 4, "version 2 code, Q, quiet zone 4"),
    Symbol("v2-H", 90, "H", 4, "version 2 code, H, quiet zone 4"),
    Symbol("v2-Q-qz6", 90, "Q", 6, "version 2 code, Q, quiet zone 6"),
)


def _code(rng: random.Random, code_bytes: int) -> str:
    return base64.b32encode(rng.randbytes(code_bytes)).decode("ascii")


def displayed(symbol: Symbol, code: str) -> Any:
    """The symbol as a phone shows it: ``DISPLAY_PX`` wide, greyscale."""
    from PIL import Image

    from gatepass import qr

    matrix = qr.module_matrix(code, level=symbol.level, quiet_zone=symbol.quiet_zone)
    rows = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (len(matrix), len(matrix)), rows)
    return image.resize((DISPLAY_PX, DISPLAY_PX), Image.Resampling.NEAREST)


def version_of(symbol: Symbol) -> tuple[int, int]:
    """The symbol's QR version and modules a side (quiet zone excluded)."""
    from gatepass import qr

    code = _code(random.Random(0), symbol.code_bytes)
    matrix = qr.module_matrix(code, level=symbol.level, quiet_zone=symbol.quiet_zone)
    return qr.symbol_version(matrix, symbol.quiet_zone), len(matrix) - 2 * symbol.quiet_zone


def damage(image: Any, kind: str, severity: float, rng: random.Random, symbol: Symbol) -> Any:
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    size = image.size[0]
    if kind == "occluded":
        version_modules = version_of(symbol)[1]
        margin = round(size * symbol.quiet_zone / (version_modules + 2 * symbol.quiet_zone))
        inner = size - 2 * margin
        hidden = severity * inner * inner
        out = image.copy()
        draw = ImageDraw.Draw(out)
        while hidden > 0:
            width = rng.uniform(0.05, 0.3) * inner
            height = rng.uniform(0.02, 0.12) * inner
            if rng.random() < 0.5:
                width, height = height, width
            x = margin + rng.uniform(0, inner - width)
            y = margin + rng.uniform(0, inner - height)
            draw.rectangle((x, y, x + width, y + height), fill=rng.choice((0, 255, 128)))
            hidden -= width * height
        return out
    if kind == "noise":
        amplitude = int(severity)

        def field() -> Any:
            raw = Image.frombytes("L", image.size, rng.randbytes(size * size))
            return raw.point(lambda value: value * amplitude // 255)

        # pixel + u1 - u2 with u1, u2 uniform in 0..amplitude (triangular), clipped to 0..255
        return ImageChops.subtract(ImageChops.add(image, field()), field())
    if kind == "blur":
        return image.filter(ImageFilter.GaussianBlur(severity))
    if kind == "downscaled":
        small = max(16, round(size * severity))
        return image.resize((small, small), Image.Resampling.BOX)
    if kind == "glare":
        cx, cy = rng.uniform(0.2, 0.8) * size, rng.uniform(0.2, 0.8) * size
        rx, ry = rng.uniform(0.25, 0.45) * size, rng.uniform(0.15, 0.3) * size
        mask = Image.new("L", image.size, 0)
        ImageDraw.Draw(mask).ellipse(
            (cx - rx, cy - ry, cx + rx, cy + ry), fill=round(255 * severity)
        )
        mask = mask.filter(ImageFilter.GaussianBlur(size / 12))
        return Image.composite(Image.new("L", image.size, 255), image, mask)
    raise ValueError(kind)


def decodes(image: Any, code: str) -> bool:
    import zxingcpp

    return [result.text for result in zxingcpp.read_barcodes(image)] == [code]


def rate(symbol: Symbol, kind: str, severity: float, trials: int) -> float:
    decoded = 0
    for trial in range(trials):
        rng = random.Random(f"{SEED}:{kind}:{severity}:{trial}")
        code = _code(rng, symbol.code_bytes)
        if decodes(damage(displayed(symbol, code), kind, severity, rng, symbol), code):
            decoded += 1
    return decoded / trials


def run(trials: int = 40) -> dict[str, Any]:
    """Decode rates for every symbol, damage and severity; the same seed draws the same codes
    and the same damage for every symbol, so the symbols meet the same phones."""
    results: dict[str, Any] = {
        "chosen": CHOSEN,
        "trials": trials,
        "display_px": DISPLAY_PX,
        "seed": SEED,
        "severities": {k: list(v) for k, v in SEVERITIES.items()},
        "units": UNITS,
        "symbols": {},
    }
    for symbol in SYMBOLS:
        version, modules = version_of(symbol)
        rates = {
            kind: [rate(symbol, kind, severity, trials) for severity in severities]
            for kind, severities in SEVERITIES.items()
        }
        clean = rate(symbol, "blur", 0.0, min(trials, 10))
        results["symbols"][symbol.name] = {
            "note": symbol.note,
            "level": symbol.level,
            "quiet_zone": symbol.quiet_zone,
            "characters": len(_code(random.Random(0), symbol.code_bytes)),
            "version": version,
            "modules": modules,
            "module_px": round(DISPLAY_PX / (modules + 2 * symbol.quiet_zone), 2),
            "undamaged": clean,
            "rates": rates,
            "mean": sum(sum(r) for r in rates.values()) / sum(len(r) for r in rates.values()),
        }
    return results
