"""Text to train and test on: a synthetic Markov source with an exact entropy rate, and the course's prose.

The entropy rate of a source is the floor under every model's loss on it: no model, however
large, averages fewer nats per character. For a Markov chain with transition matrix ``P`` and
stationary distribution ``pi`` it is exact: ``H = sum_i pi_i H(P[i, :])`` nats per symbol. A
chain over words written with a space after each word has ``H / E_pi[len(word) + 1]`` nats per
character, because the text can be cut back into its words without ambiguity.

The real-English corpus is the course's own Markdown prose, read from the notebooks at run
time, so no text from elsewhere is stored.
"""

from __future__ import annotations

import bisect
import json
import numbers
import re
import unicodedata
from pathlib import Path

import numpy as np

from .information import entropy

WORDS = (  # short English words: the vocabulary of the word chain
    "the", "a", "one", "my", "our", "cat", "dog", "fox", "owl", "hen", "cow", "bee", "sat", "ran",
    "hid", "ate", "saw", "dug", "sang", "on", "in", "by", "near", "under", "mat", "log", "box",
    "bed", "tree", "red", "big", "old", "wet", "slow", "and", "then", "so",
)
CHARACTERS = " abcdefgh"


def _check_rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def _check_transition(transition: object, n_symbols: int) -> np.ndarray:
    P = np.asarray(transition, dtype=np.float64)
    if P.shape != (n_symbols, n_symbols):
        raise ValueError(f"transition must be ({n_symbols}, {n_symbols}), one row per symbol, got shape {P.shape}")
    if np.isnan(P).any() or (P < 0).any():
        raise ValueError("transition must hold probabilities (>= 0, no NaN)")
    if not np.allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-9):
        raise ValueError("each row of transition must sum to 1: row i is the distribution of the symbol after i")
    return P


def _check_symbols(symbols: object, separator: str) -> tuple[str, ...]:
    symbols = tuple(symbols)
    if not symbols or not all(isinstance(s, str) and s for s in symbols):
        raise ValueError("symbols must be a non-empty sequence of non-empty strings")
    if len(set(symbols)) != len(symbols):
        raise ValueError("symbols must be distinct, or the text could not be read back into symbols")
    if separator == "" and any(len(s) != 1 for s in symbols):
        raise ValueError("without a separator every symbol must be one character (so the text decodes uniquely)")
    if separator and any(separator in s for s in symbols):
        raise ValueError(f"no symbol may contain the separator {separator!r} (so the text decodes uniquely)")
    return symbols


def _stationary(P: np.ndarray) -> np.ndarray:
    """``pi`` with ``pi P = pi`` and ``sum(pi) = 1``; the chain must be irreducible for it to be unique."""
    n = P.shape[0]
    reach = np.linalg.matrix_power(np.eye(n) + (P > 0), n - 1) > 0  # (n, n): i reaches j in < n steps
    if not reach.all():
        raise ValueError("transition must be irreducible (every symbol reachable from every other)")
    A = P.T - np.eye(n)  # (P^T - I) pi = 0 ...
    A[-1] = 1.0  # ... with one equation replaced by sum(pi) = 1
    b = np.zeros(n)
    b[-1] = 1.0
    return np.linalg.solve(A, b)


