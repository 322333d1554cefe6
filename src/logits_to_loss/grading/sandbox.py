"""The sandbox around a student's kernel: an unprivileged user per worker slot, limits, and a sweep.

nbgrader starts the kernel through the kernelspec of :func:`write_kernelspec`, whose command is
``python -S -I .../sandbox.py SETTINGS ipykernel...`` (this file run as a script: it imports
only the standard library, so jailing costs no import of the package or NumPy): still as root, this copies the
connection file for the grading user, sets the resource limits, drops to that user and execs the
kernel. nbgrader itself (the verdict, the private gradebook) stays with the instructor's user, so
the student's code can neither write its grades nor signal the grader. After each submission,
:func:`sweep` kills whatever the grading user left running (detached daemons included).

A kernel's imports (IPython, NumPy, the course package, ipywidgets) take half a second, a third
of grading a chapter. So a run starts one :class:`KernelServer`: a root process that imports them
once and, for each kernel the jail asks it for over a root-only socket, forks a child that takes
the jail's limits, user, folder, environment and standard streams and runs the kernel. The jail
stays as the kernel's stand-in for nbgrader: it exits with the kernel's status, forwards
interrupts, and its death kills the kernel. Without a server the jail execs the kernel as before.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import pwd
import resource
import select
import shutil
import signal
import socket
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


def write_kernelspec(jupyter: Path, prefix: list[str]) -> None:
    """A ``python3`` kernelspec under ``jupyter`` (put it first on JUPYTER_PATH) that starts the kernel jailed by ``prefix``."""
    argv = [*prefix, sys.executable, *KERNEL, "-f", "{connection_file}", "--HistoryManager.enabled=False"]
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


def jail_prefix(limits: Limits, home: Path, user: tuple[int, int] | None, kernels: Path | None = None) -> list[str]:
    """The command words that run what follows them jailed (the kernel, or the runner of a trusted verdict).

    ``kernels`` is the socket of a :class:`KernelServer` that forks kernels with their imports done.
    """
    settings = json.dumps({"limits": asdict(limits), "home": str(home), "user": user,
                           "kernels": str(kernels) if kernels else None})
    return [sys.executable, "-S", "-I", str(Path(__file__).resolve()), settings]


THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
KERNEL = ["-m", "ipykernel_launcher"]  # what follows the interpreter in a kernel's command


def _enter(settings: dict) -> None:
    """Take on the limits, the grading user and the private home of ``settings`` (for good: no way back to root)."""
    home, user = Path(settings["home"]), settings["user"]
    _set_limits(Limits(**settings["limits"]), user)
    if user:
        os.setgroups([])
        os.setgid(user[1])
        os.setuid(user[0])
    die_with_parent()  # after setuid, which clears it
    os.environ.update(HOME=str(home), IPYTHONDIR=str(home / ".ipython"), MPLCONFIGDIR=str(home),
                      TMPDIR=str(home), **THREADS)


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
    if settings.get("kernels") and argv[1:3] == KERNEL:
        status = _stand_in(settings, argv)
        if status is not None:
            sys.exit(status)
    _enter(settings)
    os.execv(argv[0], argv)


# -- kernels forked from a server that has their imports done -------------------------------------------


def _stand_in(settings: dict, argv: list[str]) -> int | None:
    """Have the kernel server fork ``argv``'s kernel, then stand in for it: its exit status, or None if no server."""
    channel = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        channel.connect(settings["kernels"])
    except OSError:
        return None  # no server (it ended, or a lone nbgrader run): exec the kernel as usual
    request = json.dumps({"settings": settings, "argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)})
    socket.send_fds(channel, [request.encode()], [0, 1, 2])
    for number in (signal.SIGINT, signal.SIGTERM):  # an interrupt or a polite stop goes on to the kernel
        signal.signal(number, lambda number, _: channel.send(str(number).encode()))
    reply = channel.recv(64)  # sent when the kernel ends; if this process is killed instead, the server kills it
    return int(reply) if reply else 1


class KernelServer:
    """A root process with the kernel's imports done that forks jailed kernels on request (a run's lifetime).

    The socket is root's alone (mode 0600 in a folder the grading users cannot list), as it must
    be: whoever reaches it could ask for a kernel with any settings.
    """

    def __init__(self, folder: Path, modules: list[str], env: dict[str, str], user: tuple[int, int] | None) -> None:
        self.path = folder / "kernels.sock"
        argv = [sys.executable, str(Path(__file__).resolve()), "serve", str(self.path), *modules]
        seen = _python_seen(user) if user else None
        if seen:  # the Python the grading user's kernels get (root's own may lie out of its reach)
            env = {**env, "PYTHONHOME": seen["home"], "LD_LIBRARY_PATH": seen["libdir"]}
        self.seen = seen
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        env={**os.environ, **env, **THREADS})

    def wait_ready(self) -> Path:
        """Wait until the server has done its imports and listens; its socket."""
        ready = self.process.stdout.readline()
        if not ready.startswith(b"ready "):
            self.process.wait()
            raise RuntimeError(f"the kernel server did not start (exit status {self.process.returncode})")
        if self.seen and json.loads(ready[6:])["python"] != self.seen["python"]:
            self.close()
            raise RuntimeError("the kernel server's Python differs from the grading user's")
        return self.path

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()


SEEN = """import json, sys
maps = open("/proc/self/maps").read().split()
lib = next((word for word in maps if "/libpython" in word), "")
print(json.dumps({"home": sys.base_prefix, "libdir": lib.rpartition("/")[0], "python": [sys.version, sys.path[1:]]}))"""


def _python_seen(user: tuple[int, int]) -> dict:
    """What this interpreter is when ``user`` runs it: its home, the folder of its libpython, its version and path."""
    probe = subprocess.run([sys.executable, "-c", SEEN], user=user[0], group=user[1], extra_groups=[],
                           capture_output=True, text=True, check=True, cwd="/")
    return json.loads(probe.stdout)


def _listen(path: str) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    listener.listen(16)
    return listener


def _serve(path: str, modules: list[str]) -> tuple[dict, list[int]]:
    """Import ``modules``, then fork a kernel per request; returns only in a forked child, with its request."""
    import importlib

    die_with_parent()
    for name in modules:
        importlib.import_module(name)
    listener, kernels = _listen(path), {}  # kernels: the stand-in's channel -> the kernel's pid
    ended, wake = os.pipe()  # a kernel's end wakes the loop at once
    os.set_blocking(wake, False)
    signal.set_wakeup_fd(wake)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    print("ready", json.dumps({"python": [sys.version, sys.path]}), flush=True)
    while True:
        ready, _, _ = select.select([listener, ended, *kernels], [], [])
        for channel in ready:
            if channel == ended:
                os.read(ended, 4096)
            elif channel is listener:
                channel, _ = listener.accept()
                data, fds, _, _ = socket.recv_fds(channel, 1 << 20, 3)
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    for other in (listener, channel, *kernels):
                        other.close()
                    for fd in (ended, wake):
                        os.close(fd)
                    return json.loads(data), fds
                for fd in fds:
                    os.close(fd)
                kernels[channel] = pid
            else:
                _relay(kernels, channel)
        _reap(kernels)


def _relay(kernels: dict, channel: socket.socket) -> None:
    """A stand-in's message: a signal to pass on to its kernel, or its end, which ends the kernel too."""
    message = channel.recv(64)
    try:
        os.kill(kernels[channel], int(message) if message else signal.SIGKILL)
    except (OSError, ValueError):
        pass
    if not message:
        del kernels[channel]
        channel.close()


def _reap(kernels: dict) -> None:
    """Tell each ended kernel's stand-in its exit status."""
    by_pid = {pid: channel for channel, pid in kernels.items()}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in by_pid:
            channel = by_pid[pid]
            try:
                channel.send(str(os.waitstatus_to_exitcode(status) % 256).encode())
            except OSError:
                pass
            del kernels[channel]
            channel.close()


def _kernel(request: dict, fds: list[int]) -> None:
    """In the forked child: the stand-in's streams, folder and environment, the jail, then the kernel."""
    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    _enter(request["settings"])
    sys.argv = ["ipykernel_launcher", *request["argv"][3:]]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
    os._exit(0)  # shut down on request: skip tearing down the server's imports, nothing is left to save


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        del sys.path[0]  # this file's folder: its neighbours are not top-level modules
        _kernel(*_serve(sys.argv[2], sys.argv[3:]))
    else:
        _jail(json.loads(sys.argv[1]), sys.argv[2:])
