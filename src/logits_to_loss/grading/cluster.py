"""Autograding on Dask distributed: workers on several machines share a PostgreSQL gradebook.

The instructor's machine submits one Dask task per pending submission to a running
``dask scheduler``. A task carries everything as bytes (:class:`Shared`: the course's
``nbgrader_config.py``, the chapter's source files, the template gradebook, the limits and the
gradebook's URL; the submission's files), so a worker machine needs only this package installed.
On the worker the task grades exactly as a local slot does (:func:`.autograde.grade_one`, the
kernel jailed as a grading user of that machine), writes the scores into the shared gradebook
itself and returns the outcome with the autograded files; the instructor's side writes those
files and the ledger. A worker that dies mid-task is replaced by its nanny and Dask runs the task
again; a task that keeps killing workers (Dask's ``allowed-failures``) ends as an error row.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import shutil
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from distributed import Client, KilledWorker, as_completed, get_worker

from ..chapter import load
from . import autograde as grading
from . import sandbox
from .autograde import Graded, Job, Run
from .ledger import Result
from .sandbox import Limits
from .verdict import course_secret

CONNECT_TIMEOUT = "20s"
_thread = threading.local()


@dataclass(frozen=True)
class Shared:
    """What every task of one run needs, as bytes: no file system is shared with the workers."""

    chapter_id: str
    config: bytes
    source: dict[str, bytes]
    template: bytes
    limits: Limits
    db_url: str
    secret: str


def check_gradebook(db_url: str) -> None:
    """Refuse a gradebook that workers on other machines cannot reach (SQLite is a local file)."""
    if db_url.startswith("sqlite"):
        raise ValueError(f"--scheduler: the gradebook {db_url} is an SQLite file that workers on other machines "
                         "cannot write; set c.CourseDirectory.db_url to a PostgreSQL URL such as "
                         "'postgresql+psycopg://grader@dbhost/gradebook' in nbgrader_config.py (README, "
                         "\"PostgreSQL gradebook\"), or grade on this machine with --workers")


def _connect(scheduler: str) -> Client:
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        raise ValueError(f"--scheduler: cannot reach the Dask scheduler at {scheduler} ({exc}); "
                         "start one with `dask scheduler` and give its tcp://HOST:PORT address") from None


def _shared(run: Run) -> Shared:
    template = grading.make_template(grading.forkserver_context(), run)
    return Shared(run.chapter.id, (run.course / "nbgrader_config.py").read_bytes(),
                  grading.read_tree(run.source / run.chapter.id), template.read_bytes(), run.limits,
                  grading.run_db(run.course), course_secret(grading.secret_path(run.course)))


def _lost(job: Job, exc: BaseException) -> Graded:
    """The error row of a task that ended without an outcome (its workers died, or it raised)."""
    if isinstance(exc, KilledWorker):
        reason = f"a Dask worker died each of the {exc.allowed_failures + 1} times it graded this submission"
    else:
        reason = f"the Dask task failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return Graded(Result(job.student, job.digest, "error", 0.0, 0.0, reason))


def autograde_on(run: Run, scheduler: str, force: bool = False) -> list[Result]:
    """Grade every pending submission of ``run.chapter`` on the Dask cluster of ``scheduler``; returns the new results."""
    check_gradebook(grading.run_db(run.course))
    jobs, results = grading.begin(run, force)
    if not jobs:
        return results
    shared = _shared(run)
    machines: Counter[str] = Counter()
    with _connect(scheduler) as client, grading.progress(len(jobs) + len(results), len(results)) as bar:
        futures = {client.submit(grade_task, shared, job, grading.read_tree(job.folder), pure=False,
                                 key=f"grade {run.chapter.id} {job.student} {run.work.name}"): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            if future.status == "finished":
                graded, worker = future.result()
                grading.keep(run, graded)  # the worker wrote the gradebook
                machines[worker] += 1
            else:
                graded = _lost(job, future.exception())
                grading.record(run, graded)
            results.append(graded.result)
            grading.tick(bar, graded.result)
    if machines:
        print("graded by " + ", ".join(f"{worker} ({n})" for worker, n in sorted(machines.items())))
    return results


# -- on a Dask worker ------------------------------------------------------------------------------------


@functools.cache
def _worker_folder() -> Path:
    """This worker's folder, with the warm font cache every task's homes copy.

    It lies in the worker's Dask local directory, which Dask removes when the worker closes, or
    when the next worker starts on this machine after a killed one.
    """
    local = Path(get_worker().local_directory)
    local.chmod(0o711)  # the grading users go through it to their homes
    folder = local / "logits-to-loss"
    folder.mkdir(mode=0o711)
    sandbox.warm_cache(folder / "cache")
    return folder


_tasks = itertools.count(1)  # the tasks this worker process has taken


@functools.cache
def _worker_server() -> Path:
    """The socket of this worker's kernel server (it ends with the worker)."""
    return grading.kernel_server(_worker_folder(), _grading_users()).wait_ready()


def _worker_kernels() -> Path | None:
    """This worker's kernel server from its second task on (a worker given one submission starts its kernel itself)."""
    return _worker_server() if next(_tasks) >= 2 else None


def _grading_users() -> list[tuple[int, int]] | None:
    """This worker thread's grading user (one per thread, locked on this machine), swept on first use."""
    if not hasattr(_thread, "users"):
        _thread.users = sandbox.grading_users(1) if sandbox.can_switch_user() else None
        for uid, _ in _thread.users or []:
            sandbox.sweep(uid)
    return _thread.users


def _task_run(shared: Shared, folder: Path) -> Run:
    """The run of one task, in ``folder``: the course's configuration and the chapter's source written from bytes."""
    (folder / "cache").symlink_to(_worker_folder() / "cache")
    (folder / "nbgrader_config.py").write_bytes(shared.config)
    grading.write_tree(folder / "source" / shared.chapter_id, shared.source)
    secret = grading.secret_path(folder)
    secret.parent.mkdir()
    secret.touch(mode=0o600)
    secret.write_text(shared.secret)
    return Run(folder, folder / "source", load(shared.chapter_id), shared.limits, folder, _grading_users(),
               _worker_kernels())


def grade_task(shared: Shared, job: Job, files: dict[str, bytes]) -> tuple[Graded, str]:
    """Dask task: grade one submission as a local slot does and write its scores to the shared gradebook.

    Returns the outcome (with the autograded files) and this worker's name (its address unless named).
    """
    if multiprocessing.current_process().daemon:
        raise RuntimeError("the Dask worker is a daemon process, which may not start nbgrader's processes: "
                           "start `dask worker` with DASK_DISTRIBUTED__WORKER__DAEMON=False")
    folder = Path(tempfile.mkdtemp(dir=_worker_folder()))
    try:
        folder.chmod(0o711)
        run = _task_run(shared, folder)
        job = replace(job, folder=folder / "submitted" / job.student / shared.chapter_id)
        grading.write_tree(job.folder, files)
        (folder / "template.db").write_bytes(shared.template)
        graded = grading.grade_one(grading.forkserver_context(), run, job, folder / "template.db")
        grading.write_grades(shared.db_url, shared.chapter_id, job.student, graded.grades)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return graded, str(get_worker().name)
