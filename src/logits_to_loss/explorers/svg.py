"""A small SVG plotting kit for the explorers: panels with linear axes, bars, lines, markers, arrows, text.

An explorer redraws by building its whole figure again as one SVG string (a few kB, well under a
millisecond of Python) that the browser swaps in. Each panel is a :class:`Plot`: a rectangle of
the figure with linear scales ``x -> pixel`` and ``y -> pixel``. Its data marks live in a nested
``<svg>`` viewport, which clips whatever leaves the axes' limits without needing document-wide ids.
A mark can carry a ``key`` (written as ``data-key``) so that tests can find what is shown:
``element(svg, "naive-label-0").text``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from html import escape
from typing import Iterable, Sequence

import numpy as np

FONT = "font-family:'DejaVu Sans',Helvetica,Arial,sans-serif"
AXIS_GREY = "#555555"


def _num(value: float) -> str:
    return f"{value:.1f}"


def _key(key: str | None) -> str:
    return f' data-key="{escape(key)}"' if key else ""


def text_svg(x: float, y: float, text: str, *, size: float = 11, anchor: str = "middle", color: str = "black",
             bold: bool = False, rotate: float = 0, key: str | None = None) -> str:
    """A (multi-line) label with its first line's baseline at pixel ``(x, y)``; lines 1.2 em apart."""
    lines = str(text).split("\n")
    spans = "".join(f'<tspan x="{_num(x)}" dy="{0 if i == 0 else 1.2}em">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    turn = f' transform="rotate({rotate} {_num(x)} {_num(y)})"' if rotate else ""
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" text-anchor="{anchor}" fill="{color}"'
            f'{weight}{turn}{_key(key)}>{spans}</text>')


def nice_ticks(lo: float, hi: float, count: int = 5) -> np.ndarray:
    """Round tick values inside ``[lo, hi]``, about ``count`` of them, spaced 1, 2 or 5 times a power of ten."""
    raw = (hi - lo) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return np.arange(first, hi + step * 1e-9, step)


def tick_label(value: float) -> str:
    """A tick value without trailing zeros: 0, 0.25, 1e+03 only when it is huge."""
    if value == 0:
        return "0"
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0e}"


