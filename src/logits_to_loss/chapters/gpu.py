"""Softmax and cross-entropy on a GPU: kernels against PyTorch.

``online_softmax`` is graded like every NumPy exercise. ``chunked_cross_entropy`` is written in
torch, so its cases hold torch tensors (imported only when the cases are drawn: loading the
chapter does not import torch). Each call is graded on one vector: the loss, the gradients of
hidden and weight that its ``backward()`` gives, and the rows of logits the call kept beyond one
chunk. That last number comes from :func:`_watched`: hidden and weight are tensors that note
every ``(..., V)`` tensor computed from them, and every one autograd saves for the backward pass,
so a call that builds the whole ``(N, V)`` logits, or keeps every chunk's logits until
``backward()``, is caught even though its numbers are right.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from functools import cache

import numpy as np

from ..chapter import Chapter
from ..checker import Case, Exercise, Mistake, Part
from ..explorers.gpu import BytesExplorer
from ..mistakes import EXTRA_BATCH_AXIS
from ..normalisation import logsumexp, softmax
from ..quiz import Question, Quiz
from ..streaming import online_softmax

# -- online_softmax ---------------------------------------------------------------------------------

HUGE = np.array([1000.0, 0.0, -5.0, 3.0, 1.0, 2.0])  # the max falls by 997 after the first block
RISING = np.arange(8.0)  # the max grows in every block


def _rising_row(rng, size):
    """A random row whose max sits in its last entry, so it grows after the first block."""
    row = rng.normal(0, 3, size=size)
    row[-1] = row.max() + rng.uniform(1, 3)
    return row


def _one_row(rng):
    size = int(rng.integers(6, 40))
    return [
        Case((RISING, 3), "a rising row in blocks of 3"),
        Case((RISING + 1000, 3), "the same row plus 1000"),
        Case((HUGE, 2), "a huge first block, then the max falls"),
        Case((_rising_row(rng, size), int(rng.integers(1, size))), "random row"),
        Case((_rising_row(rng, 9).astype(np.float32), int(rng.integers(2, 5))), "random float32 row"),
    ]


def _batch(rng):
    rows, size = int(rng.integers(2, 6)), int(rng.integers(6, 30))
    batch = np.stack([_rising_row(rng, size) + rng.uniform(-20, 20) for _ in range(rows)])
    return [
        Case((np.stack([RISING[:6], HUGE, RISING[:6] + 1000]), 2), "rows with very different maxima"),
        Case((batch, int(rng.integers(1, size))), "random batch"),
        Case((batch.astype(np.float32), 4), "random float32 batch"),
        Case((np.stack([HUGE, RISING[:6]]).reshape(2, 1, 6), 4), "a (B, T, V) batch"),
    ]


def _masked(rng):
    size = int(rng.integers(8, 30))
    block = int(rng.integers(2, size // 2))
    first = _rising_row(rng, size)
    first[:block] = -np.inf  # the whole first block is masked
    second = np.concatenate([[1000.0], rng.normal(0, 3, size=size - 1)])
    second[1::3] = -np.inf
    return [
        Case((np.array([[-np.inf, -np.inf, 1000.0, 999.0, 998.0, 1001.0], [0.0, 1.0, -np.inf, 3.0, 2.0, 5.0]]), 2),
             "a masked first block"),
        Case((np.stack([first, second]), block), "random masked rows"),
    ]


def _no_guard(update):
    """The code of an online softmax whose update of (m, s) per block is ``update``."""
    return f"""
    m = np.full(logits.shape[:-1] + (1,), -np.inf)  # running max
    s = np.zeros(logits.shape[:-1] + (1,))  # running sum of exp(x - m)
    for start in range(0, logits.shape[-1], block_size):
        block = logits[..., start:start + block_size]
{update}
    return np.exp(logits - m) / s
    """


def _update(new_max, rescale, shift="np.where(np.isneginf(new_m), 0.0, new_m)", total="axis=-1, keepdims=True"):
    return (f"        new_m = {new_max}\n"
            f"        shift = {shift}\n"
            f"        s = s{rescale} + np.exp(block - shift).sum({total})\n"
            "        m = new_m")


RUNNING_MAX = "np.maximum(m, block.max(axis=-1, keepdims=True))"
RESCALE = " * np.exp(m - shift)"
BATCHES = ("batched", "masked")

ONLINE = Exercise(
    "online_softmax(logits, block_size)",
    online_softmax,
    {
        "1-D": Part("online_softmax of one row, read in blocks, matches softmax.", _one_row, points=2),
        "batched": Part("online_softmax keeps a running max and sum for every row of a batch.", _batch, points=2),
        "masked": Part("online_softmax gives 0 to -inf logits, even when a whole first block is -inf.", _masked),
    },
    [
        Mistake("forgot to rescale the running sum", _no_guard(_update(RUNNING_MAX, "")),
                "When a block raises the max from m to m', the old sum is still relative to m: multiply it by "
                "exp(m - m') before adding the new block (§8.2)."),
        Mistake("rescaled by exp(m' - m) instead of exp(m - m')", """
            m = logits[..., :block_size].max(axis=-1, keepdims=True)  # the first block starts (m, s)
            s = np.exp(logits[..., :block_size] - m).sum(axis=-1, keepdims=True)
            for start in range(block_size, logits.shape[-1], block_size):
                block = logits[..., start:start + block_size]
                new_m = np.maximum(m, block.max(axis=-1, keepdims=True))
                s = s * np.exp(new_m - m) + np.exp(block - new_m).sum(axis=-1, keepdims=True)
                m = new_m
            return np.exp(logits - m) / s
            """,
                "exp(x - m) · exp(m - m') = exp(x - m'): the factor is exp(old - new), at most 1, never "
                "exp(new - old) (§8.2)."),
        Mistake("used the block's max, not the running max",
                _no_guard(_update("block.max(axis=-1, keepdims=True)", RESCALE)),
                "After a block far below the max so far, exp(m - m') overflows: keep m' = max(m, max of the "
                "block), which never falls (§8.2)."),
        Mistake("normalised each block on its own", """
            out = np.empty(logits.shape)
            for start in range(0, logits.shape[-1], block_size):
                block = logits[..., start:start + block_size]
                e = np.exp(block - block.max(axis=-1, keepdims=True))
                out[..., start:start + block_size] = e / e.sum(axis=-1, keepdims=True)
            return out
            """,
                "Each block then sums to 1 and the row to the number of blocks: divide every block by the sum "
                "of the whole row, which is known only after the last block (§8.2)."),
        Mistake("summed exp(x) without a running max", """
            s = np.zeros(logits.shape[:-1] + (1,))
            for start in range(0, logits.shape[-1], block_size):
                s = s + np.exp(logits[..., start:start + block_size]).sum(axis=-1, keepdims=True)
            return np.exp(logits) / s
            """,
                "exp(1000) overflows to inf and inf / inf is NaN: keep a running max and sum exp(x - m) "
                "(§8.2)."),
        Mistake("exp(-inf - (-inf)) = NaN for a masked first block",
                _no_guard(_update(RUNNING_MAX, RESCALE, shift="new_m")),
                "While every logit seen so far is -inf, m is -inf and x - m is NaN: shift by 0 until the "
                "first finite logit arrives (§8.2).", ("masked",)),
        Mistake("one running max for the whole batch",
                _no_guard(_update("np.maximum(m, block.max())", RESCALE)),
                "Rows far below the batch's max underflow to 0 / 0: keep one max per row with "
                "`axis=-1, keepdims=True` (§8.2).", BATCHES),
        Mistake("one running sum for the whole batch", _no_guard(_update(RUNNING_MAX, RESCALE, total="")),
                "The whole batch then sums to 1: sum each row's block with `axis=-1, keepdims=True` (§8.2).",
                BATCHES),
    ],
    shared=[EXTRA_BATCH_AXIS.on("1-D")],
    in_place_hint="read the blocks without writing into `logits`",
)

# -- chunked_cross_entropy --------------------------------------------------------------------------

IGNORE = -100  # F.cross_entropy's default ignore_index: padding tokens
POOL = 48  # random cases are drawn from this many prepared problems of each size (a torch call is slow)


@contextmanager
def _one_thread():
    """Torch single-threaded while grading: waking a thread pool costs more than these tiny tensors."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@cache
