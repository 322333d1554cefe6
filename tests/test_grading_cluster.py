"""Grading past one machine: a PostgreSQL gradebook shared by local workers and by Dask workers.

A throwaway PostgreSQL cluster (Debian's ``postgresql`` binaries, run as the ``postgres`` user) holds
the gradebook. A small class of chapter 01 (correct, blank, a catalogued mistake, ``os._exit``) is
graded by ``--workers 2`` into it, and by ``--scheduler`` on a Dask scheduler with two workers on
127.0.0.1, one of them killed mid-task: each student gets the row tests/test_grading_cli.py expects
of an SQLite run, both Dask workers took submissions and the PostgreSQL gradebook holds the
scores. Without the binaries the tests skip, unless REQUIRE_POSTGRES is set.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import test_grading_cli as grading_cli
from course_helpers import BIN, make_course
from distributed import Client, KilledWorker
from nbgrader.api import Gradebook

from logits_to_loss.grading import cluster
from logits_to_loss.grading.autograde import Job

pytestmark = pytest.mark.slow
CHAPTER = grading_cli.CHAPTER
CLASS = ("good", "blank", "mistake", "exit")
LOCAL_CLASS = ("good", "mistake")  # the local path differs from SQLite only in the gradebook it writes
LIMITS = ("--cell-timeout", "3", "--timeout", "90")


def _initdb() -> Path | None:
    """Debian's newest PostgreSQL server binaries (package ``postgresql``), or any initdb on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1] if found else (Path(shutil.which("initdb")) if shutil.which("initdb") else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A PostgreSQL cluster in a temp folder, as the ``postgres`` user when run as root (initdb refuses root)."""

    def __init__(self, initdb: Path):
        self.bin, self.port = initdb.parent, _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="l2l-pg-"))
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.folder, self.user, self.user)
        self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-w", "start", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off")

    def _run(self, program: str, *args: str) -> None:
        proc = subprocess.run([str(self.bin / program), *args], capture_output=True, text=True,
                              user=self.user, group=self.user, extra_groups=[] if self.user else None)
        if proc.returncode:
            raise AssertionError(f"{program} failed:\n{proc.stdout}\n{proc.stderr}")

    def database(self, name: str) -> str:
        """A new database ``name``; its SQLAlchemy URL (the gradebook's db_url)."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder)


@pytest.fixture(scope="module")
def postgres():
    initdb = _initdb()
    if initdb is None:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but no PostgreSQL server is installed: apt-get install postgresql")
        pytest.skip("no PostgreSQL server binaries (Debian: apt-get install postgresql)")
    server = Postgres(initdb)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1; yields the scheduler's address."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    scratch = Path(tempfile.mkdtemp(prefix="l2l-dask-"))  # the workers' local directory: killed workers leave theirs
    scratch.chmod(0o711)  # the grading users go through it to their homes
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", DASK_DISTRIBUTED__WORKER__DAEMON="False")
    logs = tmp_path_factory.mktemp("dask")
    dask = [str(BIN / "dask")]
    common = ["--no-dashboard", "--host", "127.0.0.1"]
    commands = [["scheduler", "--port", address.rsplit(":", 1)[1]]]
    commands += [["worker", address, "--nworkers", "1", "--nthreads", "1", "--name", f"w{i}",
                  "--local-directory", str(scratch)] for i in (1, 2)]
    procs = [subprocess.Popen([*dask, *command, *common], env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=(logs / f"{command[0]}{i}.log").open("w")) for i, command in enumerate(commands)]
    try:
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, procs[1:]
    finally:
        for proc in procs:  # each in its own session: its nanny, worker and forkserver go with it
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(scratch)


def _postgres_course(url: str, students: tuple[str, ...]) -> Path:
    """A released course whose gradebook is ``url``, with ``students`` of the CLI test's class collected."""
    course = make_course(Path(tempfile.mkdtemp(prefix="l2l-test-")))
    with (course / "nbgrader_config.py").open("a") as config:
        config.write(f"c.CourseDirectory.db_url = {url!r}\nc.CourseDirectory.course_id = 'logits-to-loss'\n")
    grading_cli.cli(course, "release", CHAPTER.id)
    everyone = grading_cli._class(course)
    grading_cli.cli(course, "collect", CHAPTER.id, str(grading_cli._zip(course, {s: everyone[s] for s in students})))
    return course


