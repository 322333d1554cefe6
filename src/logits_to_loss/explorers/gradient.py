"""The gradient explorer: the gradient p - y as arrows, and one step of gradient descent at a time."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..losses import cross_entropy, cross_entropy_grad
from ..normalisation import softmax
from .base import PALETTE, Explorer
from .svg import Figure

CLASSES = ("refund", "reship", "escalate")
LOGIT_RANGE = (-10.0, 10.0)  # the sliders' range; a step never leaves it
SLIDER_STEP = 0.01  # a logit slider shows its value to this resolution


class GradientExplorer(Explorer):
    """Logit sliders for refund/reship/escalate, a target dropdown, a learning rate and a step button.

    The left panel shows the logits with arrows -lr·(p - y): where one step of gradient descent
    moves each of them. The right panel shows the probabilities with arrows -(p - y), which run from
    each bar to the one-hot target. ``update(...)`` returns the numbers; ``step()`` applies one
    step ``z <- z - lr·(p - y)`` to the logits and returns the new numbers.

    ``self.values`` holds the logits at full precision and is their only source of truth: a slider
    shows a logit rounded to 0.01 and echoes that rounded value back, which is not a move (it
    neither resets the step count nor replaces the logit).
    """

    def __init__(self) -> None:
        self.steps = 0
        self._controls: dict = {}
        super().__init__()

    def defaults(self) -> Mapping[str, Any]:
        return {"refund": 3.0, "reship": 1.0, "escalate": 0.0, "target": "reship", "lr": 0.5}

    def make_controls(self) -> dict:
        import ipywidgets as w

        lo, hi = LOGIT_RANGE
        controls: dict = {
            c: w.FloatSlider(min=lo, max=hi, step=SLIDER_STEP, description=c, readout_format=".2f") for c in CLASSES
        }
        controls["target"] = w.Dropdown(options=list(CLASSES), description="target")
        controls["lr"] = w.FloatSlider(min=0.05, max=3.0, step=0.05, description="lr")
        self._controls = controls
        return controls

    def compute(self, **values: Any) -> dict[str, Any]:
        target = values["target"]
        if target not in CLASSES:
            raise ValueError(f"target must be one of {CLASSES}, got {target!r}")
        lr = float(values["lr"])
        if not lr > 0:
            raise ValueError(f"lr must be a positive learning rate such as 0.5, got {lr!r}")
        logits = np.array([float(values[c]) for c in CLASSES])  # (V,)
        index = CLASSES.index(target)
        probs = softmax(logits)  # (V,)
        grad = cross_entropy_grad(logits, index)  # (V,) p - y
        return {
            "logits": logits,
            "target": target,
            "target_index": index,
            "probs": probs,
            "grad": grad,
            "loss": float(cross_entropy(logits, index)),
            "target_prob": float(probs[index]),
            "lr": lr,
            "next_logits": logits - lr * grad,
            "steps": self.steps,
        }

    def render(self, state: Mapping[str, Any]) -> Figure:
        logits, probs, grad = state["logits"], state["probs"], state["grad"]
        x, xlim = np.arange(len(CLASSES)), (-0.6, len(CLASSES) - 0.4)
        ends = np.concatenate([logits, state["next_logits"], [0.0]])
        fig = Figure(765, 324)
        left, right = fig.row([(xlim, (ends.min() - 0.6, ends.max() + 0.6)), (xlim, (-0.05, 1.12))], top=48,
                              bottom=52, gap=64)
        left.bars(x, logits, "#BFBFBF", key="logit")
        left.hline(0.0, "#808080", width=0.8)
        left.arrows(x, logits, state["next_logits"], PALETTE[3], key="step")  # z -> z - lr·(p - y)
        left.title("logits z\narrows: one step -lr·(p - y)")
        left.xticks(x, [f"{c}\nz = {z:.2f}" for c, z in zip(CLASSES, logits)])
        left.yticks()

        right.bars(x, probs, [PALETTE[1] if i == state["target_index"] else PALETTE[0] for i in x], key="prob")
        right.ticks_marker(x, probs - grad, "black", key="target")  # p - (p - y) = y: the one-hot target
        right.arrows(x, probs, probs - grad, PALETTE[3], key="grad")  # each arrow ends on the target
        right.title(f"probabilities p, arrows: -(p - y)\nloss {state['loss']:.3f}, "
                    f"p({state['target']}) = {state['target_prob']:.3f}, steps {state['steps']}", key="note")
        right.xticks(x, [f"{c}\np = {p:.3f}" for c, p in zip(CLASSES, probs)])
        right.yticks()
        return fig

    def _echo(self, name: str, value: Any) -> bool:
        """Whether a control only shows back the current value (a logit slider to within half its step)."""
        if name in CLASSES:
            return abs(float(value) - self.values[name]) <= SLIDER_STEP / 2
        return name in self.values and value == self.values[name]

    def update(self, **values: Any) -> dict[str, Any]:
        """Set the controls that moved and recompute; an echo of the current value changes nothing."""
        moved = {name: value for name, value in values.items() if not self._echo(name, value)}
        if values and not moved:
            return self.state
        if moved.keys() & {*CLASSES, "target"}:
            self.steps = 0  # moving a logit or the target by hand starts a new descent
        return super().update(**moved)

    def step(self) -> dict[str, Any]:
        """One step of gradient descent, z <- z - lr·(p - y), shown in place; returns the new numbers."""
        lo, hi = LOGIT_RANGE
        new = np.clip(self.state["next_logits"], lo, hi)
        self.values.update({c: float(v) for c, v in zip(CLASSES, new)})
        self.steps += 1
        state = super().update()
        for c, control in self._controls.items():
            if c in CLASSES:
                control.value = self.values[c]  # the slider follows; its echo is not a move
        return state

    def widget(self):
        """The controls, a "take a step" button under them, and the figure."""
        if self._widget is None:
            import ipywidgets as w

            box = super().widget()
            button = w.Button(description="take a step", button_style="primary", icon="arrow-down")
            button.on_click(lambda _: self.step())
            self.button = button
            controls, figure = box.children
            box.children = (w.VBox([*controls.children, button]), figure)
        return self._widget
