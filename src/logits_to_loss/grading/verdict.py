"""Trusted verdicts: the graded cells are judged in the grader's process, never in the student's kernel.

nbgrader executes the submitted notebook in a kernel the student's code controls: it can patch
the checker, numpy or IPython, read the expected values off the stack, or turn later cells into
``pass``. So :class:`TrustedVerdicts`, an autograde preprocessor placed right after nbgrader's
``Execute``, throws the kernel's test outputs away and judges each graded cell again:

- an exercise's parts run the chapter's checker here, against the learner's function served by
  a fresh :mod:`.runner` process per exercise (the solution cells only, with the from-scratch
  rule enforced by what that process may import or open), across a pipe;
- the quiz is read from the answer cell as a literal and compared with the keys held here.

The cell's outputs become the verdict (a ✓ line, or a one-line error nbgrader scores 0), so
nbgrader's own ``SaveAutoGrades`` records the score and the feedback shows the same words.
"""

from __future__ import annotations

import ast
import os
import pickle
import secrets
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, List, Unicode

from ..chapter import Chapter, load
from ..checker import BANNED_MODULES, CheckFailure, Exercise, NotWritten, seed_of
from . import runner as wire

RUNNER = Path(wire.__file__)


class Stopped(CheckFailure):
    """The runner is gone: the learner's code ended it, ran out of time, or sent something unreadable."""


def _rebuilt(name: str, message: str) -> BaseException:
    """The learner's exception as the checker expects it: same type name and text (a plain class, not theirs)."""
    if name == "NotImplementedError":
        return NotImplementedError(message)
    exc_type = type(name, (Exception,), {"__str__": lambda self: message})
    return exc_type()


