"""The untrusted side of a trusted verdict: a fresh process that defines the learner's code and calls it.

``python -m logits_to_loss.grading.runner`` reads its orders from the grader over a pipe: the
submitted solution cells, the function to serve and the modules it may not use. It executes the
cells (never the rest of the notebook), then answers calls of that function one at a time. The
checker, the references and the expected answers stay in the grader's process; this process
only ever sees a case's inputs, so nothing the learner's code does here can reach a verdict.

While the learner's code runs, an audit hook refuses to import or open the banned libraries
(the from-scratch rule, enforced by what the code can reach instead of by reading its bytecode).
Replies are plain data (:func:`encode`), never pickles, so the grader reads them without trusting
them. The file runs as a script and imports nothing of this package, so the reference library is
not even in the process's memory for the learner's code to find.
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import json
import os
import pickle
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO

MAX_FRAME = 256 << 20  # a reply larger than this is refused, not read
PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty")


# -- the wire: length-prefixed frames; replies are JSON with arrays as base64 ---------------------------


def write_frame(out: BinaryIO, data: bytes) -> None:
    out.write(struct.pack("<Q", len(data)) + data)
    out.flush()


def _read_exactly(source: BinaryIO, n: int) -> bytes:
    chunks = []
    while n:
        chunk = source.read(n)
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(source: BinaryIO) -> bytes:
    (size,) = struct.unpack("<Q", _read_exactly(source, 8))
    if size > MAX_FRAME:
        raise ValueError(f"a reply of {size} bytes is over the limit of {MAX_FRAME}")
    return _read_exactly(source, size)


def _plain(value: Any) -> Any:
    """``value`` as JSON-able data: arrays (and tensors, scalars) as dtype, shape and base64 bytes."""
    import numpy as np

    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.array(value, copy=True, order="C")  # ascontiguousarray would make a scalar 1-d
        if arr.dtype.kind not in "biufc":
            return {"opaque": f"numpy array of dtype {arr.dtype}"}
        return {"array": [arr.dtype.str, list(arr.shape), base64.b64encode(arr.tobytes()).decode(),
                          isinstance(value, np.generic)]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, int) or abs(value) < 2**63 else float(value)
    if isinstance(value, (list, tuple)):
        return {"tuple" if isinstance(value, tuple) else "list": [_plain(v) for v in value]}
    if isinstance(value, dict):
        return {"dict": {str(k): _plain(v) for k, v in value.items()}}
    return {"opaque": type(value).__name__}


def encode(value: Any) -> bytes:
    return json.dumps(_plain(value), allow_nan=True).encode()


class Opaque:
    """Something the learner's code returned that is not plain data (shown by its type name)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _restore(data: Any) -> Any:
    import numpy as np

    if not isinstance(data, dict):
        if isinstance(data, (list, str, int, float, bool)) or data is None:
            return data
        raise ValueError("unexpected data")
    if "array" in data:
        dtype, shape, raw, scalar = data["array"]
        dtype = np.dtype(dtype)
        if dtype.kind not in "biufc" or dtype.hasobject:
            raise ValueError(f"refused dtype {dtype}")
        arr = np.frombuffer(base64.b64decode(raw), dtype=dtype).reshape([int(n) for n in shape]).copy()
        return arr[()] if scalar else arr
    if "tuple" in data or "list" in data:
        items = [_restore(v) for v in data.get("tuple", data.get("list"))]
        return tuple(items) if "tuple" in data else items
    if "dict" in data:
        return {str(k): _restore(v) for k, v in data["dict"].items()}
    return Opaque(str(data.get("opaque", "something unreadable")))


def decode(data: bytes) -> Any:
    """Plain data back from :func:`encode`; anything else raises ValueError (a reply is never trusted)."""
    return _restore(json.loads(data))


