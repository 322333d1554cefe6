"""Server-side settings of a learner's JupyterLab (`course.py lab`) that need code rather than config.

Needs jupyter_server (the ``course`` extra); the reference library never imports this module.
"""

from __future__ import annotations

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection


class PromptChannels(ZMQChannelsWebsocketConnection):
    """The kernel websocket with Nagle's algorithm off, so that every kernel message leaves at once.

    tornado leaves Nagle on by default: a small message written right after another then waits for
    the browser's delayed ACK (~40 ms on Linux), which was most of the time between moving an
    explorer's slider and seeing its new figure.
    """

    def connect(self):
        self.websocket_handler.set_nodelay(True)
        return super().connect()
