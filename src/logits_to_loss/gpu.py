"""Softmax and cross-entropy kernels in Triton, with the PyTorch helpers that measure them.

The only module of the library that imports torch or triton. Softmax and cross-entropy do a
few flops per element, so their speed is set by the bytes they move: every kernel's docstring
says how many reads and writes of the (N, V) logits it makes, and :func:`copy_bandwidth`
gives the roofline (one read and one write per element) on the same device.

Without a CUDA GPU the kernels run on the CPU under Triton's interpreter: ``TRITON_INTERPRET=1``
is set (unless already set) before triton is imported, and :data:`DEVICE` is ``"cpu"``. triton
is optional: without it the torch-only parts (:func:`chunked_cross_entropy`, the timing helpers)
still work and the Triton functions raise ImportError.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # must precede the triton import

try:
    import triton
    import triton.language as tl
except ImportError:  # triton is optional; see _require_triton
    triton = tl = None

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
INTERPRETER = os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")
FLOATS = (torch.float32, torch.bfloat16, torch.float16)
REDUCTIONS = ("mean", "sum", "none")
MAX_FUSED_V = 65536  # the fused softmax keeps a whole row in registers; longer rows spill
SPLIT_CHUNK = 16384  # classes per program in triton_split_softmax (64 KiB of fp32 registers)
SPIN_LIMIT = 1 << 20  # polls of the barrier before a program computes the row's stats alone


def _jit(fn: Callable) -> Callable:
    """``triton.jit`` when triton is installed; otherwise the plain function (never launched)."""
    return triton.jit(fn) if triton is not None else fn


def _require_triton() -> None:
    if triton is None:
        raise ImportError(
            "triton is not installed, and the Triton kernels need it: pip install triton "
            "(chunked_cross_entropy and the timing helpers work without it)"
        )


def describe_backend() -> str:
    """One line saying where the kernels run: the GPU's name, or the CPU under the Triton interpreter."""
    versions = f"torch {torch.__version__}, triton {triton.__version__ if triton else 'not installed'}"
    if triton is None:
        where = "CPU, torch only (pip install triton for the kernels)" if DEVICE == "cpu" else "GPU, torch only"
    elif DEVICE == "cuda":
        where = torch.cuda.get_device_name(0) + (", Triton interpreter" if INTERPRETER else "")
    else:
        where = "CPU, Triton interpreter"
    return f"{where} ({versions})"


# ---------------------------------------------------------------- measuring


def _sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def time_ms(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeat`` runs after ``warmup`` runs.

    The device is synchronised around each run, so GPU work launched by ``fn`` is counted.
    """
    if repeat < 1 or warmup < 0:
        raise ValueError(f"repeat must be >= 1 and warmup >= 0, got repeat={repeat}, warmup={warmup}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        _sync()
        start = time.perf_counter()
        fn()
        _sync()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def copy_bandwidth(nbytes: int, repeat: int = 5) -> float:
    """Device-to-device copy rate in bytes per second, counting the bytes read plus the bytes written.

    A copy of ``nbytes`` moves ``2 * nbytes``; a kernel that reads its input once and writes its
    output once can at best match this rate, so it is the roofline for softmax and cross-entropy.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 1:
        raise ValueError(f"nbytes must be an int >= 1, got {nbytes!r}")
    src = torch.empty(nbytes, dtype=torch.uint8, device=DEVICE)
    dst = torch.empty_like(src)
    return 2 * nbytes / (time_ms(lambda: dst.copy_(src), repeat) / 1000)


def peak_memory(fn: Callable[[], object]) -> int | None:
    """Peak bytes allocated by ``fn()`` on the GPU beyond what was allocated before it ran.

    Returns None on the CPU without calling ``fn``: torch keeps no peak statistics for host memory.
    """
    if DEVICE != "cuda":
        return None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


# ---------------------------------------------------------------- input checks


def _check_float_tensor(x: object, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}; use torch.as_tensor({name})")
    if x.dtype not in FLOATS:
        raise TypeError(f"{name} must be float32, bfloat16 or float16, got {x.dtype}; convert with {name}.float()")
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"{name} needs a non-empty class axis (shape (..., V)), got shape {tuple(x.shape)}")
    if not INTERPRETER and x.device.type != "cuda":
        raise ValueError(f"{name} is on {x.device}, but the Triton kernels run on the GPU: use {name}.to('cuda')")
    return x


