"""The results table's rows as NumPy columns, and its sort orders and filters computed on them.

Qt-free, so the work can run off the GUI thread: sorting or filtering a million rows is a few
NumPy calls that release the GIL, instead of a Python call per row (or per comparison) that
held the window for a second or more. The columns grow as chunks of rows arrive; label codes
are recomputed for every row at once when a threshold moves.

A label is kept as a small code: 0..k-1 the classes, then UNCERTAIN, UNFAMILIAR and "" (an
unreadable file); `vocabulary[code]` is its text.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from classifier.names import UNFAMILIAR
from classifier.predict import UNCERTAIN
from classifier.types import Prediction

TEXT_CHUNK = 50_000  # strings turned into an array at a time: each step holds the GIL briefly


class Growing:
    """A NumPy array that rows are appended to (capacity doubles, so appends are cheap)."""

    def __init__(self, dtype, width: int = 0) -> None:
        self.shape = (width,) if width else ()
        self.data = np.empty((0, *self.shape), dtype)
        self.size = 0

    @classmethod
    def of(cls, values: np.ndarray) -> Growing:
        grown = cls(values.dtype, values.shape[1] if values.ndim > 1 else 0)
        grown.data, grown.size = values, len(values)
        return grown

    def extend(self, values: np.ndarray) -> None:
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.empty((max(end, 2 * len(self.data), 1024), *self.shape), self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end

    @property
    def values(self) -> np.ndarray:
        return self.data[: self.size]


def text_array(texts: Sequence[str]) -> np.ndarray:
    """UTF-8 bytes of `texts` as one fixed-width array: bytewise order is Python's str order
    (UTF-8 keeps code point order), and a byte substring is a str substring."""
    parts = [
        np.array([t.encode("utf-8", "surrogatepass") for t in texts[i : i + TEXT_CHUNK]], "S")
        for i in range(0, len(texts), TEXT_CHUNK)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, "S1")


@dataclass(frozen=True)
class Filters:
    """What the table shows: by label, uncertain only, errors only, file-name text (lower
    case), reviewed rows hidden, only some files."""

    label: str | None = None
    uncertain: bool = False
    errors: bool = False
    text: str = ""
    hide_reviewed: bool = False
    only_files: frozenset[str] | None = None  # an area of the map (ui/classify_map)

    @property
    def active(self) -> bool:
        shown_all = self.label is None and not (self.uncertain or self.errors or self.text)
        return not shown_all or self.hide_reviewed or self.only_files is not None


@dataclass(frozen=True)
class Snapshot:
    """Rows `start` to `start + size` (their columns), as one computation sees them."""

    start: int
    size: int
    vocabulary: tuple[str, ...]
    codes: np.ndarray
    confidence: np.ndarray  # NaN: none (an unreadable file)
    probabilities: np.ndarray  # rows x classes, NaN without probabilities
    novelty: np.ndarray  # NaN: not scored
    error: np.ndarray  # bool
    names: tuple[np.ndarray, ...]  # `text_array` chunks of the file names
    lower_names: tuple[np.ndarray, ...]  # the same, lower case (the name filter)
    value: Callable[[int, int], object]  # any other column's value of a row (Python)
    reviewed: Callable[[int], str] | None  # a row's reviewed label ("": not reviewed)


class ResultColumns:
    """Each row's sortable and filterable values, in the order the rows arrived."""

    def __init__(self, class_names: Sequence[str] = ()) -> None:
        self.vocabulary = (*class_names, UNCERTAIN, UNFAMILIAR, "")
        self.classes = len(class_names)
        self.codes = Growing(np.int16)
        self.confidence = Growing(np.float64)
        self.probabilities = Growing(np.float64, self.classes)
        self.novelty = Growing(np.float64)
        self.error = Growing(np.bool_)
        self.names: list[np.ndarray] = []  # one array per appended chunk
        self.lower_names: list[np.ndarray] = []
        self.chunk_starts: list[int] = []
        self.code_counts = np.zeros(len(self.vocabulary), np.int64)  # readable rows per code
        self.errors = 0  # unreadable rows

    def __len__(self) -> int:
        return self.codes.size

    def extend(self, rows: Sequence[Prediction], threshold: float, novelty: float | None) -> None:
        nan = float("nan")
        blank = (nan,) * self.classes
        probabilities = np.array(
            [r.probabilities if r.probabilities is not None else blank for r in rows], np.float64
        ).reshape(len(rows), self.classes)
        error = np.array([bool(r.error) for r in rows], np.bool_)
        scores = np.array([nan if r.novelty is None else r.novelty for r in rows], np.float64)
        self.probabilities.extend(probabilities)
        self.error.extend(error)
        self.novelty.extend(scores)
        self.confidence.extend(
            np.array([nan if r.confidence is None else r.confidence for r in rows], np.float64)
        )
        codes = self._codes(probabilities, error, scores, threshold, novelty)
        self.codes.extend(codes)
        self.code_counts = self.code_counts + self._count(codes, error)
        self.errors += int(error.sum())
        self.chunk_starts.append(len(self) - len(rows))
        self.names.append(text_array([r.file for r in rows]))
        self.lower_names.append(text_array([r.file.lower() for r in rows]))

    def relabelling(
        self, threshold: float, novelty: float | None
    ) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
        """A job (any thread) giving the present rows' label codes at these thresholds (as
        `predict.label_for` and `novelty_label` give one row's label) and their counts."""
        p, error, scores = self.probabilities.values, self.error.values, self.novelty.values

        def job() -> tuple[np.ndarray, np.ndarray]:
            codes = self._codes(p, error, scores, threshold, novelty)
            return codes, self._count(codes, error)

        return job

    def set_codes(self, result: tuple[np.ndarray, np.ndarray]) -> None:
        """Take a `relabelling` job's codes; rows added since keep theirs."""
        codes, counts = result
        size = len(codes)
        self.codes.values[:size] = codes
        self.code_counts = counts + self._count(self.codes.values[size:], self.error.values[size:])

    def _count(self, codes: np.ndarray, error: np.ndarray) -> np.ndarray:
        return np.bincount(codes[~error], minlength=len(self.vocabulary))

    def _codes(self, probabilities, error, scores, threshold, novelty) -> np.ndarray:
        k = self.classes
        codes = np.full(len(error), k + 2, np.int16)  # "": unreadable, or no probabilities
        usable = ~error & ~np.isnan(probabilities).any(axis=1) if k else np.zeros_like(error)
        if k and usable.any():
            p = probabilities[usable]
            best = p.argmax(axis=1)  # the first of equal maxima, as label_for's max()
            sure = p[np.arange(len(p)), best] >= threshold
            codes[usable] = np.where(sure, best, k)
        if novelty is not None:
            with np.errstate(invalid="ignore"):
                codes[usable & (scores > novelty)] = k + 1
        return codes

    def label_texts(self) -> list[str]:
        vocabulary = self.vocabulary
        return [vocabulary[c] for c in self.codes.values.tolist()]

    def counts(self) -> tuple[dict[str, int], int]:
        """Rows per label (readable rows only), and unreadable rows."""
        out: dict[str, int] = {}
        for name, count in zip(self.vocabulary, self.code_counts.tolist(), strict=True):
            if count:
                out[name] = out.get(name, 0) + count
        return out, self.errors

    def snapshot(self, value, reviewed, start: int = 0) -> Snapshot:
        """The rows from `start` (the first row of an appended chunk) to the last, as they are
        now: later appends and relabelling leave it as it is."""
        first = bisect.bisect_left(self.chunk_starts, start)
        return Snapshot(
            start,
            len(self) - start,
            self.vocabulary,
            self.codes.values[start:].copy(),  # relabelled in place while a computation runs
            self.confidence.values[start:],
            self.probabilities.values[start:],
            self.novelty.values[start:],
            self.error.values[start:],
            tuple(self.names[first:]),
            tuple(self.lower_names[first:]),
            value,
            reviewed,
        )