class Plot:
    """One panel: a rectangle ``box = (left, top, width, height)`` of the figure with linear x and y scales."""

    def __init__(self, box: tuple[float, float, float, float], xlim: tuple[float, float],
                 ylim: tuple[float, float]) -> None:
        self.left, self.top, self.width, self.height = box
        self.xlim, self.ylim = xlim, ylim
        self.marks: list[str] = []  # clipped to the axes
        self.decor: list[str] = []  # axes, ticks, titles: outside the clip

    # -- scales: data -> pixels inside the panel's viewport -------------------------------------------
    def sx(self, x: float) -> float:
        lo, hi = self.xlim
        return (x - lo) / (hi - lo) * self.width

    def sy(self, y: float) -> float:
        lo, hi = self.ylim
        return (hi - y) / (hi - lo) * self.height

    # -- marks ------------------------------------------------------------------------------------------
    def bars(self, x: Iterable[float], heights: Iterable[float], colors: str | Sequence[str], *,
             width: float = 0.8, opacity: Sequence[float] | None = None, key: str | None = None) -> None:
        """Vertical bars from 0 to each height, centred on x; widths in data units (a scalar or one per bar)."""
        x, heights = list(x), list(heights)
        colors = [colors] * len(x) if isinstance(colors, str) else list(colors)
        widths = np.broadcast_to(width, (len(x),))
        for i, (xi, h, c, w) in enumerate(zip(x, heights, colors, widths)):
            if w <= 0:
                continue
            y0, y1 = sorted((self.sy(0.0), self.sy(h)))
            left = self.sx(xi - w / 2)
            alpha = f' fill-opacity="{opacity[i]:.2f}"' if opacity is not None else ""
            self.marks.append(f'<rect x="{_num(left)}" y="{_num(y0)}" width="{_num(self.sx(xi + w / 2) - left)}" '
                              f'height="{_num(y1 - y0)}" fill="{c}"{alpha}{_key(key and f"{key}-{i}")}/>')

    def hbars(self, y: Iterable[float], widths: Iterable[float], colors: Sequence[str], *,
              height: float = 0.7, key: str | None = None) -> None:
        """Horizontal bars from 0 to each width, centred on y."""
        for i, (yi, w, c) in enumerate(zip(y, widths, colors)):
            top, bottom = self.sy(yi - height / 2), self.sy(yi + height / 2)
            y0, y1 = sorted((top, bottom))
            self.marks.append(f'<rect x="{_num(self.sx(0))}" y="{_num(y0)}" width="{_num(self.sx(w) - self.sx(0))}" '
                              f'height="{_num(y1 - y0)}" fill="{c}" shape-rendering="crispEdges"{_key(key and f"{key}-{i}")}/>')

    def line(self, xs: Iterable[float], ys: Iterable[float], color: str, *, width: float = 1.5,
             dash: str | None = None, key: str | None = None) -> None:
        """A polyline through the finite points."""
        points = " ".join(f"{_num(self.sx(x))},{_num(self.sy(y))}" for x, y in zip(xs, ys) if np.isfinite(y))
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        self.marks.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="{width}"'
                          f'{dashed}{_key(key)}/>')

    def hline(self, y: float, color: str, *, width: float = 1.0, dash: str | None = None,
              key: str | None = None) -> None:
        """A horizontal line across the panel at height y."""
        self.line(self.xlim, (y, y), color, width=width, dash=dash, key=key)

    def markers(self, xs: Iterable[float], ys: Iterable[float], color: str, *, shape: str = "circle",
                size: float = 9, key: str | None = None) -> None:
        """A marker (circle or diamond, ``size`` pixels across) at every finite point."""
        r = size / 2
        for i, (x, y) in enumerate(zip(xs, ys)):
            if not np.isfinite(y):
                continue
            px, py = self.sx(x), self.sy(y)
            tag = _key(key and f"{key}-{i}")
            if shape == "circle":
                self.marks.append(f'<circle cx="{_num(px)}" cy="{_num(py)}" r="{r}" fill="{color}"{tag}/>')
            else:
                self.marks.append(f'<polygon points="{_num(px)},{_num(py - r)} {_num(px + r)},{_num(py)} '
                                  f'{_num(px)},{_num(py + r)} {_num(px - r)},{_num(py)}" fill="{color}"{tag}/>')

    def ticks_marker(self, xs: Iterable[float], ys: Iterable[float], color: str, *, half_width: float = 0.3,
                     key: str | None = None) -> None:
        """A short horizontal stroke (data width ``2 * half_width``) at every point."""
        for i, (x, y) in enumerate(zip(xs, ys)):
            self.marks.append(f'<line x1="{_num(self.sx(x - half_width))}" x2="{_num(self.sx(x + half_width))}" '
                              f'y1="{_num(self.sy(y))}" y2="{_num(self.sy(y))}" stroke="{color}" stroke-width="2.5"'
                              f'{_key(key and f"{key}-{i}")}/>')

    def arrows(self, xs: Iterable[float], starts: Iterable[float], ends: Iterable[float], color: str, *,
               key: str | None = None) -> None:
        """Vertical arrows from ``(x, start)`` to ``(x, end)``; an arrow shorter than its head is left out."""
        for i, (x, y0, y1) in enumerate(zip(xs, starts, ends)):
            px, p0, p1 = self.sx(x), self.sy(y0), self.sy(y1)
            if abs(p1 - p0) < 4:
                continue
            head = math.copysign(min(8.0, abs(p1 - p0)), p1 - p0)  # the head points from start to end
            self.marks.append(
                f'<g stroke="{color}" fill="{color}"{_key(key and f"{key}-{i}")}>'
                f'<line x1="{_num(px)}" y1="{_num(p0)}" x2="{_num(px)}" y2="{_num(p1 - head)}" stroke-width="2.5"/>'
                f'<polygon points="{_num(px - 5)},{_num(p1 - head)} {_num(px + 5)},{_num(p1 - head)} '
                f'{_num(px)},{_num(p1)}" stroke="none"/></g>')

    def cells(self, colors: Sequence[Sequence[str]], *, key: str | None = None) -> None:
        """A heat map: cell (i, j) is the unit square centred on x = j, y = i."""
        for i, row in enumerate(colors):
            for j, c in enumerate(row):
                x0, x1, y0, y1 = self.sx(j - 0.5), self.sx(j + 0.5), self.sy(i - 0.5), self.sy(i + 0.5)
                self.marks.append(f'<rect x="{_num(min(x0, x1))}" y="{_num(min(y0, y1))}" width="{_num(abs(x1 - x0))}" '
                                  f'height="{_num(abs(y1 - y0))}" fill="{c}" shape-rendering="crispEdges"'
                                  f'{_key(key and f"{key}-{i}-{j}")}/>')

    def text(self, x: float, y: float, text: str, *, dy: float = 0, axes: bool = False, **style) -> None:
        """A label at data point (x, y), or at axes fraction (x, y) with ``axes=True``; ``dy`` shifts it in pixels."""
        px = x * self.width if axes else self.sx(x)
        py = (1 - y) * self.height if axes else self.sy(y)
        self.marks.append(text_svg(px, py + dy, text, **style))

    # -- decoration ------------------------------------------------------------------------------------
    def title(self, text: str, *, size: float = 11, key: str | None = None) -> None:
        """A title above the panel; its last line sits just over the axes."""
        lines = text.count("\n")
        y = self.top - 7 - lines * 1.2 * size
        self.decor.append(text_svg(self.left + self.width / 2, y, text, size=size, key=key))

    def xlabel(self, text: str, *, offset: float = 32) -> None:
        self.decor.append(text_svg(self.left + self.width / 2, self.top + self.height + offset, text))

    def ylabel(self, text: str, *, offset: float = 38) -> None:
        x, y = self.left - offset, self.top + self.height / 2
        self.decor.append(text_svg(x, y, text, rotate=-90))

    def xticks(self, positions: Iterable[float], labels: Iterable[str] | None = None, *, size: float = 10,
               rotate: float = 0, key: str | None = None) -> None:
        """Tick marks and labels under the axes (default labels: the values)."""
        positions = list(positions)
        labels = [tick_label(p) for p in positions] if labels is None else list(labels)
        base = self.top + self.height
        for i, (p, label) in enumerate(zip(positions, labels)):
            x = self.left + self.sx(p)
            self.decor.append(f'<line x1="{_num(x)}" x2="{_num(x)}" y1="{_num(base)}" y2="{_num(base + 4)}" '
                              f'stroke="{AXIS_GREY}"/>')
            anchor, drop = ("end", 0.8 * size) if rotate else ("middle", size)  # a turned label hangs from its end
            self.decor.append(text_svg(x, base + 6 + drop, label, size=size, anchor=anchor, rotate=rotate,
                                       key=key and f"{key}-{i}"))

    def yticks(self, positions: Iterable[float] | None = None, labels: Iterable[str] | None = None, *,
               size: float = 10) -> None:
        """Tick marks and labels left of the axes (default: round values across ``ylim``)."""
        positions = list(nice_ticks(*self.ylim) if positions is None else positions)
        labels = [tick_label(p) for p in positions] if labels is None else list(labels)
        for p, label in zip(positions, labels):
            y = self.top + self.sy(p)
            self.decor.append(f'<line x1="{_num(self.left - 4)}" x2="{_num(self.left)}" y1="{_num(y)}" '
                              f'y2="{_num(y)}" stroke="{AXIS_GREY}"/>')
            self.decor.append(text_svg(self.left - 6, y + size * 0.35, label, size=size, anchor="end"))

    def legend(self, entries: Sequence[tuple[str, str, str]], *, corner: str = "upper right", top: float = 0.0,
               size: float = 9) -> None:
        """Entries ``(kind, colour, label)`` (kind: "bar", "line", "dash", "marker") stacked at the left or right
        edge, starting ``top`` (a fraction of the height) below the top."""
        right = corner.endswith("right")
        x = self.width - 8 if right else 8
        for i, (kind, color, label) in enumerate(entries):
            y = 14 + top * self.height + i * 1.4 * size
            swatch_x = x - 22 if right else x
            text_x = swatch_x - 4 if right else swatch_x + 26
            if kind == "bar":
                swatch = f'<rect x="{_num(swatch_x + 4)}" y="{_num(y - 8)}" width="14" height="9" fill="{color}"/>'
            elif kind == "marker":
                swatch = (f'<polygon points="{_num(swatch_x + 11)},{_num(y - 8)} {_num(swatch_x + 15)},{_num(y - 4)} '
                          f'{_num(swatch_x + 11)},{_num(y)} {_num(swatch_x + 7)},{_num(y - 4)}" fill="{color}"/>')
            else:
                dash = ' stroke-dasharray="4 3"' if kind == "dash" else ""
                swatch = (f'<line x1="{_num(swatch_x)}" x2="{_num(swatch_x + 22)}" y1="{_num(y - 4)}" '
                          f'y2="{_num(y - 4)}" stroke="{color}" stroke-width="1.5"{dash}/>')
            self.marks.append(swatch + text_svg(text_x, y, label, size=size, anchor="end" if right else "start"))

    def svg(self) -> str:
        """The panel: clipped marks in a nested viewport, then its frame, ticks and labels."""
        frame = (f'<rect x="{_num(self.left)}" y="{_num(self.top)}" width="{_num(self.width)}" '
                 f'height="{_num(self.height)}" fill="none" stroke="{AXIS_GREY}"/>')
        return (f'<g class="panel"><svg x="{_num(self.left)}" y="{_num(self.top)}" width="{_num(self.width)}" '
                f'height="{_num(self.height)}">{"".join(self.marks)}</svg>{frame}{"".join(self.decor)}</g>')


