"""The gradient explorer: the gradient p - y as arrows, and one step of gradient descent at a time."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure

from ..losses import cross_entropy, cross_entropy_grad
from ..normalisation import softmax
from .base import PALETTE, Explorer

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
        super().__init__(figsize=(8.5, 3.6))

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

    def setup(self, fig: Figure) -> None:
        self.ax_logits, self.ax_probs = fig.subplots(1, 2)
        x = np.arange(len(CLASSES))
        self.logit_bars = self.ax_logits.bar(CLASSES, np.zeros(len(CLASSES)), color="0.75")
        self.ax_logits.axhline(0, color="0.5", lw=0.8)
        self.ax_logits.set_title("logits z\narrows: one step -lr·(p - y)")
        self.prob_bars = self.ax_probs.bar(CLASSES, np.zeros(len(CLASSES)), color=PALETTE[0])
        self.targets = self.ax_probs.scatter(x, np.zeros(len(CLASSES)), marker="_", s=900, color="k", zorder=4)
        self.ax_probs.set_ylim(-0.05, 1.12)
        zeros = np.zeros(len(CLASSES))
        style = dict(angles="xy", scale_units="xy", scale=1, width=0.012, zorder=5)
        self.logit_arrows = self.ax_logits.quiver(x, zeros, zeros, zeros, color=PALETTE[3], **style)
        self.prob_arrows = self.ax_probs.quiver(x, zeros, zeros, zeros, color=PALETTE[3], **style)
        self.note = self.ax_probs.set_title("")  # probabilities, loss and step count, rewritten by draw()

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

    def draw(self, state: Mapping[str, Any]) -> None:
        logits, probs, grad, lr = state["logits"], state["probs"], state["grad"], state["lr"]
        for i, (bar, pbar) in enumerate(zip(self.logit_bars, self.prob_bars)):
            bar.set_height(logits[i])
            pbar.set_height(probs[i])
            pbar.set_color(PALETTE[1] if i == state["target_index"] else PALETTE[0])
        x = np.arange(len(CLASSES))
        self.ax_logits.set_xticks(x, [f"{c}\nz = {z:.2f}" for c, z in zip(CLASSES, logits)])
        self.ax_probs.set_xticks(x, [f"{c}\np = {p:.3f}" for c, p in zip(CLASSES, probs)])
        self.logit_arrows.set_offsets(np.column_stack([x, logits]))
        self.logit_arrows.set_UVC(np.zeros_like(grad), -lr * grad)
        self.prob_arrows.set_offsets(np.column_stack([x, probs]))
        self.prob_arrows.set_UVC(np.zeros_like(grad), -grad)  # p + (-(p - y)) = y: each arrow ends on the target
        self.targets.set_offsets(np.column_stack([x, probs - grad]))
        ends = np.concatenate([logits, state["next_logits"], [0.0]])
        self.ax_logits.set_ylim(ends.min() - 0.6, ends.max() + 0.6)
        self.note.set_text(
            f"probabilities p, arrows: -(p - y)\n"
            f"loss {state['loss']:.3f}, p({state['target']}) = {state['target_prob']:.3f}, steps {state['steps']}"
        )

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
            controls, image = box.children
            box.children = (w.VBox([*controls.children, button]), image)
        return self._widget
