"""A learner's JupyterLab and its kernels start without a single warning.

JupyterLab is started as a learner's `course.py lab` starts it (``browser_helpers.lab_server``); a
kernel is started through its REST API and asked for its info over the kernel websocket, as a
notebook page does. The server's log, which also holds the kernel's own log, must then have no line
that warns: no "Kernel is running over TCP without encryption", no websocket ping complaint.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
from browser_helpers import lab_server, warnings_in
from tornado.websocket import websocket_connect

pytestmark = pytest.mark.slow


def _start_kernel(base: str, token: str) -> str:
    request = urllib.request.Request(f"{base}/api/kernels?token={token}", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)["id"]


async def _kernel_info(base: str, token: str, kernel_id: str) -> dict:
    """The kernel's reply to kernel_info_request, sent over the websocket a notebook page uses."""
    socket = await websocket_connect(f"ws{base.removeprefix('http')}/api/kernels/{kernel_id}/channels?session_id=test&token={token}")
    header = {"msg_id": "info-1", "msg_type": "kernel_info_request", "username": "test", "session": "test",
              "version": "5.3", "date": ""}
    await socket.write_message(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": {},
                                           "channel": "shell"}))
    while True:
        message = json.loads(await socket.read_message())
        if message["msg_type"] == "kernel_info_reply":
            socket.close()
            return message


def test_learner_lab_and_kernel_start_without_warnings(tmp_path):
    """Start the learner's lab and a kernel, talk to the kernel: the log has no warning."""
    with lab_server(tmp_path) as (base, token, log):
        kernel_id = _start_kernel(base, token)
        reply = asyncio.run(asyncio.wait_for(_kernel_info(base, token, kernel_id), timeout=120))
        assert reply["content"]["status"] == "ok"
        assert "Kernel started" in log.read_text()
        assert warnings_in(log) == []