def _watched():
    """The tensor class of hidden and weight in the cases, and the record of live logits it keeps.

    Every result of an op on a ``Watched`` tensor is ``Watched`` too and carries ``largest``: the
    most rows of logits (a ``(..., V)`` tensor, views of the inputs aside) in one tensor among its
    ancestors. ``held()`` counts the rows of logits still alive: results, and the tensors autograd
    saved for the backward pass (seen through saved-tensor hooks, except inside a checkpoint,
    whose own hooks keep nothing).
    """
    import torch
    from torch.autograd.graph import saved_tensors_hooks
    from torch.multiprocessing.reductions import StorageWeakRef

    live: dict[tuple[int, int], tuple[StorageWeakRef, int]] = {}  # storage -> (weak reference, rows)

    def leaves(items):
        """The items, with lists and tuples among them opened one level (torch.cat, torch.stack)."""
        return [x for item in items for x in (item if isinstance(item, (list, tuple)) else (item,))]

    class Watched(torch.Tensor):
        vocab, largest, inputs = 0, 0, frozenset()

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            watched = [a for a in leaves((*args, *kwargs.values())) if isinstance(a, Watched)]
            first = watched[0]

            def note(t):  # a tensor made or saved by this op: remember it if it holds logits
                rows = first.rows(t)
                if rows:
                    storage = t.untyped_storage()
                    live[storage.data_ptr(), storage.nbytes()] = StorageWeakRef(storage), rows
                return rows

            def pack(t):
                note(t)
                return t

            with torch._C.DisableTorchFunctionSubclass(), _one_thread():
                if torch._C._autograd._top_saved_tensors_default_hooks(False) is None:
                    with saved_tensors_hooks(pack, lambda t: t):
                        out = func(*args, **kwargs)
                else:  # inside a checkpoint: its hooks decide what is kept
                    out = func(*args, **kwargs)
            made = [t for t in leaves([out]) if isinstance(t, torch.Tensor)]  # results are flat tuples at most
            largest = max([w.largest for w in watched] + [note(t) for t in made])
            out = torch._tensor._convert(out, cls)
            for t in leaves([out]):
                if isinstance(t, Watched):
                    t.vocab, t.largest, t.inputs = first.vocab, largest, first.inputs
            return out

        def rows(self, t):
            """Rows of logits in ``t``: its size over V if its last axis is V (0 for views of the inputs)."""
            if t.ndim < 2 or t.shape[-1] != self.vocab or t.untyped_storage().data_ptr() in self.inputs:
                return 0
            return t.untyped_storage().nbytes() // t.element_size() // self.vocab

        def __array__(self, dtype=None, copy=None):
            with torch._C.DisableTorchFunctionSubclass():
                values = self.detach().numpy()
            return values if dtype is None else values.astype(dtype)

        def __repr__(self, **kwargs):
            with torch._C.DisableTorchFunctionSubclass():
                digest = hashlib.sha256(self.detach().numpy().tobytes()).hexdigest()[:6]
                return f"<{str(self.dtype)[6:]} tensor of shape {tuple(self.shape)}, #{digest}>"

    def held():
        return sum(rows for ref, rows in live.values() if not ref.expired())

    def watch(array, vocab, inputs):
        t = torch.tensor(array).as_subclass(Watched).requires_grad_(True)
        t.vocab, t.inputs = vocab, inputs
        return t

    return watch, held, live


