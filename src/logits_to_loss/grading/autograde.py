"""Parallel autograding: each submission in a private nbgrader course; the parent is the gradebook's only writer.

For every pending submission of a chapter the parent builds a private course (a copy of the
submission and of a template gradebook holding the assignment) and starts ``nbgrader autograde``
in it, in a fresh process of a forkserver that has nbgrader imported, up to ``workers`` at a
time. The student's kernel runs in the :mod:`.sandbox`. When the process ends (or is killed at
the wall-clock limit), the parent reads the private gradebook, copies the scores and the
autograded notebook into the real course, and appends the outcome to the :mod:`.ledger`: a grade,
or an error with a one-line reason. Nothing the student's code does reaches the real course.

The steps of one submission (:func:`prepare`, :func:`start`, :func:`finish`, :func:`grade_one`)
are shared with :mod:`.cluster`, which runs them on Dask workers of other machines.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import shutil
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from multiprocessing import forkserver
from multiprocessing.connection import wait
from pathlib import Path

from nbgrader.api import Gradebook
from tqdm import tqdm

from ..chapter import Chapter, declaring_modules
from . import ledger, sandbox
from .ledger import Result
from .report import course_config
from .sandbox import Limits
from .verdict import SECRET, course_secret

CONFIG = """c = get_config()
load_subconfig({parent!r})
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = {source!r}
c.CourseDirectory.release_directory = {release!r}
c.CourseDirectory.db_url = {db!r}
c.ExecutePreprocessor.timeout = {timeout}
c.TrustedVerdicts.command_prefix = {prefix!r}
c.TrustedVerdicts.timeout = {timeout}
c.TrustedVerdicts.sweep_uid = {uid}
c.TrustedVerdicts.secret_file = {secret!r}
"""
MAX_NOTEBOOK = 32 * sandbox.MiB
SERVER_FROM = 4  # submissions from which a run starts a kernel server (it costs about three kernel starts)


@dataclass(frozen=True)
class Job:
    """One submission to grade: ``submitted/<student>/<chapter>`` and the digest of its files."""

    student: str
    folder: Path
    digest: str
    attempt: int = 0


@dataclass(frozen=True)
class Graded:
    """A finished submission: its result, the scores of its graded cells and its autograded files."""

    result: Result
    grades: dict[tuple[str, str], tuple[float, bool]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """The settings shared by every submission of one autograde run."""

    course: Path
    source: Path
    chapter: Chapter
    limits: Limits
    work: Path
    users: list[tuple[int, int]] | None
    kernels: Path | None = None  # the socket of the run's sandbox.KernelServer


def pending(course: Path, chapter: Chapter, force: bool = False) -> list[Job]:
    """Submissions of ``chapter`` with no result in the ledger for their current files (all with ``force``)."""
    done = {} if force else ledger.read(course, chapter.id)
    jobs = []
    for folder in sorted((course / "submitted").glob(f"*/{chapter.id}")):
        job = Job(folder.parent.name, folder, ledger.digest(folder))
        if job.student not in done or done[job.student].digest != job.digest:
            jobs.append(job)
    return jobs


def precheck(job: Job, notebook: str) -> str | None:
    """Why the submission cannot be graded at all (missing, oversized or corrupt notebook), or None."""
    path = job.folder / notebook
    if not path.is_file():
        found = ", ".join(sorted(p.name for p in job.folder.glob("*.ipynb"))) or "none"
        return f"no notebook named {notebook} (found: {found})"
    if path.is_symlink() or path.stat().st_size > MAX_NOTEBOOK:
        return f"the notebook is a link or larger than {sandbox.size_text(MAX_NOTEBOOK)}"
    try:
        cells = json.loads(path.read_bytes())["cells"]
        ids = Counter(c["metadata"]["nbgrader"]["grade_id"] for c in cells
                      if c.get("metadata", {}).get("nbgrader", {}).get("grade_id"))
    except ValueError:
        return "the notebook is not valid JSON"
    except (KeyError, TypeError, AttributeError):
        return "the file is JSON but not a notebook (no list of cells with metadata)"
    copied = sorted(cell for cell, n in ids.items() if n > 1)
    if copied:
        return f"graded cell {copied[0]} appears {ids[copied[0]]} times: submit the notebook with one copy of each graded cell"
    return None


def _write_course(folder: Path, run: Run, source: Path, prefix: list[str] = (), user: tuple[int, int] | None = None) -> None:
    folder.mkdir(mode=0o711)
    (folder / "nbgrader_config.py").write_text(CONFIG.format(
        parent=str(run.course / "nbgrader_config.py"), root=str(folder), source=str(source),
        release=str(folder / "release"), db=f"sqlite:///{folder / 'gradebook.db'}", timeout=run.limits.cell_timeout,
        prefix=list(prefix), uid=user[0] if user else -1, secret=str(secret_path(run.course))))


def secret_path(course: Path) -> Path:
    """Where the course keeps the secret that seeds its hidden cases (root's alone when grading as root)."""
    return course / SECRET


def make_template(ctx, run: Run) -> Path:
    """A gradebook holding just the assignment, kept in ``grading/`` until the chapter's source changes."""
    kept = run.course / "grading" / f"{run.chapter.id}.template-{ledger.digest(run.source / run.chapter.id)[:16]}.db"
    if not kept.exists():
        folder = run.work / "template"
        _write_course(folder, run, run.source)
        process = ctx.Process(target=nbgrader, args=(str(folder), ["generate_assignment", run.chapter.id, "--force"],
                                                     run.limits.grader_memory))
        process.start()
        process.join()
        if process.exitcode:
            raise RuntimeError(f"nbgrader generate_assignment failed:\n{(folder / 'nbgrader.log').read_text()}")
        kept.parent.mkdir(exist_ok=True)
        shutil.copyfile(folder / "gradebook.db", kept.with_suffix(".part"))
        os.replace(kept.with_suffix(".part"), kept)  # whole or absent, even if this run is killed
    return kept


def prepare(run: Run, job: Job, template: Path, slot: int) -> Path:
    """The private course of ``job``: its own submission copy, gradebook, kernelspec and home."""
    private = run.work / f"{job.student}.{job.attempt}"
    source = private / "source"
    home = private / "home"
    user = run.users[slot] if run.users else None
    prefix = sandbox.jail_prefix(run.limits, home, user, run.kernels)
    _write_course(private, run, source, prefix, user)  # the verdicts' runners are jailed too
    shutil.copytree(run.source / run.chapter.id, source / run.chapter.id, ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copytree(job.folder, private / "submitted" / job.student / run.chapter.id, symlinks=True)
    shutil.copyfile(template, private / "gradebook.db")
    (private / "gradebook.db").chmod(0o600)
    sandbox.make_home(home, run.work / "cache", user)
    sandbox.write_kernelspec(private / "jupyter", prefix)
    return private


def nbgrader(private: str, argv: list[str], grader_memory: int) -> None:
    """Process body: the nbgrader command ``argv`` in a private course, logging to a file."""
    os.setsid()
    sandbox.die_with_parent()
    resource.setrlimit(resource.RLIMIT_AS, (grader_memory, grader_memory))
    log = os.open(os.path.join(private, "nbgrader.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(private)
    os.environ["JUPYTER_PATH"] = os.path.join(private, "jupyter")
    from nbgrader.apps.nbgraderapp import NbGraderApp

    NbGraderApp.launch_instance(argv=argv)


# -- reading and recording a result ------------------------------------------------------------------


def _notes(notebook: Path, limits: Limits, deleted: list[str]) -> str:
    """One line for what went wrong inside a graded notebook: deleted graded cells, a timed-out cell, the memory limit."""
    names = {o.get("ename") for c in json.loads(notebook.read_text())["cells"] for o in c.get("outputs", [])
             if o.get("output_type") == "error"}
    notes = [f"graded cell(s) {', '.join(deleted)} deleted: they score 0"] if deleted else []
    if "CellTimeoutError" in names:
        notes.append(f"cell timed out after {limits.cell_timeout} s")
    if "MemoryError" in names:
        notes.append(f"memory limit of {sandbox.size_text(limits.memory)} exceeded")
    return "; ".join(notes)


def _failure(log: str, exitcode: int | None, limits: Limits) -> str:
    """One line for why nbgrader produced no graded notebook, from its log."""
    if "DeadKernelError" in log or "Kernel died" in log:
        return "the kernel died"
    if "UnresponsiveKernelError" in log:
        return "the kernel stopped responding"
    if "MemoryError" in log:
        return f"the grader ran out of memory ({sandbox.size_text(limits.grader_memory)}): too much output?"
    errors = [line.strip() for line in log.splitlines() if "ERROR" in line]
    return errors[-1][:200] if errors else f"nbgrader exited with status {exitcode}"


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder`` by its relative POSIX path (links are left out)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def write_tree(folder: Path, files: dict[str, bytes]) -> None:
    """The files of :func:`read_tree` written under ``folder``."""
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def _graded(run: Run, job: Job, private: Path) -> Graded:
    """The scores of a notebook nbgrader graded in ``private``, read from its private gradebook."""
    autograded = private / "autograded" / job.student / run.chapter.id
    with Gradebook(f"sqlite:///{private / 'gradebook.db'}") as gb:
        submission = gb.find_submission(run.chapter.id, job.student)
        grades = {(nb.name, g.name): (g.auto_score, g.needs_manual_grade) for nb in submission.notebooks
                  for g in nb.grades}
        deleted = sorted(name for (_, name), (score, _) in grades.items() if score is None)  # no autograde: deleted
        result = Result(job.student, job.digest, "graded", submission.score, submission.max_score,
                        _notes(autograded / run.chapter.notebook, run.limits, deleted))
    return Graded(result, grades, read_tree(autograded))


def outcome(run: Run, job: Job, private: Path, exitcode: int | None, timed_out: bool) -> Graded | None:
    """The outcome of a finished process; None when it was killed from outside and should run again."""
    def error(reason: str) -> Graded:
        return Graded(Result(job.student, job.digest, "error", 0.0, 0.0, reason))

    if timed_out:
        return error(f"submission timed out after {run.limits.wall} s")
    autograded = private / "autograded" / job.student / run.chapter.id / run.chapter.notebook
    if autograded.is_file() and exitcode == 0:  # the notebook is written before it runs: check the exit
        return _graded(run, job, private)
    if exitcode == -signal.SIGKILL and job.attempt == 0:
        return None
    log = (private / "nbgrader.log").read_text(errors="replace") if (private / "nbgrader.log").exists() else ""
    return error(_failure(log, exitcode, run.limits))


def write_grades(db_url: str, chapter_id: str, student: str, grades: dict[tuple[str, str], tuple[float, bool]]) -> None:
    """Set the scores of ``student``'s submission in the gradebook at ``db_url`` (0 for cells not in ``grades``)."""
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(chapter_id, student)
        for nb in submission.notebooks:
            for g in nb.grades:
                g.auto_score, g.needs_manual_grade = grades.get((nb.name, g.name), (0.0, False))
        gb.db.commit()


def keep(run: Run, graded: Graded) -> None:
    """The autograded files into the real course, then the result into the ledger (after the gradebook)."""
    target = run.course / "autograded" / graded.result.student / run.chapter.id
    shutil.rmtree(target, ignore_errors=True)
    if graded.result.status == "graded":
        target.mkdir(parents=True)
        write_tree(target, graded.files)
    ledger.append(run.course, run.chapter.id, graded.result)


def record(run: Run, graded: Graded) -> None:
    """Write ``graded`` into the real gradebook and autograded folder, then the ledger (the single writer)."""
    write_grades(run_db(run.course), run.chapter.id, graded.result.student, graded.grades)
    keep(run, graded)


def run_db(course: Path) -> str:
    """The real gradebook's URL, from the course's nbgrader configuration."""
    return course_config(course).CourseDirectory.db_url


# -- the run -------------------------------------------------------------------------------------------


@dataclass
class Slot:
    """A worker slot: its process, private course, job and deadline while busy."""

    index: int
    process: multiprocessing.Process | None = None
    private: Path | None = None
    job: Job | None = None
    deadline: float = 0.0


def forkserver_context():
    """The forkserver context that starts nbgrader's processes (nbgrader and the chapters imported once, in the server)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["nbgrader.apps.nbgraderapp", "logits_to_loss.grading.autograde",
                                "logits_to_loss.grading.verdict", "logits_to_loss.grading.warm", *declaring_modules()])
    forkserver.ensure_running()
    return ctx


def start(ctx, run: Run, slot: Slot, job: Job, template: Path) -> None:
    """Prepare ``job``'s private course and start ``nbgrader autograde`` in it, in ``slot``."""
    slot.private, slot.job = prepare(run, job, template, slot.index), job
    argv = ["autograde", run.chapter.id, "--create", "--student", job.student]
    slot.process = ctx.Process(target=nbgrader, args=(str(slot.private), argv, run.limits.grader_memory), daemon=False)
    slot.process.start()
    slot.deadline = time.monotonic() + run.limits.wall


def _stop(run: Run, slot: Slot) -> None:
    """Kill the slot's process group and every process of its grading user."""
    try:
        os.killpg(slot.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    slot.process.kill()
    slot.process.join()
    if run.users:
        sandbox.sweep(run.users[slot.index][0])


def finish(run: Run, slot: Slot) -> tuple[Job, Graded | None]:
    """Stop the slot's process (ended, or past its deadline), read its outcome and free the slot."""
    job, timed_out, exitcode = slot.job, slot.process.is_alive(), slot.process.exitcode
    _stop(run, slot)
    graded = outcome(run, job, slot.private, exitcode, timed_out)
    shutil.rmtree(slot.private, ignore_errors=True)
    slot.job = slot.process = slot.private = None
    return job, graded


def grade_one(ctx, run: Run, job: Job, template: Path) -> Graded:
    """Grade ``job`` in slot 0 and wait for it; a grader killed from outside is tried once more."""
    slot = Slot(0)
    while True:
        start(ctx, run, slot, job, template)
        slot.process.join(run.limits.wall)
        job, graded = finish(run, slot)
        if graded is not None:
            return graded
        job = replace(job, attempt=job.attempt + 1)


def begin(run: Run, force: bool) -> tuple[list[Job], list[Result]]:
    """The run's pending jobs; submissions that cannot be graded at all are recorded as errors at once."""
    with Gradebook(run_db(run.course)) as gb:
        if run.chapter.id not in {a.name for a in gb.assignments}:
            raise ValueError(f"chapter {run.chapter.id} is not released: run `logits-to-loss release {run.chapter.id}`")
    course_secret(secret_path(run.course))  # made once, before the workers read it
    jobs, results = [], []
    for job in pending(run.course, run.chapter, force):
        reason = precheck(job, run.chapter.notebook)
        if reason is None:
            jobs.append(job)
            continue
        graded = Graded(Result(job.student, job.digest, "error", 0.0, 0.0, reason))
        record(run, graded)
        results.append(graded.result)
    return jobs, results


def progress(total: int, done: int) -> tqdm:
    """The progress bar (with its ETA) of a run of ``total`` submissions, ``done`` of them already recorded."""
    return tqdm(total=total, initial=done, unit="submission", dynamic_ncols=True)


def tick(bar: tqdm, result: Result) -> None:
    """One more submission done: the bar shows its student and status."""
    bar.set_postfix_str(f"{result.student}: {result.status}", refresh=False)
    bar.update()


def autograde(run: Run, workers: int, force: bool = False) -> list[Result]:
    """Grade every pending submission of ``run.chapter`` in ``workers`` processes; returns the new results."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    jobs, results = begin(run, force)
    if not jobs:
        return results
    for uid, _ in run.users or []:
        sandbox.sweep(uid)  # leftovers of a killed run
    ctx = forkserver_context()  # it imports nbgrader while the cache, the kernel server and the template are made
    sandbox.warm_cache(run.work / "cache")
    server = kernel_server(run.work, run.users) if len(jobs) >= SERVER_FROM else None
    try:
        template = make_template(ctx, run)
        kernels = server.wait_ready() if server else None
        return _grade_all(ctx, replace(run, kernels=kernels), workers, jobs, results, template)
    finally:
        if server:
            server.close()


def kernel_server(folder: Path, users: list[tuple[int, int]] | None) -> sandbox.KernelServer:
    """A kernel server in ``folder`` with what a chapter's kernel imports: ipykernel, the chapters, matplotlib's fonts."""
    modules = ["ipykernel.kernelapp", "ipykernel.ipkernel", "matplotlib.font_manager", *declaring_modules()]
    return sandbox.KernelServer(folder, modules, {"MPLCONFIGDIR": str(folder / "cache")}, users[0] if users else None)


def _grade_all(ctx, run: Run, workers: int, jobs: list[Job], results: list[Result], template: Path) -> list[Result]:
    """The loop of :func:`autograde`: keep ``workers`` slots busy until every job has a result."""
    slots = [Slot(i) for i in range(workers)]
    with progress(len(jobs) + len(results), len(results)) as bar:
        while jobs or any(s.job for s in slots):
            for slot in slots:
                if not slot.job and jobs:
                    start(ctx, run, slot, jobs.pop(0), template)
            busy = [s for s in slots if s.job]
            wait([s.process.sentinel for s in busy], timeout=1.0)
            for slot in busy:
                if slot.process.is_alive() and time.monotonic() <= slot.deadline:
                    continue
                job, graded = finish(run, slot)
                if graded is None:
                    jobs.append(replace(job, attempt=job.attempt + 1))
                else:
                    record(run, graded)
                    results.append(graded.result)
                    tick(bar, graded.result)
    return results


def new_run(course: Path, chapter: Chapter, limits: Limits, workers: int) -> Run:
    """The settings of a run: grading users for ``workers`` local slots (when root) and a private work folder."""
    config = course_config(course)
    source = (course / config.CourseDirectory.source_directory).resolve()
    users = sandbox.grading_users(workers) if workers and sandbox.can_switch_user() else None
    work = Path(tempfile.mkdtemp(prefix="l2l-grading-"))
    work.chmod(0o711)
    return Run(course.resolve(), source, chapter, limits, work, users)