# --- computations (any thread) -------------------------------------------------------------


def sort_keys(s: Snapshot, column: int, kind: str) -> tuple[np.ndarray, np.ndarray | None]:
    """A sort key per row for a table column (numbers, or bytes in str order), and which rows
    have none (they go last). `kind`: "file", "label", "confidence", "novelty", "p<j>" (the
    probability of class j) or "value" (any other column, read row by row in Python)."""
    if kind == "file":
        return (np.concatenate(s.names) if s.names else np.zeros(0, "S1")), None
    if kind == "label":
        _, rank = np.unique(np.array(s.vocabulary, "U"), return_inverse=True)
        return rank[s.codes], None
    if kind in ("confidence", "novelty") or kind.startswith("p"):
        keys = getattr(s, kind) if kind[0] != "p" else s.probabilities[:, int(kind[1:])]
        return keys, np.isnan(keys)
    values = [s.value(i + s.start, column) for i in range(s.size)]  # Reviewed, Error, FITS header
    missing = np.array([v is None for v in values], np.bool_)
    if all(isinstance(v, float | int) for v in values if v is not None):
        return np.array([np.nan if v is None else v for v in values], np.float64), missing
    return text_array(["" if v is None else str(v) for v in values]), missing


def sorted_order(keys: np.ndarray, missing, current: np.ndarray, descending: bool) -> np.ndarray:
    """`current` (row numbers in the shown order) stably sorted by `keys`; rows without a key
    last, in their current order. Equal keys keep their current order in both directions, as
    Python's `list.sort(reverse=True)` does."""
    current = current[current < len(keys)]
    if missing is not None and missing.any():
        gone = missing[current]
        present, absent = current[~gone], current[gone]
    else:
        present, absent = current, current[:0]
    k = keys[present]
    if descending:
        if k.dtype.kind in "SU":
            k = np.unique(k, return_inverse=True)[1]
        k = -k
    return np.concatenate([present[np.argsort(k, kind="stable")], absent])


def filter_mask(s: Snapshot, filters: Filters) -> np.ndarray:
    """Which of the snapshot's rows the filters let through."""
    keep = np.ones(s.size, np.bool_)
    if not filters.active:
        return keep
    codes = s.codes
    if filters.errors:
        keep &= s.error
    if filters.uncertain:
        keep &= _label_is(s.vocabulary, codes, UNCERTAIN)
    if filters.label is not None:
        keep &= _label_is(s.vocabulary, codes, filters.label)
    if filters.text:
        needle = filters.text.encode("utf-8", "surrogatepass")
        names = np.concatenate(s.lower_names) if s.lower_names else np.zeros(0, "S1")
        keep &= np.strings.find(names, needle) >= 0
    if filters.only_files is not None:
        names = np.concatenate(s.names) if s.names else np.zeros(0, "S1")
        keep &= np.isin(names, text_array(sorted(filters.only_files)))
    if filters.hide_reviewed and s.reviewed is not None:  # a Python call per row left
        reviewed, start = s.reviewed, s.start
        candidates = np.flatnonzero(keep)
        hidden = [bool(reviewed(i + start)) for i in candidates.tolist()]
        keep[candidates[np.array(hidden, np.bool_)]] = False
    return keep


def _label_is(vocabulary: tuple[str, ...], codes: np.ndarray, label: str) -> np.ndarray:
    matching = [i for i, name in enumerate(vocabulary) if name == label]
    return np.isin(codes, matching)