def _problem(rng, rows, chunk_size, padded=0):
    """A case: float32 hidden (N, D) and weight (V, D) as watched leaves, targets (N,) ending in ``padded`` -100s."""

    dim, vocab = int(rng.integers(2, 4)), int(rng.integers(chunk_size + 4, 24))  # D < V and chunk_size < V
    targets = rng.integers(0, vocab, size=rows)
    targets[rows - padded:] = IGNORE
    hidden, weight = rng.normal(0, 1, (rows, dim)), rng.normal(0, 1, (vocab, dim))
    return _from_plain((hidden.astype(np.float32), weight.astype(np.float32), targets, chunk_size))


def _from_plain(args):
    """hidden and weight as watched leaves, targets as a tensor: a case from arrays (here or in another process)."""
    import torch

    watch, _, _ = _watched()
    hidden, weight, targets, chunk_size = args
    w = watch(weight, weight.shape[0], frozenset())
    w.inputs = frozenset({w.untyped_storage().data_ptr()})  # weight.T has a last axis of V but holds no logits
    return watch(hidden, weight.shape[0], w.inputs), w, torch.tensor(targets), chunk_size


def _to_plain(args):
    """A case's tensors as arrays, so a trusted verdict can send them to the process running the learner's code."""
    return tuple(a.__array__() if hasattr(a, "detach") else a for a in args)


