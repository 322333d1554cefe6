"""The checker: one mechanism behind the instant self-checks and the nbgrader test cells.

An :class:`Exercise` runs a learner's function on fixed and random cases against the
reference library. It is strict on values, shapes and numerical stability and fair on
everything else (float64 for float32 input, a Python float for a 0-d array, a loop
instead of vectorised code). On failure it raises :class:`CheckFailure` (an
``AssertionError``, so nbgrader counts the cell as failed) whose message names the
misconception and the section that explains it; on success it prints one line.
"""

from __future__ import annotations

import dis
import inspect
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

BANNED_MODULES = ("logits_to_loss", "torch", "scipy", "jax", "tensorflow", "sklearn")


class CheckFailure(AssertionError):
    """A check did not pass; the message says what went wrong and where the chapter explains it."""


@dataclass(frozen=True)
class Case:
    """One call of the learner's function: positional arguments and a human label."""

    args: tuple
    label: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: ``wrong(*args, **kwargs)`` reproduces what that mistake returns."""

    name: str
    wrong: Callable[..., Any]
    explanation: str


def _short(x: Any) -> str:
    arr = np.asarray(x)
    if arr.dtype.kind in "fc":
        return np.array2string(arr, precision=4, suppress_small=False, threshold=12, edgeitems=3)
    return np.array2string(arr, threshold=12, edgeitems=3)


def _describe(case: Case, name: str) -> str:
    shown = ", ".join(_short(a) if isinstance(a, np.ndarray) else repr(a) for a in case.args)
    extra = "".join(f", {k}={v!r}" for k, v in case.kwargs.items())
    return f"{name}({shown}{extra})  [{case.label}]"


def _referenced_objects(fn: Callable, seen: set[int]) -> Iterable[tuple[str, Any]]:
    """Yield ``(name, object)`` for every global, closure cell and import the function's code reaches."""
    code = getattr(fn, "__code__", None)
    if code is None or id(fn) in seen:
        return
    seen.add(id(fn))
    globals_ = getattr(fn, "__globals__", {})
    codes = [code]
    while codes:
        c = codes.pop()
        codes.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
        for ins in dis.get_instructions(c):
            if ins.opname == "IMPORT_NAME":
                yield ins.argval, types.SimpleNamespace(__name__=ins.argval)
            elif ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and ins.argval in globals_:
                yield ins.argval, globals_[ins.argval]
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            yield name, cell.cell_contents
        except ValueError:  # an empty cell
            continue


def _module_of(obj: Any) -> str:
    if isinstance(obj, (types.ModuleType, types.SimpleNamespace)):
        return getattr(obj, "__name__", "")
    return getattr(obj, "__module__", None) or getattr(type(obj), "__module__", "") or ""


def forbid_shortcuts(fn: Callable, exercise: str, banned: Sequence[str] = BANNED_MODULES) -> None:
    """Fail if ``fn`` (or a helper it calls) uses a library that already solves the exercise."""
    seen: set[int] = set()
    pending = [fn]
    while pending:
        for name, obj in _referenced_objects(pending.pop(), seen):
            module = _module_of(obj)
            if any(module == b or module.startswith(b + ".") for b in banned):
                raise CheckFailure(
                    f"{exercise} uses `{name}` from {module.split('.')[0]}: this exercise asks you to "
                    f"write it from scratch with NumPy, so the check cannot count it as your work"
                )
            if inspect.isfunction(obj):
                pending.append(obj)  # follow the learner's own helpers


IN_PLACE_HINT = (
    "work on a new array (`z = x - x.max(...)`) so the caller's logits stay intact"
)


def call(fn: Callable, case: Case, name: str, in_place_hint: str = IN_PLACE_HINT) -> Any:
    """Call the learner's function on copies of the inputs; report crashes and in-place edits."""
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in case.args)
    try:
        with np.errstate(all="ignore"):
            out = fn(*args, **case.kwargs)
    except NotImplementedError:
        raise CheckFailure(f"{name} is not written yet: replace `raise NotImplementedError()` with your code") from None
    except CheckFailure:
        raise
    except Exception as exc:  # any crash of learner code is feedback, not an error of the checker
        hint = ""
        if "broadcast" in str(exc):
            hint = " (a reduction without keepdims=True gives a shape that no longer lines up with its rows)"
        raise CheckFailure(f"{_describe(case, name)} raised {type(exc).__name__}: {exc}{hint}") from None
    for before, after in zip(case.args, args):
        if isinstance(before, np.ndarray) and not np.array_equal(before, after, equal_nan=True):
            raise CheckFailure(
                f"{_describe(case, name)} changed its input in place (e.g. `x -= x.max()`); {in_place_hint}"
            )
    return out


def _matches(got: np.ndarray, wrong: Any, rtol: float, atol: float) -> bool:
    try:
        with np.errstate(all="ignore"):
            w = np.asarray(wrong, dtype=float)
    except (TypeError, ValueError):
        return False
    return w.shape == got.shape and bool(np.allclose(got, w, rtol=rtol, atol=atol, equal_nan=True))


def diagnose(got: np.ndarray, case: Case, mistakes: Sequence[Mistake], rtol: float, atol: float) -> Mistake | None:
    """The first catalogued mistake that reproduces the learner's output on this case, if any."""
    for mistake in mistakes:
        try:
            with np.errstate(all="ignore"):
                wrong = mistake.wrong(*case.args, **case.kwargs)
        except Exception:  # a mistake that does not apply to this case
            continue
        if _matches(got, wrong, rtol, atol):
            return mistake
    return None