class Figure:
    """A fixed-size drawing (pixels) that scales down with its container; panels plus free text."""

    def __init__(self, width: float, height: float) -> None:
        self.width, self.height = width, height
        self.plots: list[Plot] = []
        self.extra: list[str] = []

    def row(self, limits: Sequence[tuple[tuple[float, float], tuple[float, float]]], *,
            ratios: Sequence[float] | None = None, left: float = 52, right: float = 14, top: float = 44,
            bottom: float = 46, gap: float = 60) -> list[Plot]:
        """Panels side by side, ``limits[i] = (xlim, ylim)``, widths in proportion to ``ratios``."""
        ratios = list(ratios or [1.0] * len(limits))
        usable = self.width - left - right - gap * (len(limits) - 1)
        x, plots = left, []
        for (xlim, ylim), share in zip(limits, ratios):
            width = usable * share / sum(ratios)
            plots.append(Plot((x, top, width, self.height - top - bottom), xlim, ylim))
            x += width + gap
        self.plots.extend(plots)
        return plots

    def text(self, x: float, y: float, text: str, **style) -> None:
        """A label at pixel (x, y) of the figure."""
        self.extra.append(text_svg(x, y, text, **style))

    def svg(self) -> str:
        """The whole figure as one ``<svg>`` element that fills its container's width, keeping its aspect."""
        body = "".join(p.svg() for p in self.plots) + "".join(self.extra)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" class="l2l-figure" viewBox="0 0 {self.width} {self.height}" '
                f'style="display:block;width:100%;max-width:{self.width}px;height:auto;{FONT}">'
                f'<rect width="100%" height="100%" fill="white"/>{body}</svg>')


def element(svg: str, key: str) -> ET.Element:
    """The mark of ``svg`` tagged ``key``; KeyError when there is none."""
    found = ET.fromstring(svg).find(f".//*[@data-key='{key}']")
    if found is None:
        raise KeyError(f"no mark {key!r} in the figure")
    return found


def label(svg: str, key: str) -> str:
    """The text of the mark tagged ``key``, its lines joined by newlines."""
    return "\n".join(span.text or "" for span in element(svg, key))