def _scores(url: str, students: tuple[str, ...]) -> dict[str, float]:
    with Gradebook(url) as gb:
        return {s: gb.find_submission(CHAPTER.id, s).score for s in students}


def _checked(course: Path, url: str, students: tuple[str, ...]) -> None:
    """The CSV gives each student the score or reason the CLI test expects, and PostgreSQL holds the same scores."""
    everyone = grading_cli._class(course)
    rows = grading_cli._csv(course)
    assert not grading_cli.problems(rows, {s: everyone[s] for s in students}), grading_cli.problems(rows, everyone)
    assert _scores(url, students) == {s: float(row["score"]) for s, row in rows.items()}


def test_local_workers_share_a_postgres_gradebook(postgres):
    """``--workers 2`` with a PostgreSQL db_url gives every student the expected row, and PostgreSQL holds the scores."""
    url = postgres.database("local_workers")
    course = _postgres_course(url, LOCAL_CLASS)
    try:
        grading_cli.cli(course, "autograde", CHAPTER.id, "--workers", "2", *LIMITS, check=False)
        _checked(course, url, LOCAL_CLASS)
    finally:
        shutil.rmtree(course.parent)


def _kill_a_busy_worker(nannies: list[subprocess.Popen]) -> None:
    """SIGKILL the first Dask worker process seen running a student's kernel (its nanny starts a new one)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for worker in (w for n in nannies for w in psutil.Process(n.pid).children()):
            try:
                busy = any("ipykernel" in " ".join(p.cmdline()) for p in worker.children(recursive=True))
            except psutil.Error:  # a process that ended (or a zombie) while we looked
                continue
            if busy:
                worker.send_signal(signal.SIGKILL)
                return
        time.sleep(0.2)
    raise AssertionError("no kernel started on a Dask worker within 60 s")


def test_dask_workers_grade_like_local_workers(postgres, dask_cluster):
    """``--scheduler``: both Dask workers take submissions, one of them killed mid-task; every student gets the
    expected row, as with local workers, and the scores are in PostgreSQL."""
    url = postgres.database("dask_workers")
    course = _postgres_course(url, CLASS)
    address, nannies = dask_cluster
    try:
        parent = subprocess.Popen([str(BIN / "logits-to-loss"), "--course", str(course), "autograde", CHAPTER.id,
                                   "--scheduler", address, *LIMITS], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}"))
        _kill_a_busy_worker(nannies)
        out, err = parent.communicate(timeout=180)
        _checked(course, url, CLASS)
        assert set(re.findall(r"(w\d) \(\d+\)", re.search(r"graded by (.*)", out).group(1))) == {"w1", "w2"}, out + err
        assert (course / "autograded" / "good" / CHAPTER.id / CHAPTER.notebook).is_file()
    finally:
        shutil.rmtree(course.parent)


def test_scheduler_refuses_an_sqlite_gradebook(tmp_path):
    """``--scheduler`` with the default SQLite gradebook stops at once and names the fix."""
    course = make_course(tmp_path)
    run = grading_cli.cli(course, "autograde", CHAPTER.id, "--scheduler", "tcp://127.0.0.1:1", check=False)
    assert run.returncode == 2 and "postgresql+psycopg://" in run.stderr and "Traceback" not in run.stderr


def test_a_postgres_gradebook_needs_a_course_id(tmp_path):
    """nbgrader files assignments under the course id, which PostgreSQL checks: a missing one is named at once."""
    course = make_course(tmp_path)
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("c.CourseDirectory.db_url = 'postgresql+psycopg://grader@127.0.0.1:1/gradebook'\n")
    run = grading_cli.cli(course, "release", CHAPTER.id, check=False)
    assert run.returncode == 2 and "c.CourseDirectory.course_id" in run.stderr and "Traceback" not in run.stderr


def test_a_task_that_keeps_killing_workers_is_an_error_row():
    """Dask's KilledWorker (the task killed allowed-failures + 1 workers) becomes one error line, not a lost student."""
    job = Job("ada", Path("."), "0" * 64)
    result = cluster._lost(job, KilledWorker("grade-x", "tcp://127.0.0.1:1", 3)).result
    assert (result.student, result.status, result.score) == ("ada", "error", 0.0)
    assert "died each of the 4 times" in result.reason and "\n" not in result.reason
