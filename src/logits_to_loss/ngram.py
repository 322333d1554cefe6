"""A character n-gram model: one row of logits per context of ``order - 1`` characters.

Fitted by counting: the logits of a context are ``log(count(context, c) + k)``, so softmax gives
the add-k estimate ``(count + k) / (total + k V)``. The same table of logits can also be learned
by gradient descent (see :mod:`logits_to_loss.training`). Every position of a text is scored with
one table lookup (teacher forcing), so the per-position losses need no loop.

Unknown characters: the vocabulary is the characters of the training text plus one ``<unk>``
id (written ``UNK``, the last id). Characters the training text never had read as ``<unk>``, and
the positions before the start of a text do too, so the first ``order - 1`` characters are
predicted from a context the model has (almost) never seen. ``generate`` never emits ``<unk>``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .losses import cross_entropy
from .sampling import apply_repetition_penalty, sample

UNK = "\ufffd"
MAX_TABLE_ENTRIES = 20_000_000


def _check_text(text: object, name: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    return text


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # (len(text),)


class Vocabulary:
    """The characters of a text, sorted, each with an id; ``<unk>`` is the last id."""

    def __init__(self, chars: str) -> None:
        chars = _check_text(chars, "chars")
        self.chars = "".join(sorted(set(chars) - {UNK}))
        if not self.chars:
            raise ValueError("a vocabulary needs at least one character; the text is empty")
        self._points = _code_points(self.chars)  # (V - 1,) sorted, for searchsorted
        self.unk_id = len(self.chars)

    def __len__(self) -> int:
        return len(self.chars) + 1

    def encode(self, text: str) -> np.ndarray:
        """Character ids ``(len(text),)``; characters outside the vocabulary get ``unk_id``."""
        points = _code_points(_check_text(text))
        ids = np.searchsorted(self._points, points)  # (T,) where each would sit in the sorted vocabulary
        known = (ids < self.unk_id) & (self._points[np.minimum(ids, self.unk_id - 1)] == points)
        return np.where(known, ids, self.unk_id).astype(np.int64)

    def decode(self, ids: np.ndarray) -> str:
        """The text of ``ids``; ``unk_id`` is written ``UNK``."""
        ids = np.asarray(ids)
        if ids.size and (ids.dtype.kind not in "iu" or ((ids < 0) | (ids >= len(self))).any()):
            raise ValueError(f"ids must be integers in [0, {len(self)}) (this vocabulary's ids)")
        return "".join((self.chars + UNK)[i] for i in ids.ravel())


def _check_order(order: object, vocab_size: int) -> int:
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 1:
        raise ValueError(f"order must be an int >= 1 (1 = unigram, 2 = bigram, 3 = trigram), got {order!r}")
    if vocab_size ** int(order) > MAX_TABLE_ENTRIES:
        raise ValueError(
            f"order={order} needs a table of {vocab_size}^{order} logits for a vocabulary of {vocab_size}; "
            "use a lower order"
        )
    return int(order)


def _check_k(k: object) -> float:
    if isinstance(k, bool) or not isinstance(k, numbers.Real):
        raise TypeError(f"k must be a number > 0, got {k!r}")
    if not np.isfinite(k) or k <= 0:
        raise ValueError(f"k must be finite and > 0, got {k!r}; with k = 0 an unseen pair has probability 0 (loss inf)")
    return float(k)


def _context_rows(ids: np.ndarray, order: int, vocab: Vocabulary) -> np.ndarray:
    """``(T,)`` the table row that predicts each of ``ids``: its ``order - 1`` predecessors as base-V digits.

    Positions before the start of the text read as ``<unk>``.
    """
    padded = np.concatenate([np.full(order - 1, vocab.unk_id), ids])  # (n - 1 + T,)
    rows = np.zeros(len(ids), dtype=np.int64)
    for j in range(order - 1):  # one pass per context character, not per position
        rows = rows * len(vocab) + padded[j : j + len(ids)]
    return rows


def pair_counts(text: str, order: int, vocab: Vocabulary) -> np.ndarray:
    """``(V^(n-1), V)`` counts: entry ``[c, x]`` is how often character ``x`` follows context ``c`` in ``text``."""
    V, order = len(vocab), _check_order(order, len(vocab))
    ids = vocab.encode(_check_text(text))  # (T,)
    pairs = _context_rows(ids, order, vocab) * V + ids  # (T,) one index per (context, next) pair
    return np.bincount(pairs, minlength=V**order).reshape(V ** (order - 1), V)


class CharNGram:
    """A table of logits ``(V ** (order - 1), V)``: row ``c`` scores the character after context ``c``.

    A context ``c_1 ... c_{n-1}`` has row ``sum_j id(c_j) V^(n-1-j)`` (base-V digits, oldest first).
    """

    def __init__(self, vocab: Vocabulary, order: int, table: np.ndarray) -> None:
        if not isinstance(vocab, Vocabulary):
            raise TypeError(f"vocab must be a Vocabulary, got {type(vocab).__name__}")
        self.vocab = vocab
        self.order = _check_order(order, len(vocab))
        shape = (len(vocab) ** (self.order - 1), len(vocab))
        table = np.asarray(table, dtype=np.float64)
        if table.shape != shape:
            raise ValueError(f"table must have shape {shape} for order {order}, got {table.shape}")
        if np.isnan(table).any() or np.isposinf(table).any():
            raise ValueError("table must hold logits: finite numbers, or -inf for a ruled-out character (no NaN, no +inf)")
        self.table = table  # (V^(n-1), V)

    @classmethod
    def fit(cls, text: str, order: int = 2, k: float = 1.0) -> CharNGram:
        """Count every (context, next character) pair of ``text``: logits ``log(count + k)``."""
        vocab = Vocabulary(_check_text(text))
        order, k = _check_order(order, len(vocab)), _check_k(k)
        return cls(vocab, order, np.log(pair_counts(text, order, vocab) + k))

    def _next_row(self, ids: np.ndarray) -> int:
        """The table row that predicts the character after ``ids``."""
        recent = np.asarray(ids[max(0, len(ids) - self.order + 1) :], dtype=np.int64)
        return int(_context_rows(np.append(recent, 0), self.order, self.vocab)[-1])

    def logits(self, context: str) -> np.ndarray:
        """``(V,)`` logits of the character that follows ``context`` (only its last ``order - 1`` count)."""
        return self.table[self._next_row(self.vocab.encode(_check_text(context, "context")))].copy()

    def sequence_logits(self, text: str) -> np.ndarray:
        """``(T, V)`` logits for every position of ``text`` at once, ``T = len(text)``."""
        return self.table[_context_rows(self.vocab.encode(text), self.order, self.vocab)]

    def targets(self, text: str) -> np.ndarray:
        """``(T,)`` the character id at every position: what each row of ``sequence_logits`` should predict."""
        return self.vocab.encode(text)

    def losses(self, text: str) -> np.ndarray:
        """``(T,)`` per-position cross-entropy ``-log p(c_t | context)`` in nats."""
        if not _check_text(text):
            raise ValueError("text is empty; there is no position to score")
        return cross_entropy(self.sequence_logits(text), self.targets(text), reduction="none")

    def generate(
        self,
        n_chars: int,
        rng: np.random.Generator,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        min_p: float | None = None,
        repetition_penalty: float = 1.0,
        prompt: str = "",
    ) -> str:
        """``n_chars`` new characters after ``prompt``, one draw at a time (the prompt is not returned).

        Each step: the context's logits, ``<unk>`` removed, the repetition penalty on every id in
        the prompt and the text so far, then temperature, top-k, top-p and min-p, then a draw
        (``temperature=0`` is greedy).
        """
        if isinstance(n_chars, bool) or not isinstance(n_chars, numbers.Integral) or n_chars < 0:
            raise ValueError(f"n_chars must be an int >= 0, got {n_chars!r}")
        ids = list(self.vocab.encode(_check_text(prompt, "prompt")))
        seen = np.zeros(len(self.vocab), dtype=bool)  # ids in the prompt and the text so far
        seen[ids] = True
        for _ in range(n_chars):
            logits = self.table[self._next_row(ids)].copy()  # (V,)
            logits[self.vocab.unk_id] = -np.inf
            logits = apply_repetition_penalty(logits, np.flatnonzero(seen), repetition_penalty)
            ids.append(int(sample(logits, rng, temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p)))
            seen[ids[-1]] = True
        return self.vocab.decode(np.array(ids[len(ids) - n_chars :], dtype=np.int64))