class Runner:
    """The learner's function for one exercise, living in a :mod:`.runner` process; calling it calls there."""

    def __init__(self, exercise: Exercise, cells: list[str], prefix: list[str], timeout: float) -> None:
        self.exercise, self.__name__, self.timeout = exercise, exercise.name, timeout
        self.deadline = time.monotonic() + timeout
        self.defined, self.why = False, "its cell did not run"
        try:
            self.process = subprocess.Popen([*prefix, sys.executable, str(RUNNER)], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:  # e.g. no process left under the limits: the cells fail, the run goes on
            self.process, self.why = None, f"the process to check it could not start: {exc}"
            return
        live = not exercise.from_scratch and exercise.observe is not None  # observed where it runs
        self.to_plain = exercise.portable[0] if live and exercise.portable else tuple
        orders = {"cells": cells, "name": exercise.name,
                  "banned": list(BANNED_MODULES) if exercise.from_scratch else [],
                  "observe": _spec(exercise.observe) if live else None,
                  "from_plain": _spec(exercise.portable[1]) if live and exercise.portable else None}
        try:
            self._send(pickle.dumps(orders))
            ready = self._receive()
            self.defined = bool(ready.get("defined"))
            self.why = "; ".join(map(str, ready.get("errors") or [])) or "no cell defines it"
        except Stopped as stopped:
            self.why = str(stopped)

    # -- the pipe --------------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        try:
            wire.write_frame(self.process.stdin, data)
        except (BrokenPipeError, OSError):
            raise self._stopped() from None

    def _read(self, n: int) -> bytes:
        chunks, fd = [], self.process.stdout.fileno()
        while n:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.close()
                raise Stopped(f"{self.__name__} timed out: the checks of one exercise may take {self.timeout:g} s")
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                raise self._stopped()
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _receive(self) -> Any:
        (size,) = struct.unpack("<Q", self._read(8))
        if size > wire.MAX_FRAME:
            self.close()
            raise Stopped(f"{self.__name__} returned more than {wire.MAX_FRAME >> 20} MiB")
        try:
            return wire.decode(self._read(size))
        except (ValueError, TypeError, KeyError):
            self.close()
            raise Stopped(f"{self.__name__}'s process sent something that is not a result") from None

    def _stopped(self) -> Stopped:
        self.close()
        code = self.process.returncode
        how = f"was killed by signal {-code}" if code and code < 0 else f"exited with status {code}"
        return Stopped(f"{self.__name__}: the process running your code {how} (os._exit, a crash or a limit)")

    def close(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    # -- a call ----------------------------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        callbacks: list[Callable] = []
        sent = []
        for arg in args:  # a function among the arguments stays here; the runner gets a handle to call back
            if callable(arg):
                callbacks.append(arg)
                arg = {"callback": len(callbacks) - 1, "label": repr(arg)}
            sent.append(arg)
        self._send(pickle.dumps({"args": list(self.to_plain(tuple(sent))), "kwargs": kwargs}))
        while True:
            reply = self._receive()
            if not isinstance(reply, dict):
                raise Stopped(f"{self.__name__}'s process sent something that is not a result")
            if "callback" not in reply:
                break
            self._send(pickle.dumps(_evaluate(callbacks, reply)))
        for mine, theirs in zip(args, reply.get("args") or []):  # in-place edits show in the caller's arrays
            if isinstance(mine, np.ndarray) and isinstance(theirs, np.ndarray) and theirs.shape == mine.shape:
                np.copyto(mine, theirs, casting="unsafe")
        if "raised" in reply:
            raise _rebuilt(*map(str, reply["raised"]))
        return reply.get("out")


def _spec(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _evaluate(callbacks: list[Callable], request: dict) -> Any:
    """The grader's own function, evaluated on the numbers the learner's code asked about."""
    try:
        with np.errstate(all="ignore"):
            return callbacks[int(request["callback"])](*request["args"])
    except Exception as exc:  # the learner passed something the function cannot take
        return float("nan") if isinstance(exc, (TypeError, ValueError, IndexError)) else None


# -- the graded cells -------------------------------------------------------------------------------


def checks_of(source: str) -> list[tuple[str, str, bool]]:
    """``(target, part, hidden)`` of every ``ch.<target>.check(fn, "part"[, hidden=True])`` in a test cell."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "check"
                and isinstance(node.func.value, ast.Attribute) and len(node.args) == 2
                and isinstance(node.args[1], ast.Constant)):
            hidden = any(k.arg == "hidden" and getattr(k.value, "value", False) for k in node.keywords)
            found.append((node.func.value.attr, str(node.args[1].value), hidden))
    return found


def answers_of(cells: list[str]) -> Any:
    """The ``answers = {...}`` literal of the answer cell (the last assignment wins), or why it is unreadable."""
    answers: Any = "answers is not set: run the answer cell with answers = {...}"
    for source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "answers" for t in node.targets):
                try:
                    answers = ast.literal_eval(node.value)
                except ValueError:
                    answers = "answers must be written out as a dict of letters, like {'q1': 'b'}"
    return answers


SECRET = Path("grading") / "secret"  # where a course keeps its grading secret, under its root


def course_secret(path: Path) -> str:
    """The grading secret kept in ``path``, made on first use and readable by its owner alone.

    It seeds the hidden cases, so a student who knows how the visible ones are drawn still
    cannot draw the hidden ones. The file is written aside and linked into place: whole or absent,
    and when two graders make it at once, both use the first.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


class Judge:
    """The verdicts of one submission: its solution cells, one runner per exercise, seeds from the student.

    Visible cases are seeded by the submission alone (the learner saw them in the notebook);
    hidden ones also by the course's ``secret``.
    """

    def __init__(self, chapter: Chapter, student: str, cells: list[str], prefix: list[str], timeout: float,
                 secret: str = "") -> None:
        self.chapter, self.student, self.cells, self.prefix, self.timeout = chapter, student, cells, prefix, timeout
        self.secret = secret
        self.runners: dict[str, Runner] = {}

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        for runner in self.runners.values():
            runner.close()

    def _runner(self, exercise: Exercise) -> Runner:
        if exercise.name not in self.runners:
            self.runners[exercise.name] = Runner(exercise, self.cells, self.prefix, self.timeout)
        return self.runners[exercise.name]

    def one(self, target: str, part: str, hidden: bool) -> str:
        """The ✓ line of one check, or raise the :class:`CheckFailure` a learner is shown."""
        if target == "quiz":
            return self._quiz(part)
        exercise = next((e for e in self.chapter.exercises if e.name == target), None)
        if exercise is None:
            raise CheckFailure(f"this test cell checks {target!r}, which chapter {self.chapter.id} does not declare")
        runner = self._runner(exercise)
        if not runner.defined:
            raise CheckFailure(f"{target} is not defined ({runner.why}): its cell must run and define "
                               f"`def {exercise.signature}:`")
        names = (self.student, self.chapter.id, target, part)
        seed = seed_of(self.secret, *names, "hidden") if hidden else seed_of(*names, "visible")
        try:
            failure = exercise.verdict(runner, part, seed)
        except NotWritten:
            raise CheckFailure(f"{target} is not written yet: replace `raise NotImplementedError()` with your code") from None
        if failure is not None:
            raise failure
        return f"✓ {target}: part '{part}' passed"

    def _quiz(self, qid: str) -> str:
        answers = answers_of(self.cells)
        if isinstance(answers, str):
            raise CheckFailure(answers)
        try:
            return self.chapter.quiz.verdict(answers, qid)
        except NotWritten as missing:  # unanswered is a failure under grading
            raise CheckFailure(str(missing)) from None

    def cell(self, source: str) -> tuple[bool, list[str]]:
        """Whether a test cell passes, and its lines: the ✓ lines, then the first failure."""
        lines = []
        for target, part, hidden in checks_of(source):
            try:
                lines.append(self.one(target, part, hidden))
            except CheckFailure as failure:
                return False, [*lines, str(failure)]
        return True, lines


def _error(message: str) -> Any:
    return new_output("error", ename="CheckFailure", evalue=message, traceback=["\x1b[1;31m✗ " + message + "\x1b[0m"])


class TrustedVerdicts(NbGraderPreprocessor):
    """Replace the kernel's outputs of every graded test cell by a verdict computed outside the kernel."""

    command_prefix = List(Unicode(), default_value=[],
                          help="Command that runs the learner's code jailed (e.g. the sandbox); empty: as is").tag(config=True)
    timeout = Integer(120, help="Seconds all checks of one exercise may take").tag(config=True)
    sweep_uid = Integer(-1, help="Grading user whose leftover processes are killed first (-1: none)").tag(config=True)
    secret_file = Unicode(str(SECRET), help="File of the secret that seeds the hidden cases, made if missing "
                          "(relative to the folder nbgrader runs in: the course root)").tag(config=True)

    def preprocess(self, nb, resources):
        if self.sweep_uid >= 0:  # the kernel is shut down: what its user left running (a fork bomb) goes too
            from .sandbox import sweep

            sweep(self.sweep_uid)
        info = resources["nbgrader"]
        chapter = load(info["assignment"])
        meta = [cell.metadata.get("nbgrader", {}) for cell in nb.cells]
        cells = [c.source for c, m in zip(nb.cells, meta) if m.get("solution") and c.cell_type == "code"]
        secret = course_secret(Path(self.secret_file))
        with Judge(chapter, info["student"], cells, list(self.command_prefix), self.timeout, secret) as judge:
            for cell, m in zip(nb.cells, meta):
                if cell.cell_type == "code" and m.get("grade") and not m.get("solution"):
                    ok, lines = judge.cell(cell.source)
                    passed = lines if ok else lines[:-1]
                    cell.outputs = [new_output("stream", name="stdout", text="\n".join(passed) + "\n")] if passed else []
                    if not ok:
                        cell.outputs.append(_error(lines[-1]))
        return nb, resources
