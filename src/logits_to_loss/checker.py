"""The checker: one mechanism behind the instant self-checks and the nbgrader test cells.

An :class:`Exercise` runs a learner's function on the cases of one :class:`Part` and compares
each result with the reference library evaluated in float64. The tolerance follows from the
input's dtype and the case's conditioning, so any standard formula passes in float32 or float64.
A wrong result is matched against the exercise's catalogue of :class:`Mistake` s, each written
once as the code a learner would write, so the message names the misconception and its section.

Random cases are drawn from a seed: fresh in self-study, derived from the submission (student,
exercise, part) under nbgrader, so grading a notebook twice gives the same score and messages.
"""

from __future__ import annotations

import copy
import dis
import hashlib
import inspect
import os
import textwrap
import types
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

BANNED_MODULES = ("logits_to_loss", "torch", "scipy", "jax", "tensorflow", "sklearn")


class CheckFailure(AssertionError):
    """A check did not pass; the message says what went wrong and where the chapter explains it.

    IPython shows it as a short box (``_render_traceback_``) instead of a traceback of the
    checker; it is still an error, so nbgrader records the cell as failed.
    """

    def __init__(self, message: str, mistake: Mistake | None = None) -> None:
        super().__init__(message)
        self.mistake = mistake

    def _render_traceback_(self) -> list[str]:
        return ["\x1b[1;31m✗ " + str(self) + "\x1b[0m"]  # one line: the notebook wraps it, names stay whole


def grading() -> bool:
    """True while nbgrader runs the notebook (autograde or validate)."""
    return os.environ.get("NBGRADER_EXECUTION") in ("autograde", "validate")


def not_yet(message: str) -> None:
    """An unanswered exercise: one printed line in self-study (Run All goes on), a failure under nbgrader."""
    if grading():
        raise CheckFailure(message)
    print(f"… {message}")


def seed_of(*names: str) -> int:
    """A 64-bit seed fixed by ``names`` (student, chapter, exercise, part, visible or hidden)."""
    return int.from_bytes(hashlib.sha256("/".join(names).encode()).digest()[:8], "little")


def submission_seed(*names: str) -> int | None:
    """A seed fixed by the submission under nbgrader (its folder names the student), None in self-study."""
    if not grading():
        return None
    return seed_of(*Path.cwd().parts[-2:], *names)  # autograded/<student>/<chapter>


@dataclass(frozen=True)
class Case:
    """One call of the learner's function: positional arguments, keyword arguments and a label."""

    args: tuple
    label: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    """One graded cell of an exercise: a one-sentence description and a function ``rng -> [Case]``."""

    description: str
    cases: Callable[[np.random.Generator], list[Case]]
    points: int = 1


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer, written once as the learner's wrong code.

    ``code`` is either a whole ``def`` or just the body of the exercise's function (it may call
    ``_right``, the correct function, to express a wrapper such as an in-place edit). ``parts`` are
    the parts it must fail (all when empty). A cheat must score 0 wherever it fails.
    """

    name: str
    code: str
    explanation: str
    parts: tuple[str, ...] = ()
    cheat: bool = False

    def source(self, exercise: Exercise) -> str:
        """The code of the function, as a learner would write it in the solution cell."""
        code = textwrap.dedent(self.code).strip("\n")
        if not code.startswith(("def ", "import ", "from ")):
            code = f"def {exercise.signature}:\n" + textwrap.indent(code, "    ")
        for key, value in exercise.placeholders.items():
            code = code.replace("{" + key + "}", value)
        return code

    def on(self, *parts: str) -> Mistake:
        """The same mistake, failing only ``parts`` of an exercise (for shared mistakes)."""
        return replace(self, parts=parts)

    def function(self, exercise: Exercise) -> Callable:
        """The wrong function itself, compiled from :meth:`source` next to NumPy and ``_right``."""
        namespace: dict[str, Any] = {"np": np, "_right": exercise.reference}
        exec(compile(self.source(exercise), f"<mistake: {self.name}>", "exec"), namespace)
        return namespace[exercise.name]


# -- calling learner code -------------------------------------------------------------------------


class NotWritten(Exception):
    """The learner's function still raises NotImplementedError."""


def _short(x: Any) -> str:
    try:
        arr = np.asarray(x)
    except Exception:  # e.g. a ragged tuple a learner returned
        return repr(x)[:200]
    if arr.dtype.kind in "fc":
        return np.array2string(arr, precision=4, suppress_small=False, threshold=12, edgeitems=3)
    return np.array2string(arr, threshold=12, edgeitems=3)


def describe(case: Case, name: str) -> str:
    shown = ", ".join(_short(a) if isinstance(a, np.ndarray) else repr(a) for a in case.args)
    extra = "".join(f", {k}={v!r}" for k, v in case.kwargs.items())
    return f"{name}({shown}{extra})  [{case.label}]"