def _folders(banned: list[str]) -> tuple[str, ...]:
    """Where the banned libraries are installed, so that reading their source is refused too."""
    found = []
    for name in banned:
        spec = importlib.util.find_spec(name) if name not in sys.modules else sys.modules[name].__spec__
        for folder in (spec.submodule_search_locations or []) if spec else []:
            found.append(str(Path(folder).resolve()))
    return tuple(found)


def _guard(banned: list[str]) -> None:
    """Refuse imports of ``banned`` modules and reads of their files from here on (audit hooks stay for good)."""
    folders = _folders(banned)

    def hook(event: str, args: tuple) -> None:
        if event in PROCESS_EVENTS:
            raise PermissionError("starting another process is not allowed while an exercise is checked")
        if event == "import" and any(args[0] == b or str(args[0]).startswith(b + ".") for b in banned):
            raise ImportError(f"{args[0]} may not be used in this exercise: write it from scratch with NumPy")
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if path.startswith(folders):
                raise PermissionError(f"{path} belongs to a library this exercise asks you not to use")

    for name in [m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in banned)]:
        del sys.modules[name]  # already loaded: make a later import go through the hook
    sys.addaudithook(hook)


def _stub(marker: dict, send, receive):
    """A callable argument (e.g. the function whose gradient is estimated): the grader evaluates it."""
    def evaluate(*args: Any) -> Any:
        send(encode({"callback": marker["callback"], "args": list(args)}))
        return pickle.loads(receive())  # the grader's own answer

    evaluate.__name__ = evaluate.__qualname__ = marker["label"]
    return evaluate


def _define(cells: list[str]) -> dict:
    import numpy as np

    namespace: dict[str, Any] = {"np": np, "__name__": "__main__"}
    errors = []
    for number, source in enumerate(cells):
        trial = dict(namespace)
        try:
            exec(compile(source, f"<solution cell {number + 1}>", "exec"), trial)
        except BaseException as exc:  # a cell that raises defines nothing (a half-run cell is no answer)
            errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            continue
        namespace = trial
    return namespace, errors


def _named(spec: str | None) -> Any:
    """The object ``module:qualname`` names (None for None)."""
    if not spec:
        return None
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def serve(receive, send) -> None:
    """Define the learner's function, then answer ``call`` requests until the grader hangs up."""
    orders = pickle.loads(receive())
    observe = live = None
    if orders["observe"]:  # an exercise whose output is a live object (a torch loss to differentiate)
        observe, live = (_named(orders[key]) for key in ("observe", "from_plain"))
        case = importlib.import_module("logits_to_loss.checker").Case
    import numpy as np

    if orders["banned"]:
        _guard(orders["banned"])
    namespace, errors = _define(orders["cells"])
    fn = namespace.get(orders["name"])
    send(encode({"defined": callable(fn), "errors": errors}))
    while True:
        try:
            request = pickle.loads(receive())
        except EOFError:
            return
        args = [_stub(a, send, receive) if isinstance(a, dict) and "callback" in a else a for a in request["args"]]
        args = list(live(tuple(args))) if live else args
        try:
            with np.errstate(all="ignore"):
                out = fn(*args, **request["kwargs"])
            if observe is not None and out is not None and not isinstance(out, np.ndarray):
                out = observe(out, case(tuple(args), "", request["kwargs"]))
            reply = {"out": out}
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the learner's code raised them
            reply = {"raised": [type(exc).__name__, str(exc)[:2000]]}
        reply["args"] = [a if isinstance(a, np.ndarray) else None for a in args]  # to spot in-place edits
        send(encode(reply))


def main() -> None:
    """Keep the pipe to the grader on private descriptors; the learner's prints go to /dev/null."""
    del sys.path[0]  # this script's folder: its neighbours are not modules for the learner's code
    channel_in, channel_out = os.fdopen(os.dup(0), "rb", buffering=0), os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    serve(lambda: read_frame(channel_in), lambda data: write_frame(channel_out, data))


if __name__ == "__main__":
    main()
