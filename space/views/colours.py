"""Colour scales for the views, and the text colour that reads on each of their colours.

A scale is a list of sRGB stops; `scale(stops, t)` interpolates along it. Text on a coloured
background is black or white, whichever contrasts more, as WCAG 2 measures contrast (relative
luminance, (L1 + 0.05) / (L2 + 0.05)). On any colour one of the two reaches at least 4.58:1, so every
number written on a scale meets the 4.5:1 that normal-size text needs.
"""

from __future__ import annotations

from typing import Sequence

RGB = tuple[int, int, int]
BLACK, WHITE = (0, 0, 0), (255, 255, 255)


def scale(stops: Sequence[RGB], t: float) -> RGB:
    """The colour at `t` in [0, 1] (clamped) along `stops`, evenly spaced."""
    t = min(max(float(t), 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    return tuple(round(lo + (hi - lo) * (t - i)) for lo, hi in zip(stops[i], stops[i + 1]))  # type: ignore[return-value]


def css(rgb: RGB) -> str:
    return "rgb({},{},{})".format(*rgb)


def luminance(rgb: RGB) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    def linear(c: int) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 to 21."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def ink(background: RGB) -> str:
    """"#000" or "#fff": the text colour with the higher contrast on `background`."""
    return "#000" if contrast(BLACK, background) >= contrast(WHITE, background) else "#fff"