def _as_rows(x: object, name: str) -> torch.Tensor:
    """``x`` as a contiguous (N, V) view (a copy only if it is not contiguous)."""
    x = _check_float_tensor(x, name)
    return x.reshape(-1, x.shape[-1]).contiguous()


def _check_power_of_two(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 16 or value & (value - 1):
        raise ValueError(f"{name} must be a power of two >= 16 (a Triton block), got {value!r}; e.g. {name}=4096")
    return value


def _check_targets(targets: object, rows: int, num_classes: int, ignore_index: int, device: torch.device) -> None:
    if not isinstance(targets, torch.Tensor) or targets.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"targets must be an int64 or int32 torch.Tensor of class indices, got {targets!r:.80}")
    if targets.shape != (rows,):
        raise ValueError(f"targets must have shape ({rows},), one class index per row, got {tuple(targets.shape)}")
    if targets.device != device:
        raise ValueError(f"targets is on {targets.device} but the logits are on {device}")
    bad = (targets != ignore_index) & ((targets < 0) | (targets >= num_classes))
    if bool(bad.any()):
        raise ValueError(
            f"targets must be class indices in [0, {num_classes}) or ignore_index={ignore_index}, "
            f"got {int(targets[bad][0])}"
        )


def _num_warps(values_per_program: int) -> int:
    """Warps per program: about 32 register values per thread, between 4 and 32 warps."""
    return min(32, max(4, values_per_program // 1024))


# ---------------------------------------------------------------- Triton building blocks


@_jit
def _merge(m, s):
    """Combine pairs (m_k, s_k), each meaning sum exp(x - m_k) = s_k, into the row's (M, S).

    M = max_k m_k and S = sum_k s_k exp(m_k - M). While M is -inf the shift is 0, so that an
    all -inf block gives (-inf, 0) instead of exp(-inf - (-inf)) = NaN.
    """
    big = tl.max(m, axis=0)
    shift = tl.where(big == -float("inf"), 0.0, big)
    return big, tl.sum(s * tl.exp(m - shift), axis=0)


@_jit
def _block_stats(x):
    """(max, sum exp(x - max)) of a block held in registers: each element is the pair (x_j, 1)."""
    return _merge(x, tl.full(x.shape, 1.0, tl.float32))


@_jit
def _row_stats(row_ptr, V, BLOCK: tl.constexpr):
    """(m, s) of one row read once, block by block (online softmax, Milakov & Gimelshein 2018).

    Each lane keeps its own running max m_j and sum s_j; a new value x raises the max to
    m' = max(m_j, x) and the sum becomes s_j exp(m_j - m') + exp(x - m'). The lanes are merged
    at the end, so there is one reduction per row instead of one per block.
    """
    offs = tl.arange(0, BLOCK)
    m = tl.full((BLOCK,), -float("inf"), tl.float32)
    s = tl.zeros((BLOCK,), tl.float32)
    for start in range(0, V, BLOCK):
        x = tl.load(row_ptr + start + offs, mask=start + offs < V, other=-float("inf")).to(tl.float32)
        new_m = tl.maximum(m, x)
        shift = tl.where(new_m == -float("inf"), 0.0, new_m)
        s = s * tl.exp(m - shift) + tl.exp(x - shift)
        m = new_m
    return _merge(m, s)


@_jit
def _write_normalised(x_row, out_row, V, m, s, target, scale, BLOCK: tl.constexpr):
    """Write scale * (exp(x_j - m) / s - [j == target]) for the whole row, last block first.

    With target = -1 and scale = 1 this is softmax; with the row's target it is the gradient of
    cross-entropy, p - y. Going backwards rereads first the blocks most likely still in L2.
    """
    offs = tl.arange(0, BLOCK)
    inv_s = 1.0 / s
    n_blocks = tl.cdiv(V, BLOCK)
    for i in range(n_blocks):
        start = (n_blocks - 1 - i) * BLOCK
        mask = start + offs < V
        x = tl.load(x_row + start + offs, mask=mask, other=-float("inf")).to(tl.float32)
        out = scale * (tl.exp(x - m) * inv_s - tl.where(start + offs == target, 1.0, 0.0))
        tl.store(out_row + start + offs, out.to(out_row.dtype.element_ty), mask=mask)


@_jit
def _fill_zeros(row_ptr, V, BLOCK: tl.constexpr):
    """Write 0 over a row of V elements."""
    offs = tl.arange(0, BLOCK)
    for start in range(0, V, BLOCK):
        tl.store(row_ptr + start + offs, tl.zeros((BLOCK,), row_ptr.dtype.element_ty), mask=start + offs < V)


@_jit
def _load_merge(part_m_row, part_s_row, n_chunks, CHUNKS: tl.constexpr):
    """Read the n_chunks partial (m, s) pairs of a row (volatile: other programs wrote them) and merge."""
    k = tl.arange(0, CHUNKS)
    pm = tl.load(part_m_row + k, mask=k < n_chunks, other=-float("inf"), volatile=True)
    ps = tl.load(part_s_row + k, mask=k < n_chunks, other=0.0, volatile=True)
    return _merge(pm, ps)


# ---------------------------------------------------------------- Triton kernels


@_jit
def _softmax_kernel(x_ptr, y_ptr, V, BLOCK: tl.constexpr):
    """One program per row, the whole row in registers: one read and one write per element."""
    row = tl.program_id(0).to(tl.int64)
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * V + offs, mask=offs < V, other=-float("inf")).to(tl.float32)  # (BLOCK,)
    e = tl.exp(x - tl.max(x, axis=0))  # exp(x - max x): the largest term is e^0 = 1
    tl.store(y_ptr + row * V + offs, (e / tl.sum(e, axis=0)).to(y_ptr.dtype.element_ty), mask=offs < V)


@_jit
def _online_softmax_kernel(x_ptr, y_ptr, V, BLOCK: tl.constexpr):
    """One program per row, streamed in blocks: the normaliser (one read), then the output (read + write)."""
    row = tl.program_id(0).to(tl.int64)
    m, s = _row_stats(x_ptr + row * V, V, BLOCK)
    _write_normalised(x_ptr + row * V, y_ptr + row * V, V, m, s, -1, 1.0, BLOCK)


@_jit
def _chunk_stats_kernel(x_ptr, part_m_ptr, part_s_ptr, V, n_chunks, CHUNK: tl.constexpr):
    """Program (row, c): the (max, sum) of chunk c of the row, stored in the partials buffer."""
    row = tl.program_id(0).to(tl.int64)
    c = tl.program_id(1)
    offs = c * CHUNK + tl.arange(0, CHUNK)
    x = tl.load(x_ptr + row * V + offs, mask=offs < V, other=-float("inf")).to(tl.float32)
    m, s = _block_stats(x)
    tl.store(part_m_ptr + row * n_chunks + c, m)
    tl.store(part_s_ptr + row * n_chunks + c, s)


@_jit
def _combine_write_kernel(x_ptr, y_ptr, part_m_ptr, part_s_ptr, V, n_chunks, CHUNK: tl.constexpr, CHUNKS: tl.constexpr):
    """Program (row, c): merge the row's partials, reread chunk c and write its probabilities."""
    row = tl.program_id(0).to(tl.int64)
    c = tl.program_id(1)
    m, s = _load_merge(part_m_ptr + row * n_chunks, part_s_ptr + row * n_chunks, n_chunks, CHUNKS)
    offs = c * CHUNK + tl.arange(0, CHUNK)
    x = tl.load(x_ptr + row * V + offs, mask=offs < V, other=-float("inf")).to(tl.float32)
    tl.store(y_ptr + row * V + offs, (tl.exp(x - m) / s).to(y_ptr.dtype.element_ty), mask=offs < V)


@_jit
def _split_barrier_kernel(
    x_ptr, y_ptr, part_m_ptr, part_s_ptr, arrived_ptr, N, V, n_chunks,
    CHUNK: tl.constexpr, CHUNKS: tl.constexpr, SPIN_LIMIT: tl.constexpr,
):  # fmt: skip
    """Persistent programs, n_chunks per row, all resident at once; the chunk stays in registers.

    Program p holds chunk p % n_chunks of rows p // n_chunks, + G / n_chunks, ... (G programs).
    Per row: load the chunk, publish its (max, sum), count itself in arrived[row] and wait until
    all n_chunks have arrived, merge the partials and write. One read, one write per element.
    If a partner never arrives within SPIN_LIMIT polls (it was not resident), the program
    computes the row's stats by itself from memory: slower, still correct, never a deadlock.
    """
    pid = tl.program_id(0)
    c = pid % n_chunks
    offs = c * CHUNK + tl.arange(0, CHUNK)
    for row in range(pid // n_chunks, N, tl.num_programs(0) // n_chunks):
        base = row.to(tl.int64) * V
        x = tl.load(x_ptr + base + offs, mask=offs < V, other=-float("inf")).to(tl.float32)  # (CHUNK,)
        m_c, s_c = _block_stats(x)
        tl.store(part_m_ptr + row * n_chunks + c, m_c)
        tl.store(part_s_ptr + row * n_chunks + c, s_c)
        tl.debug_barrier()  # every thread's store happens before the release below
        arrived = tl.atomic_add(arrived_ptr + row, 1, sem="acq_rel") + 1
        spins = 0
        while (arrived < n_chunks) & (spins < SPIN_LIMIT):
            arrived = tl.atomic_add(arrived_ptr + row, 0, sem="acquire")
            spins += 1
        if arrived < n_chunks:
            m, s = _row_stats(x_ptr + base, V, 1024)  # a small block: few registers on the fast path
        else:
            m, s = _load_merge(part_m_ptr + row * n_chunks, part_s_ptr + row * n_chunks, n_chunks, CHUNKS)
        tl.store(y_ptr + base + offs, (tl.exp(x - m) / s).to(y_ptr.dtype.element_ty), mask=offs < V)


@_jit
def _cross_entropy_kernel(logits_ptr, targets_ptr, losses_ptr, scale_ptr, V, ignore_index, BLOCK: tl.constexpr):
    """One program per row: loss_i = logsumexp(x) - x_t, then x is overwritten with scale * (p - y).

    Two reads (normaliser, gradient) and one write per element; an ignored row gets loss 0 and a
    zero gradient (one write).
    """
    row = tl.program_id(0).to(tl.int64)
    x_row = logits_ptr + row * V
    t = tl.load(targets_ptr + row)
    if t == ignore_index:
        _fill_zeros(x_row, V, BLOCK)
        tl.store(losses_ptr + row, 0.0)
    else:
        m, s = _row_stats(x_row, V, BLOCK)
        x_t = tl.load(x_row + t).to(tl.float32)  # read before the row is overwritten
        tl.store(losses_ptr + row, (m - x_t) + tl.log(s))  # logsumexp - x_t, with m - x_t exact first
        _write_normalised(x_row, x_row, V, m, s, t, tl.load(scale_ptr), BLOCK)


# ---------------------------------------------------------------- softmax


def triton_softmax(x: torch.Tensor) -> torch.Tensor:
    """Fused softmax ``p = exp(x - max x) / sum exp(x - max x)`` along the last axis, one row per program.

    The whole row sits in registers (a block of the next power of two >= V), so each element is
    read once and written once: 2 x itemsize bytes per element, the copy's roofline. Computes in
    float32, returns ``x``'s dtype (float32, bfloat16 or float16); an all -inf row gives NaN, as
    ``torch.softmax`` does. V may be at most ``MAX_FUSED_V``; longer rows need
    :func:`triton_online_softmax` or :func:`triton_split_softmax`.
    """
    _require_triton()
    rows = _as_rows(x, "x")  # (N, V)
    n, v = rows.shape
    block = triton.next_power_of_2(v)
    if block > MAX_FUSED_V:
        raise ValueError(
            f"x has V={v} classes, more than the fused kernel holds in registers ({MAX_FUSED_V}); "
            "use triton_online_softmax or triton_split_softmax"
        )
    y = torch.empty_like(rows)
    if n:
        _softmax_kernel[(n,)](rows, y, v, BLOCK=block, num_warps=_num_warps(block))
    return y.view(x.shape)


def triton_online_softmax(x: torch.Tensor, block_size: int = 4096) -> torch.Tensor:
    """Softmax along the last axis for rows of any length: one program per row, in blocks of ``block_size``.

    Pass 1 reads the row once and keeps a running max and a sum rescaled by ``exp(m - m')``
    whenever the max grows (Milakov & Gimelshein 2018); pass 2 rereads it and writes
    ``exp(x - m) / s``. Two reads and one write: 3 x itemsize bytes per element, so at best
    two thirds of the copy rate. ``block_size`` is a power of two >= 16 and need not divide V.
    """
    _require_triton()
    block = _check_power_of_two(block_size, "block_size")
    rows = _as_rows(x, "x")  # (N, V)
    y = torch.empty_like(rows)
    if rows.shape[0]:
        _online_softmax_kernel[(rows.shape[0],)](rows, y, rows.shape[1], BLOCK=block, num_warps=_num_warps(2 * block))
    return y.view(x.shape)


def split_softmax_plan(num_classes: int, chunk_size: int = SPLIT_CHUNK, mode: str = "auto") -> tuple[str, int]:
    """Which variant :func:`triton_split_softmax` runs, and with how many programs per launch.

    Returns ``("barrier", G)``: G persistent programs, one per multiprocessor, a multiple of the
    ``ceil(V / chunk_size)`` chunks of a row, so that the programs sharing a row are resident
    together and the barrier is released; or ``("two_launch", 0)``: one program per (row, chunk),
    grid sized by the rows. ``mode="auto"`` picks the barrier on a GPU when a row's chunks fit on
    the multiprocessors, else two launches. The interpreter runs programs one after another,
    so a barrier there would wait forever: ``mode="barrier"`` raises instead.
    """
    if mode not in ("auto", "barrier", "two_launch"):
        raise ValueError(f"mode must be 'auto', 'barrier' or 'two_launch', got {mode!r}")
    n_chunks = -(-num_classes // _check_power_of_two(chunk_size, "chunk_size"))
    if mode == "two_launch":
        return "two_launch", 0
    on_gpu = DEVICE == "cuda" and not INTERPRETER
    sms = torch.cuda.get_device_properties(0).multi_processor_count if on_gpu else 0
    fits = on_gpu and n_chunks <= sms
    if mode == "barrier" and not fits:
        why = "the interpreter runs programs one at a time" if not on_gpu else f"{n_chunks} chunks > {sms} SMs"
        raise ValueError(f"mode='barrier' cannot run here ({why}); the barrier would never be released")
    return ("barrier", sms // n_chunks * n_chunks) if fits else ("two_launch", 0)


def triton_split_softmax(x: torch.Tensor, chunk_size: int = SPLIT_CHUNK, mode: str = "auto") -> torch.Tensor:
    """Softmax along the last axis with each row split across ``ceil(V / chunk_size)`` programs.

    Each program reduces its chunk to a partial (max, sum), the partials of a row are merged as
    ``M = max m_k``, ``S = sum s_k exp(m_k - M)``, and each program writes ``exp(x - M) / S`` for
    its chunk. On a GPU (``"barrier"``) the chunk stays in registers while the programs of a row
    wait for each other's partials: one read, one write (2 x itemsize bytes per element). The
    ``"two_launch"`` variant (interpreter, or too many chunks) stores the partials in one launch
    and merges and writes in a second: two reads, one write. See :func:`split_softmax_plan`.
    """
    _require_triton()
    rows = _as_rows(x, "x")  # (N, V)
    (n, v), y = rows.shape, torch.empty_like(rows)
    variant, programs = split_softmax_plan(v, chunk_size, mode)
    n_chunks = -(-v // chunk_size)
    part_m = torch.empty(n, n_chunks, dtype=torch.float32, device=rows.device)  # (N, C) partial maxima
    part_s = torch.empty_like(part_m)  # (N, C) partial sums, each relative to its own max
    meta = {"CHUNK": chunk_size, "num_warps": _num_warps(chunk_size)}
    chunks_p2 = max(2, triton.next_power_of_2(n_chunks))
    if n and variant == "barrier":
        arrived = torch.zeros(n, dtype=torch.int32, device=rows.device)  # (N,) programs done with phase 1
        grid = (min(programs, n * n_chunks),)
        _split_barrier_kernel[grid](
            rows, y, part_m, part_s, arrived, n, v, n_chunks, CHUNKS=chunks_p2, SPIN_LIMIT=SPIN_LIMIT, **meta
        )
    elif n:
        _chunk_stats_kernel[(n, n_chunks)](rows, part_m, part_s, v, n_chunks, **meta)
        _combine_write_kernel[(n, n_chunks)](rows, y, part_m, part_s, v, n_chunks, CHUNKS=chunks_p2, **meta)
    return y.view(x.shape)


# ---------------------------------------------------------------- cross-entropy


def _launch_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, ignore_index: int, scale: torch.Tensor
) -> torch.Tensor:
    """Per-row losses (N,) in float32; ``logits`` is overwritten with ``scale * (softmax - one_hot)``."""
    n, v = logits.shape
    block = min(triton.next_power_of_2(v), 4096)
    losses = torch.empty(n, dtype=torch.float32, device=logits.device)
    if n:
        _cross_entropy_kernel[(n,)](
            logits, targets, losses, scale, v, ignore_index, BLOCK=block, num_warps=_num_warps(2 * block)
        )
    return losses


def _check_logits_in_place(logits: object) -> torch.Tensor:
    logits = _check_float_tensor(logits, "logits")
    if logits.ndim != 2 or not logits.is_contiguous():
        raise ValueError(
            f"logits must be a contiguous (N, V) tensor (its gradient is written in place), got shape "
            f"{tuple(logits.shape)}{'' if logits.is_contiguous() else ', not contiguous'}; use .reshape(-1, V).contiguous()"
        )
    return logits


def triton_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100, reduction: str = "mean"
) -> torch.Tensor:
    """``F.cross_entropy(logits, targets)`` forward and backward in one kernel; the gradient replaces the logits.

    Per row ``loss_i = logsumexp(x_i) - x_i[t_i]`` and ``d loss / d x_i = w (softmax(x_i) - one_hot(t_i))``
    with ``w = 1 / (number of non-ignored targets)`` for ``"mean"`` and 1 for ``"sum"`` and
    ``"none"`` (the gradient of ``loss.sum()``). Rows whose target is ``ignore_index`` get loss 0
    and gradient 0. After the call ``logits`` holds that gradient, in its own dtype: no (N, V)
    buffer is allocated. Two reads and one write: 3 x itemsize bytes per element. Returns the
    loss in float32: a scalar, or (N,) for ``"none"``; ``"mean"`` with every target ignored is NaN.
    """
    _require_triton()
    logits = _check_logits_in_place(logits)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    _check_targets(targets, logits.shape[0], logits.shape[1], ignore_index, logits.device)
    n_valid = (targets != ignore_index).sum().to(torch.float32)
    scale = 1.0 / n_valid if reduction == "mean" else torch.ones((), device=logits.device)
    losses = _launch_cross_entropy(logits, targets, ignore_index, scale.reshape(1))  # (N,)
    if reduction == "none":
        return losses
    return losses.sum() / n_valid if reduction == "mean" else losses.sum()


# ---------------------------------------------------------------- linear layer + cross-entropy


def _torch_chunk_loss(
    logits: torch.Tensor, targets: torch.Tensor, ignore_index: int, scale: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of the chunk's losses and ``scale * (softmax - one_hot)`` (zero on ignored rows), in float32.

    The gradient is built in place of a float32 copy of the logits (no copy if already float32).
    """
    work = logits.float()  # (c, V)
    valid = targets != ignore_index  # (c,)
    safe = torch.where(valid, targets, 0)[:, None]  # (c, 1) an index even where ignored
    work.sub_(work.amax(dim=-1, keepdim=True))  # x - max x: exact differences, the largest is 0
    lse = torch.logsumexp(work, dim=-1, keepdim=True)  # (c, 1) log sum exp(x - max x)
    loss_sum = torch.where(valid, (lse - work.gather(1, safe)).squeeze(1), 0.0).sum()
    work.sub_(lse).exp_()  # softmax p = exp(x - max - log sum exp(x - max))
    work.scatter_add_(1, safe, torch.full_like(lse, -1.0))  # p - y
    work.mul_(scale).masked_fill_(~valid[:, None], 0.0)
    return loss_sum, work


def _triton_chunk_loss(
    logits: torch.Tensor, targets: torch.Tensor, ignore_index: int, scale: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """As :func:`_torch_chunk_loss` with the Triton kernel; the gradient overwrites ``logits``."""
    return _launch_cross_entropy(logits, targets, ignore_index, scale.reshape(1)).sum(), logits


class _LinearCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy of ``hidden @ weight.T``, one chunk of rows at a time; gradients made in forward."""

    @staticmethod
    def forward(ctx, hidden, weight, targets, chunk_size, ignore_index, chunk_loss):
        scale = 1.0 / (targets != ignore_index).sum().to(torch.float32)  # d mean / d loss_i
        grad_hidden = torch.empty_like(hidden)  # (N, D)
        grad_weight = torch.zeros_like(weight)  # (V, D)
        loss_sum = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, hidden.shape[0], chunk_size):
            h = hidden[start : start + chunk_size]  # (c, D)
            part, grad_logits = chunk_loss(h @ weight.T, targets[start : start + chunk_size], ignore_index, scale)
            g = grad_logits.to(hidden.dtype)  # (c, V) d loss / d logits of this chunk
            torch.mm(g, weight, out=grad_hidden[start : start + chunk_size])  # (c, D) = (c, V) @ (V, D)
            grad_weight.addmm_(g.T, h)  # (V, D) += (V, c) @ (c, D)
            loss_sum += part
        ctx.save_for_backward(grad_hidden, grad_weight)
        return loss_sum * scale

    @staticmethod
    def backward(ctx, grad_loss):
        grad_hidden, grad_weight = ctx.saved_tensors
        # chain rule through the scalar loss; in place, so no second copy of the (V, D) gradient
        return grad_hidden.mul_(grad_loss), grad_weight.mul_(grad_loss), None, None, None, None


def _check_linear_inputs(
    hidden: object, weight: object, targets: object, chunk_size: object, ignore_index: int
) -> None:
    for name, t in (("hidden", hidden), ("weight", weight)):
        if not isinstance(t, torch.Tensor) or t.dtype not in FLOATS or t.ndim != 2:
            raise TypeError(f"{name} must be a 2-D float32/bfloat16/float16 torch.Tensor, got {t!r:.80}")
    if weight.shape[1] != hidden.shape[1] or weight.dtype != hidden.dtype or weight.device != hidden.device:
        raise ValueError(
            f"weight must be (V, D) = (V, {hidden.shape[1]}) with hidden's dtype {hidden.dtype} and device, "
            f"got {tuple(weight.shape)} {weight.dtype} on {weight.device}"
        )
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an int >= 1 (rows per chunk), got {chunk_size!r}; e.g. chunk_size=1024")
    _check_targets(targets, hidden.shape[0], weight.shape[0], ignore_index, hidden.device)


def chunked_cross_entropy(
    hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, chunk_size: int, ignore_index: int = -100
) -> torch.Tensor:
    """``F.cross_entropy(hidden @ weight.T, targets, ignore_index=...)`` without holding the (N, V) logits.

    hidden is (N, D), weight (V, D), targets (N,). Rows are processed ``chunk_size`` at a time: the
    chunk's logits ``z = h @ W.T`` (c, V), its losses ``logsumexp(z) - z_t`` and at once its gradient
    ``g = (softmax(z) - one_hot(t)) / n`` with n the number of non-ignored targets of ALL rows (a
    mean over tokens, not a mean of per-chunk means); then ``grad_hidden[chunk] = g @ W`` and
    ``grad_weight += g.T @ h``. Memory: one chunk of logits in float32 (c x V x 4 bytes) besides
    the gradients of hidden and weight, which are made during the forward pass whether or not
    ``backward()`` is called. ``backward()`` may be called once (it scales the gradients in place).
    """
    _check_linear_inputs(hidden, weight, targets, chunk_size, ignore_index)
    return _LinearCrossEntropy.apply(hidden, weight, targets, chunk_size, ignore_index, _torch_chunk_loss)


def default_chunk_size(num_classes: int, itemsize: int, budget_bytes: int = 32 << 20) -> int:
    """Rows per chunk such that a chunk of logits (rows x V x itemsize) fits in ``budget_bytes``: a power of two >= 16."""
    rows = max(16, budget_bytes // max(1, num_classes * itemsize))
    return 1 << (rows.bit_length() - 1)


def fused_linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    targets: torch.Tensor,
    chunk_size: int | None = None,
    ignore_index: int = -100,
) -> torch.Tensor:
    """:func:`chunked_cross_entropy` with the Triton kernel per chunk: the loss and the logits' gradient
    in one pass, written over the chunk's logits in their own dtype (no float32 copy).

    Memory beyond the gradients of hidden and weight: one chunk of logits, by default at most
    32 MiB (:func:`default_chunk_size`). Per chunk the logits are written once by the matmul,
    read twice and written once by the kernel, and read by the two gradient matmuls.
    """
    _require_triton()
    if chunk_size is None and isinstance(weight, torch.Tensor):
        chunk_size = default_chunk_size(weight.shape[0], weight.element_size())
    _check_float_tensor(hidden, "hidden")  # on the GPU unless interpreted
    _check_linear_inputs(hidden, weight, targets, chunk_size, ignore_index)
    return _LinearCrossEntropy.apply(hidden, weight, targets, chunk_size, ignore_index, _triton_chunk_loss)


def torch_linear_cross_entropy(
    hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100
) -> torch.Tensor:
    """The plain composition ``F.cross_entropy((hidden @ weight.T).float(), targets)``: holds all (N, V) logits."""
    return F.cross_entropy((hidden @ weight.T).float(), targets, ignore_index=ignore_index)
