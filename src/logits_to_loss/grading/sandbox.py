"""The sandbox around a student's kernel: an unprivileged user per worker slot, limits, and a sweep.

nbgrader starts the kernel through the kernelspec of :func:`write_kernelspec`, whose command is
``python -S -I .../sandbox.py SETTINGS ipykernel...`` (this file run as a script: it imports
only the standard library, so jailing costs no import of the package or NumPy): still as root, this copies the
connection file for the grading user, sets the resource limits, drops to that user and execs the
kernel. nbgrader itself (the verdict, the private gradebook) stays with the instructor's user, so
the student's code can neither write its grades nor signal the grader. After each submission,
:func:`sweep` kills whatever the grading user left running (detached daemons included).
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

USER_PREFIX = "l2l-grader"
MiB = 1 << 20
GiB = 1 << 30
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    """What one submission may use: seconds per cell and in all, kernel memory, CPU, processes, file size."""

    cell_timeout: int = 120
    wall: int = 900
    memory: int = 2 * GiB
    cpu: int = 600
    processes: int = 64
    file_size: int = 64 * MiB
    grader_memory: int = 4 * GiB  # caps nbgrader's own process, hence the output a notebook can pile up

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}")


def size_text(n: int) -> str:
    """``2 GiB``, ``512 MiB``: a byte count as the feedback line shows it."""
    return f"{n / GiB:g} GiB" if n >= GiB else f"{n / MiB:g} MiB"


def can_switch_user() -> bool:
    """Only root can run kernels as another user; otherwise grading goes on with a warning."""
    if os.geteuid() == 0:
        return True
    warnings.warn("not running as root: student kernels run as your own user (limits still apply); "
                  "run the grading command as root to isolate them", stacklevel=2)
    return False


def grading_users(count: int) -> list[tuple[int, int]]:
    """``count`` grading users no other run on this machine holds (a lock each, kept until this process ends).

    Each user is swept after every submission, so two concurrent runs sharing one would kill each
    other's kernels: the lock makes a second run take the next free users instead.
    """
    users, n = [], 0
    while len(users) < count:
        lock = os.open(Path(tempfile.gettempdir()) / f"{USER_PREFIX}-{n}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            users.append(grading_user(n))  # the descriptor stays open: the lock lives as long as the run
        except BlockingIOError:
            os.close(lock)
        n += 1
    return users


def grading_user(slot: int) -> tuple[int, int]:
    """(uid, gid) of the system user number ``slot``, created with useradd if missing."""
    name = f"{USER_PREFIX}-{slot}"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def sweep(uid: int) -> None:
    """Kill every process of ``uid`` (a child that becomes ``uid`` and signals -1 reaches exactly those)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (a killed grading run leaves nothing behind)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def warm_cache(folder: Path) -> None:
    """Build matplotlib's font list once in ``folder``: each private home gets a copy (0.4 s saved per kernel)."""
    folder.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], capture_output=True,
                   env={**os.environ, "MPLCONFIGDIR": str(folder)})  # no matplotlib: nothing to warm


def make_home(home: Path, cache: Path, user: tuple[int, int] | None) -> None:
    """The private home of one submission's kernel and runners, with the warm font cache, owned by ``user``."""
    home.mkdir(mode=0o700)
    for font_list in cache.glob("*.json"):
        shutil.copy2(font_list, home)
    if user:
        for path in [home, *home.iterdir()]:
            os.chown(path, *user)


def write_kernelspec(jupyter: Path, limits: Limits, home: Path, user: tuple[int, int] | None) -> None:
    """A ``python3`` kernelspec under ``jupyter`` (put it first on JUPYTER_PATH) that starts the kernel jailed."""
    argv = [*jail_prefix(limits, home, user), sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = jupyter / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3 (graded)",
                                                  "language": "python"}))


def _set_limits(limits: Limits, user: tuple[int, int] | None) -> None:
    caps = {resource.RLIMIT_AS: limits.memory, resource.RLIMIT_CPU: limits.cpu,
            resource.RLIMIT_FSIZE: limits.file_size, resource.RLIMIT_CORE: 0}
    if user:  # RLIMIT_NPROC counts every process of the real user: only meaningful for the grading user
        caps[resource.RLIMIT_NPROC] = limits.processes
    for which, value in caps.items():
        resource.setrlimit(which, (value, value))


def jail_prefix(limits: Limits, home: Path, user: tuple[int, int] | None) -> list[str]:
    """The command words that run what follows them jailed (the kernel, or the runner of a trusted verdict)."""
    settings = json.dumps({"limits": asdict(limits), "home": str(home), "user": user})
    return [sys.executable, "-S", "-I", str(Path(__file__).resolve()), settings]


def _jail(settings: dict, argv: list[str]) -> None:
    """Run ``argv`` (a kernel, or a verdict's runner) with the limits, as the grading user, in its private home."""
    home, user = Path(settings["home"]), settings["user"]
    if "-f" in argv:  # a kernel: its connection file must be readable by the grading user
        index = argv.index("-f") + 1
        connection = home / "connection.json"
        connection.write_text(Path(argv[index]).read_text())
        argv[index] = str(connection)
        if user:
            os.chown(connection, *user)
    _set_limits(Limits(**settings["limits"]), user)
    if user:
        os.setgroups([])
        os.setgid(user[1])
        os.setuid(user[0])
    die_with_parent()  # after setuid, which clears it
    os.environ.update(HOME=str(home), IPYTHONDIR=str(home / ".ipython"), MPLCONFIGDIR=str(home),
                      TMPDIR=str(home), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    os.execv(argv[0], argv)


if __name__ == "__main__":
    _jail(json.loads(sys.argv[1]), sys.argv[2:])
