"""The explorer pattern: controls on the left, one SVG figure that is rebuilt on every move.

``update`` computes the numbers (returned as a dict, so tests can call it headless) and
``render`` draws them as a :class:`~.svg.Figure`, our own small SVG kit. In a notebook the SVG
string is the value of one ``ipywidgets.HTML``, which the browser swaps in place: building a few
kB of SVG takes about a millisecond and the browser draws it natively, so a slider move costs one
round trip to the kernel and little else (rendering a matplotlib PNG took ~60 ms a move).
"""

from __future__ import annotations

from typing import Any, Mapping

import matplotlib
from cycler import cycler

from .svg import Figure

# Okabe & Ito's colour-blind-safe palette: every explorer, and every plot a chapter's notebook
# draws after loading its chapter, cycles through it.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
matplotlib.rcParams["axes.prop_cycle"] = cycler(color=PALETTE)


class Explorer:
    """Subclasses implement ``defaults``, ``make_controls``, ``compute`` and ``render``."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = dict(self.defaults())
        self.state: dict[str, Any] = {}
        self.figure: Figure | None = None
        self.svg = ""
        self._view = None
        self._widget = None
        self.update()

    # -- to implement ---------------------------------------------------------
    def defaults(self) -> Mapping[str, Any]:
        raise NotImplementedError

    def make_controls(self) -> dict:
        """name -> ipywidget, the names matching :meth:`defaults`."""
        raise NotImplementedError

    def compute(self, **values: Any) -> dict[str, Any]:
        """Pure numbers for the current control values."""
        raise NotImplementedError

    def render(self, state: Mapping[str, Any]) -> Figure:
        """The figure that shows ``state``."""
        raise NotImplementedError

    # -- shared machinery -----------------------------------------------------
    @property
    def panels(self) -> int:
        """How many plot panels the figure has."""
        return len(self.figure.plots)

    def update(self, **values: Any) -> dict[str, Any]:
        """Set some control values, recompute and redraw; returns the computed numbers."""
        unknown = set(values) - set(self.values)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; the controls are {sorted(self.values)}")
        self.values.update(values)
        self.state = self.compute(**self.values)
        self.figure = self.render(self.state)
        self.svg = self.figure.svg()
        if self._view is not None:
            self._view.value = self.svg
        return self.state

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
            self._view = w.HTML(value=self.svg, layout=w.Layout(flex="1 1 420px", min_width="0",
                                                                max_width=f"{self.figure.width}px"))
            panel = w.VBox(list(controls.values()), layout=w.Layout(flex="0 0 auto"))
            # controls and figure wrap onto two lines when the notebook is narrow; the figure shrinks
            self._widget = w.Box([panel, self._view], layout=w.Layout(display="flex", flex_flow="row wrap",
                                                                       align_items="flex-start", width="100%"))
        return self._widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())