def compare(
    got: Any,
    expected: Any,
    case: Case,
    name: str,
    *,
    mistakes: Sequence[Mistake] = (),
    rtol: float = 1e-5,
    atol: float = 1e-7,
) -> None:
    """Assert that ``got`` equals ``expected`` in shape and value, explaining the first difference."""
    where = _describe(case, name)
    if got is None:
        raise CheckFailure(f"{where} returned None: did you forget the `return` statement?")
    try:
        got_arr = np.asarray(got)
    except Exception:
        raise CheckFailure(f"{where} returned a {type(got).__name__}, expected a NumPy array or number") from None
    expected = np.asarray(expected)
    if got_arr.dtype.kind not in "fiub":
        raise CheckFailure(f"{where} returned dtype {got_arr.dtype}; return real floating-point numbers")
    if got_arr.dtype.kind in "iub" and expected.dtype.kind == "f":
        raise CheckFailure(f"{where} returned integers ({got_arr.dtype}); the result should be floats")
    if got_arr.shape != expected.shape:
        found = diagnose(got_arr, case, mistakes, rtol, atol) if got_arr.size else None
        hint = f"{found.name}. {found.explanation}" if found else "check which axis you reduce over and use keepdims=True when you divide"
        raise CheckFailure(f"{where} returned shape {got_arr.shape}, expected {expected.shape}: {hint}")
    got_arr = got_arr.astype(float)
    with np.errstate(all="ignore"):
        ok = np.allclose(got_arr, expected, rtol=rtol, atol=atol, equal_nan=True)
    if ok:
        return
    found = diagnose(got_arr, case, mistakes, rtol, atol)
    if found is not None:
        raise CheckFailure(f"{where} returned {_short(got_arr)}: {found.name}. {found.explanation}")
    if not np.isfinite(got_arr).all() and np.isfinite(expected).all():
        raise CheckFailure(
            f"{where} returned {_short(got_arr)}, which contains nan or inf although the answer "
            f"{_short(expected)} is finite: an exp overflowed or a log met 0"
        )
    raise CheckFailure(f"{where} returned {_short(got_arr)}, expected {_short(expected)}")


def _as_case(item: Any) -> Case:
    if isinstance(item, Case):
        return item
    return Case(item if isinstance(item, tuple) else (np.asarray(item),), "an extra case")


class Exercise:
    """A graded function: its reference, its cases grouped into parts, and its known mistakes.

    ``parts`` maps a part's name to a function ``rng -> list[Case]`` (fixed cases plus
    random ones, which defeat hard-coded answers). Calling the exercise checks every part,
    or just the one named, so separate nbgrader cells can give partial credit.
    """

    def __init__(
        self,
        name: str,
        reference: Callable[..., Any],
        parts: Mapping[str, Callable[[np.random.Generator], list[Case]]],
        mistakes: Sequence[Mistake] = (),
        *,
        from_scratch: bool = True,
        rtol: float = 1e-5,
        atol: float = 1e-7,
        in_place_hint: str = IN_PLACE_HINT,
    ) -> None:
        self.name, self.reference, self.parts, self.mistakes = name, reference, dict(parts), tuple(mistakes)
        self.from_scratch, self.rtol, self.atol, self.in_place_hint = from_scratch, rtol, atol, in_place_hint

    def cases(self, part: str | None = None, seed: int | None = None) -> list[Case]:
        """The cases of one part (or of all), random ones drawn from ``seed`` (fresh when None)."""
        if part is not None and part not in self.parts:
            raise ValueError(f"part must be one of {sorted(self.parts)}, got {part!r}")
        rng = np.random.default_rng(seed)
        names = [part] if part else list(self.parts)
        return [case for p in names for case in self.parts[p](rng)]

    def check_case(self, fn: Callable, case: Case) -> None:
        """Run one case and compare it with the reference."""
        expected = self.reference(*case.args, **case.kwargs)
        got = call(fn, case, self.name, self.in_place_hint)
        compare(got, expected, case, self.name, mistakes=self.mistakes, rtol=self.rtol, atol=self.atol)

    def failures(self, fn: Callable, part: str | None = None, seed: int | None = None) -> list[str]:
        """The message of every failing case (no shortcut check): what a learner would read, case by case."""
        messages = []
        for case in self.cases(part, seed):
            try:
                self.check_case(fn, case)
            except CheckFailure as failure:
                messages.append(str(failure))
        return messages

    def __call__(self, fn: Callable, part: str | None = None, extra: Iterable[Any] = (), seed: int | None = None) -> None:
        """Check ``fn`` on one part (or all) plus ``extra`` cases: a Case, an args tuple or one array."""
        if not callable(fn):
            raise CheckFailure(f"expected the function {self.name}, got {type(fn).__name__}")
        if self.from_scratch:
            forbid_shortcuts(fn, self.name)
        cases = self.cases(part, seed) + [_as_case(item) for item in extra]
        for case in cases:
            self.check_case(fn, case)
        scope = f"part '{part}'" if part else "all parts"
        print(f"✓ {self.name}: {len(cases)} cases passed ({scope}: {', '.join([part] if part else self.parts)})")