IN_PLACE = "changed its input in place"
NO_RETURN = "returned None"


def _fresh(case: Case) -> tuple:
    """Copies of the arguments: arrays, and random generators so that every call draws the same numbers."""
    return tuple(a.copy() if isinstance(a, np.ndarray) else copy.deepcopy(a) if isinstance(a, np.random.Generator)
                 else a for a in case.args)


def _crash(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def call(fn: Callable, case: Case, name: str, in_place_hint: str, diagnose: Callable[[str], Mistake | None]) -> Any:
    """Call the learner's function on copies of the inputs; report crashes and in-place edits."""
    args = _fresh(case)
    try:
        with np.errstate(all="ignore"):
            out = fn(*args, **case.kwargs)
    except NotImplementedError:
        raise NotWritten(name) from None
    except CheckFailure:
        raise
    except Exception as exc:  # any crash of learner code is feedback, not an error of the checker
        found = diagnose(_crash(exc))
        hint = f": {found.name}. {found.explanation}" if found else ""
        if not found and "broadcast" in str(exc):
            hint = " (a reduction without keepdims=True gives a shape that no longer lines up with its rows)"
        raise CheckFailure(f"{describe(case, name)} raised {_crash(exc)}{hint}", found) from None
    for before, after in zip(case.args, args):
        if isinstance(before, np.ndarray) and not np.array_equal(before, after, equal_nan=True):
            raise CheckFailure(f"{describe(case, name)} {IN_PLACE} (e.g. `x -= x.max()`); {in_place_hint}")
    return out


# -- comparing ------------------------------------------------------------------------------------


def tolerance(case: Case, safety: float = 8.0) -> float:
    """Relative and absolute tolerance for a correct answer computed in the input's precision.

    A stable formula loses about ``eps * max|x|`` when it forms ``z - max z`` and ``eps * n`` when it
    sums ``n`` terms one by one, so the bound is ``safety * eps * (1 + max|x| + n)``.
    """
    arrays = [np.asarray(a) for a in case.args if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    if not arrays:
        return safety * np.finfo(np.float64).eps * 16
    eps = max(np.finfo(a.dtype).eps for a in arrays)
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
    size = max((a.shape[-1] if a.ndim else 1) for a in arrays)
    magnitude = max((float(f.max()) for f in finite if f.size), default=0.0)
    return float(safety * eps * (1.0 + magnitude + size))


def close(got: np.ndarray, expected: np.ndarray, tol: float) -> bool:
    """Same shape and ``|got - expected| <= tol * (1 + |expected|)`` everywhere (equal infs and nans agree)."""
    if got.shape != expected.shape:
        return False
    with np.errstate(all="ignore"):
        near = np.isfinite(expected) & (np.abs(got - expected) <= tol * (1.0 + np.abs(expected)))
        return bool(np.all(near | (got == expected) | (np.isnan(got) & np.isnan(expected))))


def _agrees(got: np.ndarray, out: Any, tol: float) -> bool:
    """Whether a mistake's output ``out`` is the learner's ``got`` (False when it is no array of numbers)."""
    try:
        return close(got, np.asarray(out, dtype=float), tol)
    except (TypeError, ValueError):
        return False


def _digits_that_differ(a: float, b: float) -> tuple[str, str]:
    """Both numbers printed with just enough significant digits to tell them apart."""
    for digits in range(4, 18):
        sa, sb = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if sa != sb:
            return sa, sb
    return repr(a), repr(b)


def _first_difference(got: np.ndarray, expected: np.ndarray, tol: float) -> str:
    with np.errstate(all="ignore"):
        bad = ~((np.isfinite(expected) & (np.abs(got - expected) <= tol * (1.0 + np.abs(expected))))
                | (got == expected))
    index = tuple(int(i) for i in np.argwhere(bad)[0]) if got.ndim else ()
    g, e = float(got[index]), float(expected[index])
    sg, se = _digits_that_differ(g, e)
    where = f" at index {list(index)}" if index else ""
    return f"{sg}{where} where the answer is {se} (off by {abs(g - e):.2g}, allowed {tol * (1 + abs(e)):.2g})"


def _is_float(x: Any) -> bool:
    return isinstance(x, (float, np.floating)) or (isinstance(x, np.ndarray) and x.dtype.kind == "f")


def _as_array(got: Any, expected: np.ndarray, where: str) -> np.ndarray:
    if got is None:
        raise CheckFailure(f"{where} {NO_RETURN}: did you forget the `return` statement?")
    try:
        arr = np.asarray(got)
    except Exception:
        raise CheckFailure(f"{where} returned a {type(got).__name__} that is not an array of numbers") from None
    if arr.dtype.kind not in "fiub":
        raise CheckFailure(f"{where} returned dtype {arr.dtype}; return real numbers")
    if arr.dtype.kind in "iub" and expected.dtype.kind == "f":
        raise CheckFailure(f"{where} returned integers ({arr.dtype}); the result should be floats")
    return arr


def shown(failures: Sequence[CheckFailure]) -> CheckFailure:
    """Of several failing cases, the first that names a catalogued mistake, else the first."""
    return min(failures, key=lambda f: f.mistake is None)


# -- the exercise ---------------------------------------------------------------------------------


class Exercise:
    """A graded function: its reference, its parts (one graded cell each) and its known mistakes.

    ``signature`` is the learner's ``def`` line without ``def`` and colon, e.g.
    ``"softmax(logits, axis=-1)"``. ``observe(output, case)``, when given, turns an output into what
    is compared with the reference (e.g. sampled token ids into their frequencies, for a reference
    that returns the probabilities); ``tolerance(case)`` then says how far the two may be apart.
    ``portable = (to_plain, from_plain)`` turns a case's arguments into picklable ones and back, for
    cases holding live objects that a trusted verdict must send to another process. ``cheats`` and
    ``shared`` mistakes (written once in :mod:`logits_to_loss.mistakes`) follow the exercise's own
    ``mistakes`` in the catalogue.
    """

    def __init__(
        self,
        signature: str,
        reference: Callable[..., Any],
        parts: Mapping[str, Part],
        mistakes: Sequence[Mistake] = (),
        *,
        shared: Sequence[Mistake] = (),
        from_scratch: bool = True,
        tolerance: Callable[[Case], float] = tolerance,
        observe: Callable[[Any, Case], Any] | None = None,
        portable: tuple[Callable[[tuple], tuple], Callable[[tuple], tuple]] | None = None,
        in_place_hint: str = "work on a new array (`z = x - x.max(...)`) so the caller's logits stay intact",
    ) -> None:
        self.signature, self.name = signature, signature.split("(", 1)[0].strip()
        self.reference, self.parts = reference, dict(parts)
        self.from_scratch, self.tolerance, self.in_place_hint = from_scratch, tolerance, in_place_hint
        self.observe, self.portable = observe, portable
        self._own = (*mistakes, *shared)

    @cached_property
    def catalogue(self) -> tuple[Mistake, ...]:
        """The exercise's own mistakes, the shared ones it opted into, those that always apply, the cheats."""
        from . import mistakes as common  # the shared catalogue is built from Mistake itself

        always = [m for m in common.ALWAYS if m is not common.EDITED_INPUT or self._takes_arrays()]
        return (*self._own, *always, *(common.CHEATS if self.from_scratch else ()))

    def _takes_arrays(self) -> bool:
        """Whether the exercise's inputs include an array (which an in-place edit could change)."""
        first = self.cases(next(iter(self.parts)), seed=0)[0]
        return any(isinstance(a, np.ndarray) for a in first.args)

    @cached_property
    def placeholders(self) -> dict[str, str]:
        """What the shared mistakes' ``{name}``, ``{module}``, ``{function}`` and ``{answer}`` stand for."""
        first = self.cases(next(iter(self.parts)), seed=0)[0]
        return {
            "name": self.name,
            "module": self.reference.__module__,
            "function": self.reference.__name__,
            "answer": repr(self.expected(first).tolist()),
        }

    @property
    def mistakes(self) -> tuple[Mistake, ...]:
        return tuple(m for m in self.catalogue if not m.cheat)

    @property
    def cheats(self) -> tuple[Mistake, ...]:
        return tuple(m for m in self.catalogue if m.cheat)

    @cached_property
    def _wrong(self) -> list[tuple[Mistake, Callable]]:
        return [(m, m.function(self)) for m in self.mistakes]

    def cases(self, part: str, seed: int | None = None) -> list[Case]:
        """The cases of ``part``, its random ones drawn from ``seed`` (fresh when None)."""
        if part not in self.parts:
            raise ValueError(f"part must be one of {sorted(self.parts)}, got {part!r}")
        return self.parts[part].cases(np.random.default_rng(seed))

    def expected(self, case: Case) -> np.ndarray:
        """The reference answer, computed in float64 whatever the input's dtype."""
        args = tuple(a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in _fresh(case))
        with np.errstate(all="ignore"):
            return np.asarray(self.reference(*args, **case.kwargs))

    def _outcome(self, fn: Callable, case: Case) -> Any:
        """What ``fn`` gives on ``case``: its result, or the text of the exception it raised."""
        try:
            with np.errstate(all="ignore"):
                return fn(*_fresh(case), **case.kwargs)
        except Exception as exc:
            return _crash(exc)

    def diagnose(self, got: Any, case: Case, tol: float) -> Mistake | None:
        """The first catalogued mistake whose code gives what the learner's gave on this case, if any."""
        for mistake, wrong in self._wrong:
            out = self._outcome(wrong, case)
            if self.observe is not None and out is not None and not isinstance(out, str):
                out = self.observe(out, case)
            if isinstance(got, str) or isinstance(out, str):
                if isinstance(got, str) and isinstance(out, str) and got == out:
                    return mistake
            elif out is not None and _agrees(got, out, tol):
                return mistake
        return None

    def passes(self, fn: Callable, part: str, seed: int | None = None) -> bool:
        """Whether ``fn`` passes every case of ``part`` (no diagnosis, stops at the first failure)."""
        for case in self.cases(part, seed):
            try:
                self.check_case(fn, case, diagnose=False)
            except CheckFailure:
                return False
        return True

    def check_case(self, fn: Callable, case: Case, diagnose: bool = True, answer: tuple | None = None) -> None:
        """Run one case and compare it with the reference, naming the mistake when one matches.

        ``answer`` is ``(expected, tolerance)`` when the caller has computed them already.
        """
        expected, tol = answer or (self.expected(case), self.tolerance(case))
        match = (lambda got: self.diagnose(got, case, tol)) if diagnose else (lambda got: None)
        out = call(fn, case, self.name, self.in_place_hint, match)
        if self.observe is not None and out is not None:
            try:
                out = self.observe(out, case)
            except Exception as exc:  # learner output the observation cannot read is feedback too
                raise CheckFailure(f"{describe(case, self.name)} returned {_short(out)}, which is not usable "
                                   f"here ({_crash(exc)})") from None
        if _is_float(out) and close(np.asarray(out, dtype=float), expected, tol):
            return
        where = describe(case, self.name)
        got = _as_array(out, expected, where)
        if close(got.astype(float), expected, tol):
            return
        found = match(got.astype(float)) if got.size else None
        named = f"{found.name}. {found.explanation}" if found else ""
        if got.shape != expected.shape:
            hint = named or "check which axis you reduce over and use keepdims=True when you divide"
            raise CheckFailure(f"{where} returned shape {got.shape}, expected {expected.shape}: {hint}", found)
        if found is not None:
            raise CheckFailure(f"{where} returned {_short(got)}: {named}", found)
        got = got.astype(float)
        if not np.isfinite(got).all() and np.isfinite(expected).all():
            raise CheckFailure(
                f"{where} returned {_short(got)}, which contains nan or inf although the answer "
                f"{_short(expected)} is finite: an exp overflowed or a log met 0"
            )
        raise CheckFailure(f"{where} returned {_first_difference(got, expected, tol)}")

    def failures(self, fn: Callable, part: str, seed: int | None = None) -> list[CheckFailure]:
        """Every failing case of ``part`` (no shortcut check); raises :class:`NotWritten` for a stub."""
        found = []
        for case in self.cases(part, seed):
            try:
                self.check_case(fn, case)
            except CheckFailure as failure:
                found.append(failure)
        return found

    def verdict(self, fn: Callable, part: str, seed: int | None = None) -> CheckFailure | None:
        """The failure a learner is shown for ``part`` (None when it passes)."""
        failures = self.failures(fn, part, seed)
        return shown(failures) if failures else None

    def check(self, fn: Callable, part: str, hidden: bool = False) -> None:
        """Check ``fn`` on one part: raise :class:`CheckFailure` with a diagnosis, or print one ✓ line.

        Of several failing cases the message shows one that names a catalogued mistake, if any. An
        unanswered exercise prints one line in self-study (so Run All goes on) and fails under
        nbgrader. ``hidden`` draws a second, independent set of random cases.
        """
        if not callable(fn):
            raise CheckFailure(f"expected the function {self.name}, got {type(fn).__name__}")
        if self.from_scratch:
            forbid_shortcuts(fn, self.name)
        seed = submission_seed(self.name, part, "hidden" if hidden else "visible")
        try:
            failures = self.failures(fn, part, seed)
        except NotWritten:
            not_yet(f"{self.name} is not written yet: replace `raise NotImplementedError()` with your code")
            return
        if failures:
            raise shown(failures)
        print(f"✓ {self.name}: part '{part}' passed")


# -- the from-scratch rule --------------------------------------------------------------------------


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
    for default in (*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).values()):
        yield "a default argument", default


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


def show(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call a learner's function for a demo; an unanswered exercise prints one line instead of a traceback."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        print(f"… {getattr(fn, '__name__', 'this function')} is not written yet")
        return None