@cache
def _prepared(seed, rows, chunk_size, padded=0):
    """The problem drawn from ``seed``, built once: its hidden and weight are leaves autograd forbids editing."""
    return _problem(np.random.default_rng(seed), rows, chunk_size, padded)


def _pooled(rng, rows, chunk_size, padded=0):
    """One of POOL prepared problems of this size, picked by ``rng``."""
    return _prepared(int(rng.integers(POOL)) + 1000, rows, chunk_size, padded)


def _whole(rng):
    return [
        Case(_prepared(0, 8, 4), "8 tokens in chunks of 4"),
        Case(_pooled(rng, 3 * int(rng.integers(2, 4)), 3), "random, whole chunks"),
    ]


def _ragged(rng):
    return [
        Case(_prepared(1, 7, 4), "7 tokens in chunks of 4"),
        Case(_prepared(2, 5, 8), "one chunk larger than the batch"),
        Case(_pooled(rng, 4 * int(rng.integers(1, 3)) + int(rng.integers(1, 4)), 4), "random, a shorter last chunk"),
    ]


def _padding(rng):
    return [
        Case(_prepared(3, 8, 4, padded=2), "8 tokens, the last 2 padding"),
        Case(_pooled(rng, 8, 4, padded=int(rng.integers(1, 4))), "random, padded end"),
    ]


def _linear_cross_entropy(hidden, weight, targets, chunk_size):
    """The answer in float64: [mean loss, d loss / d hidden, d loss / d weight, 0 rows of logits beyond a chunk]."""
    h, w, t = np.asarray(hidden, dtype=np.float64), np.asarray(weight, dtype=np.float64), np.asarray(targets)
    logits = h @ w.T  # (N, V)
    valid = t != IGNORE  # (N,)
    safe = np.where(valid, t, 0)
    count = valid.sum()
    losses = logsumexp(logits, axis=-1) - logits[np.arange(len(t)), safe]  # (N,)
    grad = (softmax(logits) - np.eye(w.shape[0])[safe]) * valid[:, None] / count  # (N, V) = (p - y) / n
    return np.concatenate([[losses[valid].sum() / count], (grad @ w).ravel(), (grad.T @ h).ravel(), [0.0]])


def _observe(loss, case):
    """The learner's loss as the reference's vector: the loss, its gradients, and rows of logits kept beyond a chunk."""
    import torch

    if isinstance(loss, np.ndarray):  # the reference's own answer
        return loss
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise TypeError("return the mean loss as a one-element torch tensor that backward() can differentiate")
    hidden, weight, _, chunk_size = case.args
    _, held, live = _watched()
    beyond = max(0, getattr(loss, "largest", 0) - chunk_size) + max(0, held() - chunk_size)
    hidden.grad = weight.grad = None
    if loss.requires_grad:  # a loss cut off from the graph gets no gradients (zeros below)
        with _one_thread():
            loss.backward()
    grads = [np.zeros(a.numel()) if a.grad is None else a.grad.numpy().ravel() for a in (hidden, weight)]
    hidden.grad = weight.grad = None
    live.clear()
    return np.concatenate([[loss.item()], *grads, [beyond]])


def _torch_tolerance(case):
    """float32 sums over D and V terms: ``8 eps (1 + D + V)`` relative to the loss and the gradients."""
    hidden, weight = case.args[:2]
    return float(8 * np.finfo(np.float32).eps * (1 + hidden.shape[1] + weight.shape[0]))


TORCH = "import torch\nimport torch.nn.functional as F\nfrom torch.utils.checkpoint import checkpoint\n\n\n"
CHUNK_LOSS = """
def _chunk_loss(hidden, weight, targets):
    return F.cross_entropy(hidden @ weight.T, targets, reduction="sum")


"""


