"""Mistakes and cheats shared by many exercises, each written once as the learner's wrong code.

The code is the body of the exercise's own function: ``_right`` stands for a correct version of
it (the reference while fingerprinting, the instructor's solution in a graded submission);
``{name}``, ``{module}``, ``{function}`` and ``{answer}`` are filled in per exercise. An exercise opts
into the others with ``shared=[WRONG_AXIS.on("batched")]``, naming the parts they fail; :data:`ALWAYS` and :data:`CHEATS` apply everywhere.
"""

from __future__ import annotations

from .checker import IN_PLACE, NO_RETURN, Mistake

EDITED_INPUT = Mistake(
    IN_PLACE,
    """
    def {name}(*args, **kwargs):
        out = _right(*args, **kwargs)
        next(a for a in args if isinstance(a, np.ndarray))[...] = 0  # overwrites the caller's array
        return out
    """,
    "Work on a new array so the caller's data stay intact.",
)
MISSING_RETURN = Mistake(
    NO_RETURN,
    """
    def {name}(*args, **kwargs):
        out = _right(*args, **kwargs)
    """,
    "A function without `return` gives None: end with `return <result>`.",
)
ALWAYS = (EDITED_INPUT, MISSING_RETURN)

EXTRA_BATCH_AXIS = Mistake(
    "an extra batch axis",
    """
    def {name}(*args, **kwargs):
        return _right(np.atleast_2d(args[0]), *args[1:], **kwargs)
    """,
    "A 1-D input of shape (V,) must give a 1-D result, not one with a (1, V) batch axis: avoid "
    "np.atleast_2d / reshape.",
)
WRONG_AXIS = Mistake(
    "reduced along the wrong axis",
    """
    def {name}(*args, **kwargs):
        axis = kwargs.pop("axis", -1)
        other = 0 if axis in (-1, np.ndim(args[0]) - 1) else -1
        return _right(*args, axis=other, **kwargs)
    """,
    "Each distribution lies along `axis` (the last one, the vocabulary, by default): reduce along "
    "the `axis` you are given, not along a fixed one.",
)

CALLS_REFERENCE = Mistake(
    "calls the course library",
    """
    import {module}
    def {name}(*args, **kwargs):
        return {module}.{function}(*args, **kwargs)
    """,
    "The check cannot count the library's answer as your work.",
    cheat=True,
)
USES_TORCH = Mistake(
    "uses torch",
    """
    import torch
    def {name}(*args, **kwargs):
        torch.manual_seed(0)
        return _right(*args, **kwargs)
    """,
    "The exercise asks for NumPy only.",
    cheat=True,
)
USES_SCIPY = Mistake(
    "uses scipy",
    """
    from scipy import special
    def {name}(*args, **kwargs):
        special.expit(0.0)
        return _right(*args, **kwargs)
    """,
    "The exercise asks for NumPy only.",
    cheat=True,
)
HARD_CODED = Mistake(
    "hard-codes a visible answer",
    """
    return np.array({answer})
    """,
    "Hidden and random cases catch answers copied from the visible output.",
    cheat=True,
)
CHEATS = (CALLS_REFERENCE, USES_TORCH, USES_SCIPY, HARD_CODED)
