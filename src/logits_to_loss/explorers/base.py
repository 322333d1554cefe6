"""The explorer pattern: sliders on the left, one matplotlib figure that is redrawn in place.

An explorer keeps one :class:`matplotlib.figure.Figure` for its whole life. ``update``
computes the numbers (returned as a dict, so tests can call it headless), moves the
existing artists, and re-renders the figure into a single ``ipywidgets.Image``: no new
figure, no flicker, and no dependency on a notebook matplotlib backend.
"""

from __future__ import annotations

import io
from typing import Any, Mapping

import matplotlib
from cycler import cycler
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

# Okabe & Ito's colour-blind-safe palette: every explorer, and every plot a chapter's notebook
# draws after loading its chapter, cycles through it.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
matplotlib.rcParams["axes.prop_cycle"] = cycler(color=PALETTE)


class Explorer:
    """Subclasses set ``controls`` (name -> widget factory args) and implement ``compute`` and ``draw``."""

    def __init__(self, figsize: tuple[float, float] = (8.0, 3.4)) -> None:
        self.fig = Figure(figsize=figsize, dpi=90, layout="constrained")
        self.values: dict[str, Any] = dict(self.defaults())
        self.state: dict[str, Any] = {}
        self._image = None
        self._widget = None
        self._canvas = None
        self.setup(self.fig)
        self.update()

    # -- to implement ---------------------------------------------------------
    def defaults(self) -> Mapping[str, Any]:
        raise NotImplementedError

    def make_controls(self) -> dict:
        """name -> ipywidget, the names matching :meth:`defaults`."""
        raise NotImplementedError

    def setup(self, fig: Figure) -> None:
        """Create the axes and artists once."""
        raise NotImplementedError

    def compute(self, **values: Any) -> dict[str, Any]:
        """Pure numbers for the current control values."""
        raise NotImplementedError

    def draw(self, state: Mapping[str, Any]) -> None:
        """Move the existing artists to show ``state``."""
        raise NotImplementedError

    # -- shared machinery -----------------------------------------------------
    def update(self, **values: Any) -> dict[str, Any]:
        """Set some control values, recompute, redraw in place; returns the computed numbers."""
        unknown = set(values) - set(self.values)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; the controls are {sorted(self.values)}")
        self.values.update(values)
        self.state = self.compute(**self.values)
        self.draw(self.state)
        if self._image is not None:
            self._image.value = self.png()
        return self.state

    def png(self) -> bytes:
        """The figure rendered as PNG bytes (Agg canvas kept for life; fast, light compression)."""
        if self._canvas is None:
            self._canvas = FigureCanvasAgg(self.fig)
            self._canvas.draw()
            self.fig.set_layout_engine("none")  # lay out once: re-solving the layout doubled every redraw
        self._canvas.draw()
        buffer = io.BytesIO()
        Image.frombuffer("RGBA", self._canvas.get_width_height(), self._canvas.buffer_rgba()).save(
            buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def widget(self):
        """Controls and figure as one ipywidgets box (built once, reused on every display)."""
        if self._widget is None:
            import ipywidgets as w

            controls = self.make_controls()
            for name, control in controls.items():
                control.value = self.values[name]
                control.observe(lambda change, name=name: self.update(**{name: change["new"]}), names="value")
            for control in controls.values():  # the description and the value readout stay readable
                control.style.description_width = "initial"
                control.layout.width = "290px"
            self._image = w.Image(value=self.png(), format="png",
                                  layout=w.Layout(max_width="100%", height="auto", flex="1 1 420px"))
            panel = w.VBox(list(controls.values()), layout=w.Layout(flex="0 0 auto"))
            # controls and figure wrap onto two lines when the notebook is narrow; the figure shrinks
            self._widget = w.Box([panel, self._image], layout=w.Layout(display="flex", flex_flow="row wrap",
                                                                        align_items="flex-start", width="100%"))
        return self._widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())