def _chunked(total, divide_by="(targets != -100).sum()", stop="hidden.shape[0]", call="checkpoint(_chunk_loss, "
             "hidden[start:start + chunk_size], weight, targets[start:start + chunk_size], use_reentrant=False)"):
    """A chunked cross-entropy: the loop, how each chunk's loss is added, and what the total is divided by."""
    return TORCH + CHUNK_LOSS + f"""def chunked_cross_entropy(hidden, weight, targets, chunk_size):
    total = 0.0
    for start in range(0, {stop}, chunk_size):
        total = {total.format(call=call)}
    return total / {divide_by}
"""


CHUNKS = ("last chunk", "padding")
CHUNKED = Exercise(
    "chunked_cross_entropy(hidden, weight, targets, chunk_size)",
    _linear_cross_entropy,
    {
        "whole chunks": Part("chunked_cross_entropy matches F.cross_entropy(hidden @ weight.T, targets) and its "
                             "gradients, holding one chunk of logits at a time.", _whole, points=2),
        "last chunk": Part("chunked_cross_entropy counts a shorter last chunk, and a chunk longer than the batch.",
                           _ragged),
        "padding": Part("chunked_cross_entropy leaves targets of -100 out of the sum and out of the mean.", _padding),
    },
    [
        Mistake("averaged per chunk instead of over all tokens",
                _chunked("total + {call} / (targets[start:start + chunk_size] != -100).sum()",
                         divide_by="len(range(0, hidden.shape[0], chunk_size))"),
                "A mean of chunk means weighs a short or padded chunk's tokens more: add up the losses of "
                "every chunk and divide once by the number of counted tokens (§8.9).", CHUNKS),
        Mistake("skipped the last, shorter chunk", _chunked("total + {call}", stop="hidden.shape[0] - chunk_size + 1"),
                "range(0, N - chunk_size + 1, chunk_size) stops before a shorter last chunk: loop to N; "
                "slicing past the end is safe (§8.9).", ("last chunk",)),
        Mistake("counted padding in the mean", _chunked("total + {call}", divide_by="len(targets)"),
                "Targets of -100 are padding: F.cross_entropy leaves them out, so divide by the number of "
                "targets that are not -100 (§8.9).", ("padding",)),
        Mistake("kept every chunk's logits for the backward pass",
                _chunked("total + {call}", call="_chunk_loss(hidden[start:start + chunk_size], weight, "
                                                "targets[start:start + chunk_size])"),
                "Autograd saves each chunk's probabilities until backward(), so all N x V of them are held "
                "at once: recompute each chunk in the backward pass with torch.utils.checkpoint (§8.9)."),
        Mistake("computed the logits of every token at once",
                TORCH + "def chunked_cross_entropy(hidden, weight, targets, chunk_size):\n"
                "    return F.cross_entropy(hidden @ weight.T, targets)\n",
                "hidden @ weight.T is the whole (N, V) matrix that chunking is meant to avoid: multiply one "
                "chunk of rows at a time (§8.9)."),
        Mistake("returned the sum, not the mean", _chunked("total + {call}", divide_by="1"),
                "F.cross_entropy averages over the counted tokens: divide the summed losses by their number "
                "(§8.9)."),
    ],
    from_scratch=False,  # torch is the point here; the memory check catches F.cross_entropy on all logits
    tolerance=_torch_tolerance,
    observe=_observe,
    portable=(_to_plain, _from_plain),
    in_place_hint="leave hidden, weight and targets unchanged",
)

# -- quiz -------------------------------------------------------------------------------------------

