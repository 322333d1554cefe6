"""Time the NumPy reference library against PyTorch (CPU) and SciPy, side by side, single-threaded.

Usage::

    python bench/bench_reference.py [--rows 1024] [--cols 32768] [--repeat 7] [--dtype float32]

What is timed (logits of shape (rows, cols), class-index targets, reduction="mean"):

* ``softmax``, ``log_softmax``: one call on the logits (class axis last for all three libraries).
* ``cross_entropy``: the forward loss only (``F.cross_entropy`` in torch, no autograd graph).
* ``cross_entropy_grad``: ours computes d loss / d logits from scratch (it runs the softmax
  itself), so torch is timed for forward + ``backward()`` of ``F.cross_entropy`` on a leaf
  tensor with ``requires_grad=True``. The extra row ``cross_entropy_grad (bwd)`` times torch's
  ``backward()`` alone on a graph built beforehand (its saved log-softmax is reused), for information.

Each number is the median of ``--repeat`` runs after one warm-up run. torch uses one thread
(``torch.set_num_threads(1)``) and NumPy/SciPy one thread (``OMP_NUM_THREADS=1`` and friends
are set before NumPy is imported), so both sides are single-threaded. The goal is
``ours / torch <= 2.0``; each row says PASS or over goal. The script always exits 0.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # must happen before NumPy is imported

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

try:
    import scipy
    import scipy.special
except ImportError:  # SciPy is optional: its columns then read n/a
    scipy = None

try:
    import logits_to_loss as L
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import logits_to_loss as L

GOAL = 2.0


def median_ms(fn: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeat`` runs, after one warm-up run.

    ``setup`` (untimed) runs before each call, e.g. to build the autograd graph.
    """
    if setup is not None:
        setup()
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def max_abs_diff(ours: object, reference: torch.Tensor) -> float:
    return float(np.max(np.abs(np.asarray(ours, dtype=np.float64) - reference.detach().double().numpy())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1024, help="rows (batch x positions), default 1024")
    parser.add_argument("--cols", type=int, default=32768, help="classes V, default 32768")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measurement (median), default 7")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.cols < 1 or args.repeat < 1:
        parser.error("--rows, --cols and --repeat must be >= 1")

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((args.rows, args.cols), dtype=np.float64) * 4).astype(args.dtype)
    target = rng.integers(0, args.cols, size=args.rows)
    x = torch.from_numpy(logits)  # shares memory, no copy
    t = torch.from_numpy(target)

    # torch forward + backward, and backward alone on a graph built (untimed) beforehand
    leaf = x.clone().requires_grad_(True)
    graph: dict[str, torch.Tensor] = {}

    def torch_fwd_bwd() -> torch.Tensor:
        leaf.grad = None
        F.cross_entropy(leaf, t).backward()
        return leaf.grad

    def build_graph() -> None:
        leaf.grad = None
        graph["loss"] = F.cross_entropy(leaf, t)

    def torch_bwd() -> None:
        graph["loss"].backward()

    sp = scipy.special if scipy is not None else None
    ops = [
        # name, ours, torch, scipy (or None), torch setup (or None)
        ("softmax", lambda: L.softmax(logits), lambda: torch.softmax(x, -1), sp and (lambda: sp.softmax(logits, axis=-1)), None),
        (
            "log_softmax",
            lambda: L.log_softmax(logits),
            lambda: torch.log_softmax(x, -1),
            sp and (lambda: sp.log_softmax(logits, axis=-1)),
            None,
        ),
        ("cross_entropy", lambda: L.cross_entropy(logits, target), lambda: F.cross_entropy(x, t), None, None),
        ("cross_entropy_grad", lambda: L.cross_entropy_grad(logits, target), torch_fwd_bwd, None, None),
        ("cross_entropy_grad (bwd)", lambda: L.cross_entropy_grad(logits, target), torch_bwd, None, build_graph),
    ]

    print(
        f"logits ({args.rows}, {args.cols}) {args.dtype}, class-index targets, reduction='mean'; "
        f"median of {args.repeat} after 1 warm-up"
    )
    print(
        f"numpy {np.__version__}, torch {torch.__version__} (threads={torch.get_num_threads()}), "
        f"scipy {scipy.__version__ if scipy else 'not installed'}; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}"
    )
    print("cross_entropy_grad: torch = forward + backward of F.cross_entropy; (bwd) = torch backward() only")
    header = f"{'op':<26}{'torch ms':>10}{'ours ms':>10}{'ours/torch':>12}{'scipy ms':>10}{'scipy/torch':>13}  {'max|ours-torch|':>16}  goal<={GOAL}"
    print(header)
    print("-" * len(header))
    for name, ours, reference, scipy_fn, setup in ops:
        reference_out = torch_fwd_bwd() if name.startswith("cross_entropy_grad") else reference()
        diff = max_abs_diff(ours(), reference_out)
        torch_ms = median_ms(reference, args.repeat, setup)
        ours_ms = median_ms(ours, args.repeat)
        ratio = ours_ms / torch_ms
        if scipy_fn is not None:
            scipy_ms = median_ms(scipy_fn, args.repeat)
            scipy_cols = f"{scipy_ms:>10.3f}{scipy_ms / torch_ms:>13.2f}"
        else:
            scipy_cols = f"{'n/a':>10}{'n/a':>13}"
        verdict = "PASS" if ratio <= GOAL else "over goal"
        print(f"{name:<26}{torch_ms:>10.3f}{ours_ms:>10.3f}{ratio:>12.2f}{scipy_cols}  {diff:>16.2e}  {verdict}")
    return 0


if __name__ == "__main__":
    main()
    sys.exit(0)
