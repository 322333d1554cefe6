"""The kernel server of the grading sandbox: kernels forked with their imports done, jailed as a direct start would be."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from jupyter_client import write_connection_file
from jupyter_client.blocking import BlockingKernelClient

from logits_to_loss.grading import autograde, sandbox

LIMITS = sandbox.Limits(memory=1536 * sandbox.MiB)
REPORT = """import json, os, resource, sys
print(json.dumps({"uid": os.getuid(), "memory": resource.getrlimit(resource.RLIMIT_AS)[0], "pid": os.getpid(),
                  "home": os.environ["HOME"], "preloaded": "logits_to_loss.chapter" in sys.modules}))"""


@pytest.fixture(scope="module")
def jail():
    """A work folder with a warm font cache, a grading user (when root) and a running kernel server."""
    work = Path(tempfile.mkdtemp(prefix="l2l-sandbox-"))  # pytest's own folder is closed to the grading user
    work.chmod(0o711)
    users = sandbox.grading_users(1) if os.geteuid() == 0 else None
    sandbox.warm_cache(work / "cache")
    server = autograde.kernel_server(work, users)
    server.wait_ready()
    yield work, users[0] if users else None, server
    server.close()
    shutil.rmtree(work)


def _start(work: Path, user, kernels: Path | None, name: str):
    """A kernel started through the jail as nbgrader starts it: its stand-in process and a client."""
    home = work / name
    sandbox.make_home(home, work / "cache", user)
    connection, _ = write_connection_file(str(work / f"{name}.json"))
    prefix = sandbox.jail_prefix(LIMITS, home, user, kernels)
    stand_in = subprocess.Popen([*prefix, sys.executable, *sandbox.KERNEL, "-f", connection], cwd=work,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = BlockingKernelClient()
    client.load_connection_file(connection)
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return stand_in, client


def _report(client: BlockingKernelClient) -> dict:
    lines = []
    client.execute_interactive(REPORT, timeout=60, output_hook=lambda m: lines.append(m["content"].get("text", "")))
    return json.loads("".join(lines))


def _gone(pid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.1)
    return False


def test_the_socket_is_root_s_alone(jail):
    """Whoever reaches the server's socket may ask for any kernel, so only its owner can."""
    work, _, server = jail
    mode = os.stat(server.path)
    assert stat.S_ISSOCK(mode.st_mode) and stat.S_IMODE(mode.st_mode) == 0o600 and mode.st_uid == os.geteuid()


def test_a_forked_kernel_is_jailed_and_dies_with_its_stand_in(jail):
    """The kernel comes from the server (imports done) with the jail's user, limits and home; killing the stand-in kills it."""
    work, user, server = jail
    stand_in, client = _start(work, user, server.path, "forked")
    report = _report(client)
    client.stop_channels()
    assert report["preloaded"] and report["memory"] == LIMITS.memory and report["home"] == str(work / "forked")
    assert report["uid"] == (user[0] if user else os.getuid())
    stand_in.send_signal(signal.SIGKILL)
    stand_in.wait()
    assert _gone(report["pid"])


def test_the_stand_in_exits_with_the_kernel_s_status(jail):
    """A kernel that ends itself ends its stand-in with the same status, as a directly started kernel would."""
    work, user, server = jail
    stand_in, client = _start(work, user, server.path, "exits")
    client.execute("import os; os._exit(3)")
    assert stand_in.wait(timeout=30) == 3
    client.stop_channels()


def test_without_a_server_the_jail_starts_the_kernel_itself(jail):
    """No server at the socket: the jail execs a fresh kernel, with the same user and limits."""
    work, user, _ = jail
    stand_in, client = _start(work, user, work / "no-server.sock", "direct")
    report = _report(client)
    client.shutdown()
    client.stop_channels()
    stand_in.wait(timeout=30)
    assert not report["preloaded"] and report["memory"] == LIMITS.memory and report["pid"] == stand_in.pid