QUIZ = Quiz([
    Question("A fused softmax reads each fp32 logit once and writes each probability once. How many bytes "
             "does it move per element?",
             ("8", "4 bytes read plus 4 bytes written: the same traffic as a copy, which is why the copy is "
                   "the roofline."),
             [("4", "That counts the read only; the probabilities are written back to memory too."),
              ("12", "12 bytes is the online kernel: it reads every element twice before writing once.")]),
    Question("Online softmax has seen blocks with running max m = 2 and sum s = 3. The next block raises "
             "the max to 5. What happens to s before the new block is added?",
             ("it is multiplied by exp(2 - 5)", "s = Σ exp(x - 2) over the old blocks; each term times "
                                                "exp(2 - 5) becomes exp(x - 5), relative to the new max."),
             [("it is multiplied by exp(5 - 2)", "That factor is above 1 and makes the old terms larger, "
                                                  "not relative to the new max."),
              ("it is left as it is", "Then the old terms stay relative to 2 while the new ones are "
                                      "relative to 5: the sum mixes two scales.")]),
    Question("Why is softmax limited by memory bandwidth rather than by arithmetic on a GPU?",
             ("it does a few flops per element but moves several bytes for each",
              "A GPU performs far more flops per second than bytes per second, so a kernel with a few flops "
              "per 8 bytes waits on memory."),
             [("exp is a slow instruction", "exp costs a few cycles on special function units; the kernel "
                                            "still waits on the bytes."),
              ("softmax needs a sort", "Softmax needs a max and a sum, not a sort.")],
             level="intermediate"),
    Question("Your online softmax kernel reaches 66% of the copy rate at V = 128K. What limits it?",
             ("it reads every element twice and writes once", "3 passes where the copy makes 2: at best "
                                                              "2/3 of the copy rate."),
             [("the exponentials", "Moving the bytes, not computing exp, sets the time of this kernel."),
              ("the row no longer fits in one program's registers", "That is why it streams; the cost of "
                                                                    "streaming is the second read.")],
             level="intermediate"),
    Question("Eager `F.cross_entropy((h @ W.T).float(), t)` at N = 8192 tokens and V = 128K holds the "
             "logits in float32. How many bytes is one (N, V) float32 tensor?",
             ("4 GiB", "8192 × 131072 × 4 bytes = 2^32 bytes: and eager keeps several such tensors."),
             [("512 MiB", "That is N × V bytes; a float32 takes 4 bytes."),
              ("32 GiB", "That would be 32 bytes per logit; a float32 takes 4.")],
             level="intermediate"),
    Question("A split-row kernel spreads each row over 8 programs that wait for each other's partial "
             "(max, sum). Why is its grid sized from the number of multiprocessors?",
             ("so that all programs sharing a row are resident at once and the wait ends",
              "A program waiting for a partner that has not been scheduled would wait forever: size the "
              "grid so that every partner runs at the same time."),
             [("to use every multiprocessor", "Using the whole GPU helps speed, but the reason it must hold "
                                              "is the wait: a missing partner means a deadlock."),
              ("because Triton requires it", "Triton launches any grid; the barrier inside the kernel is "
                                            "what needs the programs resident together.")],
             level="advanced"),
    Question("A chunked linear + cross-entropy loops over chunks without checkpointing. Its peak memory "
             "compared with eager is…",
             ("about the same: autograd keeps every chunk's probabilities until backward()",
              "Each chunk's softmax is saved for the backward pass, so all N × V of them are alive at once."),
             [("one chunk", "Only if each chunk's logits are freed before the next: recompute them in the "
                            "backward pass (checkpoint) or make the gradient in the forward pass."),
              ("zero", "Some logits must exist to compute the loss: at least one chunk.")],
             level="advanced"),
    Question("Computed in bf16, the mean cross-entropy over V = 128K classes lands far from the float64 "
             "value of the same logits. What do frameworks do?",
             ("upcast the logits to float32 for the loss", "bf16 keeps 8 bits of mantissa: the sum of "
                                                           "131072 exponentials loses digits; float32 "
                                                           "keeps 24."),
             [("use a larger learning rate", "The error is in the loss's arithmetic, not in the optimiser."),
              ("nothing: 1% is noise", "A biased loss biases every gradient; the upcast costs little.")],
             level="advanced"),
])

CHAPTER = Chapter(
    "08-gpu", "Softmax and cross-entropy on a GPU: kernels against PyTorch", [ONLINE, CHUNKED], QUIZ, BytesExplorer,
    objectives=("count the bytes a softmax kernel moves and compare with a copy",
                "write an online softmax that streams over blocks",
                "compute a linear + cross-entropy one chunk at a time and check its gradients",
                "explain why losses are computed in float32"),
    minutes=60,
)