class MarkovSource:
    """A first-order Markov chain over ``symbols``, each written as ``symbol + separator``.

    ``transition[i, j]`` is the probability that symbol ``j`` follows symbol ``i``. Samples start
    from the stationary distribution, so every position of a sample has the same statistics.
    """

    def __init__(self, symbols: tuple[str, ...], transition: np.ndarray, separator: str = "") -> None:
        if not isinstance(separator, str):
            raise TypeError(f"separator must be a string, got {separator!r}")
        self.symbols = _check_symbols(symbols, separator)
        self.separator = separator
        self.transition = _check_transition(transition, len(self.symbols))  # (S, S)
        self.stationary = _stationary(self.transition)  # (S,)
        cumulative = np.cumsum(self.transition, axis=1)  # (S, S) row CDFs for inverse-CDF draws
        self._cumulative = (cumulative / cumulative[:, -1:]).tolist()  # the last entries exactly 1.0

    @classmethod
    def words(cls, seed: int = 0) -> MarkovSource:
        """The course's word chain: the module's ``WORDS``, a space after each, transitions from ``seed``."""
        return cls(WORDS, _sparse_chain(len(WORDS), np.random.default_rng(seed), 3, 7), separator=" ")

    @classmethod
    def characters(cls, seed: int = 0) -> MarkovSource:
        """A chain over the single characters of ``CHARACTERS``: a bigram model can reach its floor."""
        return cls(tuple(CHARACTERS), _sparse_chain(len(CHARACTERS), np.random.default_rng(seed), 2, 5))

    def entropy_rate_per_symbol(self) -> float:
        """``sum_i pi_i H(P[i, :])`` in nats: the mean surprise of the next symbol given the last."""
        return float(self.stationary @ entropy(self.transition))

    def chars_per_symbol(self) -> float:
        """``E_pi[len(symbol) + len(separator)]``: the mean characters written per symbol."""
        lengths = np.array([len(s) + len(self.separator) for s in self.symbols])
        return float(self.stationary @ lengths)

    def entropy_rate_per_char(self) -> float:
        """The exact floor under any model's loss on this source, in nats per character."""
        return self.entropy_rate_per_symbol() / self.chars_per_symbol()

    def sample(self, n_chars: int, rng: np.random.Generator) -> str:
        """``n_chars`` characters of the chain, starting from a stationary draw (the last symbol may be cut)."""
        if isinstance(n_chars, bool) or not isinstance(n_chars, numbers.Integral) or n_chars < 1:
            raise ValueError(f"n_chars must be an int >= 1, got {n_chars!r}")
        rng = _check_rng(rng)
        state = int(rng.choice(len(self.symbols), p=self.stationary))
        pieces, length = [], 0
        while length < n_chars:
            for u in rng.random(max(16, (n_chars - length) // 2)):
                piece = self.symbols[state] + self.separator
                pieces.append(piece)
                length += len(piece)
                if length >= n_chars:
                    break
                state = bisect.bisect_right(self._cumulative[state], u)  # first j with CDF_j > u, u in [0, 1)
        return "".join(pieces)[:n_chars]


def _sparse_chain(n: int, rng: np.random.Generator, low: int, high: int) -> np.ndarray:
    """``(n, n)`` transitions: each state goes to ``i+1``, ``i+2`` (mod n) and a few random states.

    The ring ``i -> i+1`` makes the chain irreducible; the skips ``i -> i+2`` give cycles of
    lengths n and n-1, so it is also aperiodic. Weights per row are Dirichlet(1) draws.
    """
    P = np.zeros((n, n))
    for i in range(n):
        extra = rng.choice(n, size=int(rng.integers(low, high + 1)) - 2, replace=False)
        successors = np.unique(np.concatenate([[(i + 1) % n, (i + 2) % n], extra]))
        P[i, successors] = rng.dirichlet(np.ones(successors.size))
    return P


# --- the course's own prose -------------------------------------------------------------------

_TYPOGRAPHY = str.maketrans(
    {"—": "-", "–": "-", "−": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "×": "x", "→": " -> "}
)
_KEEP = re.compile(r"[^a-z0-9\s.,;:!?'\"()\-+=/%]")
_LATEX_WRAPPERS = re.compile(r"\\(?:operatorname|text|mathrm|mathbf|left|right|big|Big)\b")


def _math_words(match: re.Match) -> str:
    """Inline math keeps its words: ``$-\\log p$`` -> ``-log p``, ``$z_y$`` -> ``z y``."""
    latex = _LATEX_WRAPPERS.sub(" ", match.group(1))
    latex = re.sub(r"\\([a-zA-Z]+)", r" \1 ", latex)  # \log -> log, \to -> to
    return re.sub(r"[\\^_]", " ", latex.replace("{", "").replace("}", ""))  # e^{z_j} -> e z j


_MARKUP = [  # applied in this order
    (re.compile(r"```.*?```", re.DOTALL), " "),  # fenced code blocks
    (re.compile(r"\$\$.*?\$\$", re.DOTALL), " "),  # display math
    (re.compile(r"\$([^$]+)\$"), _math_words),  # inline math
    (re.compile(r"<[^>]+>"), " "),  # HTML tags
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # [text](url) -> text, images -> alt text
    (re.compile(r"^\s{0,3}(?:#+|>|[-*+]|\d+\.)\s+", re.MULTILINE), ""),  # heading, quote and list markers
    (re.compile(r"[`*]"), ""),  # code ticks and emphasis
    (re.compile(r"[_|#]"), " "),  # snake_case words apart, table pipes
]


def plain_text(markdown: str) -> str:
    """Markdown to plain lower-case text: markup, code blocks and display math gone, inline math as words.

    Kept: a-z, 0-9, space and ``. , ; : ! ? ' " ( ) - + = / %``; accents are stripped, dashes and
    curly quotes become their ASCII forms, other characters are dropped, and runs of white space
    (newlines included) become one space. Lower case keeps the vocabulary small.
    """
    if not isinstance(markdown, str):
        raise TypeError(f"markdown must be a str, got {type(markdown).__name__}")
    text = markdown
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    text = unicodedata.normalize("NFKD", text.translate(_TYPOGRAPHY).lower())  # é -> e + a combining accent
    return " ".join(_KEEP.sub("", text).split())


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder holding ``notebooks/``, walking up from ``start`` (else the cwd, then this file)."""
    starts = [Path(start)] if start is not None else [Path.cwd(), Path(__file__).parent]
    for folder in starts:
        for candidate in (folder.resolve(), *folder.resolve().parents):
            if (candidate / "notebooks").is_dir():
                return candidate
    raise FileNotFoundError(
        f"no folder containing notebooks/ above {', '.join(str(s) for s in starts)}; "
        "run from inside the course repository or pass root= the folder that holds notebooks/"
    )


def _notebooks(root: Path) -> list[Path]:
    """The chapter notebooks: ``solutions/*/*.ipynb`` when shipped, else the students' ``notebooks/*/*.ipynb``."""
    for folder in ("solutions", "notebooks"):
        found = sorted((root / folder).glob("*/*.ipynb"))
        if found:
            return found
    return []


def course_prose(root: str | Path | None = None) -> str:
    """The Markdown prose of every chapter notebook as one plain lower-case text (see :func:`plain_text`).

    Markdown cells only, in chapter order, joined by a space. ``root`` is the repository root
    (found from the working directory when None).
    """
    root = find_course_root() if root is None else Path(root)
    cells = []
    for path in _notebooks(root):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cells += ["".join(c["source"]) for c in notebook.get("cells", []) if c.get("cell_type") == "markdown"]
    text = plain_text("\n\n".join(cells))
    if not text:
        raise FileNotFoundError(
            f"no Markdown prose found in {root}/solutions/*/*.ipynb or {root}/notebooks/*/*.ipynb; "
            "pass root= the repository root"
        )
    return text


def train_heldout_split(text: str, heldout_fraction: float = 0.1) -> tuple[str, str]:
    """``(train, heldout)``: the last ``heldout_fraction`` of the text is held out.

    A contiguous tail rather than random characters, so no held-out character's context was
    seen in training.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if isinstance(heldout_fraction, bool) or not isinstance(heldout_fraction, numbers.Real):
        raise TypeError(f"heldout_fraction must be a number in (0, 1), got {heldout_fraction!r}")
    if not 0 < heldout_fraction < 1:
        raise ValueError(f"heldout_fraction must be in (0, 1), got {heldout_fraction!r}; e.g. 0.1")
    cut = len(text) - round(len(text) * heldout_fraction)
    if cut <= 0 or cut >= len(text):
        raise ValueError(f"text of {len(text)} characters is too short to hold out {heldout_fraction} of it")
    return text[:cut], text[cut:]
