"""Did the model copy its training set? The longest run of a generated piece found verbatim in a training piece.

A piece becomes a sequence of onset events, one per distinct onset time (onsets within 1/48 quarter of each
other are one event): the sorted, distinct pitches starting there and the inter-onset interval to the next
event in 1/12 quarters (the last event: its longest note's duration). A copied run is a stretch of
consecutive events of the generated piece equal, event for event, to consecutive events of one training
piece. All training sequences go into one suffix automaton (joined by separators that occur once each, so
no match crosses from one piece into the next); matching a generated piece against it takes one pass over
its events (the classic longest-common-substring walk).

With `transpositions=True` a second automaton holds the same events in interval form: each event as its
chord shape (pitches above its own lowest), the step of its lowest pitch from the previous event's lowest,
and its interval, so a run transposed by any number of semitones matches too. The first event of a run
transposed away from its context cannot match on the step, so an interval match is extended back by one
event when the events just before agree in shape and interval; the run then counts exactly as an
untransposed copy would.
"""
from __future__ import annotations

import bisect
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from ..piece import DUR, PITCH, START, Piece

ONSET_RESOLUTION = 48   # onsets are grouped on a 1/48-quarter grid
IOI_RESOLUTION = 12     # inter-onset intervals are counted in 1/12 quarters

Event = tuple[tuple[int, ...], int]  # (sorted pitches starting together, interval to the next in 1/12 quarter)


def onset_events(piece: Piece) -> tuple[list[Event], np.ndarray]:
    """The piece's onset events and the time (quarters) of each (its earliest note's start)."""
    n = piece.notes
    if not len(n):
        return [], np.zeros(0)
    q = np.rint(n[:, START] * ONSET_RESOLUTION).astype(np.int64)  # non-decreasing: notes are sorted by start
    first = np.concatenate([[0], np.flatnonzero(np.diff(q)) + 1])
    last = np.concatenate([first[1:], [len(n)]])
    per = ONSET_RESOLUTION // IOI_RESOLUTION
    events: list[Event] = []
    for k, (a, b) in enumerate(zip(first, last)):
        pitches = tuple(sorted(set(n[a:b, PITCH].astype(np.int64).tolist())))
        if k + 1 < len(first):
            ioi = int(round((q[first[k + 1]] - q[a]) / per))
        else:
            ioi = int(round(float(n[a:b, DUR].max()) * IOI_RESOLUTION))
        events.append((pitches, ioi))
    return events, n[first, START].copy()


def interval_tokens(events: Sequence[Event]) -> list[tuple]:
    """Transposition-free form of events: (chord shape above its lowest pitch, step of the lowest pitch from
    the previous event's lowest (None for the first event), interval)."""
    out: list[tuple] = []
    prev = None
    for pitches, ioi in events:
        low = pitches[0]
        out.append((tuple(p - low for p in pitches), None if prev is None else low - prev, ioi))
        prev = low
    return out


class _SuffixAutomaton:
    """Suffix automaton of several sequences of hashable tokens joined by one-off separators.

    States are parallel lists; `first[v]` is the end position (in the joined text) of the first occurrence
    of the strings of state v, which is enough to map any match back to a piece and position.
    """

    def __init__(self, sequences: Sequence[Sequence[Hashable]]):
        self.vocab: dict[Hashable, int] = {}
        self.offsets: list[int] = []  # where each sequence starts in the joined text
        nxt: list[dict[int, int]] = [{}]
        link, length, first = [-1], [0], [-1]
        last, pos = 0, 0
        vocab = self.vocab

        def extend(c: int) -> None:
            nonlocal last
            cur = len(length)
            nxt.append({})
            length.append(length[last] + 1)
            link.append(0)
            first.append(pos)
            p = last
            while p != -1 and c not in nxt[p]:
                nxt[p][c] = cur
                p = link[p]
            if p != -1:
                q = nxt[p][c]
                if length[p] + 1 == length[q]:
                    link[cur] = q
                else:
                    clone = len(length)
                    nxt.append(dict(nxt[q]))
                    length.append(length[p] + 1)
                    link.append(link[q])
                    first.append(first[q])
                    while p != -1 and nxt[p].get(c) == q:
                        nxt[p][c] = clone
                        p = link[p]
                    link[q] = clone
                    link[cur] = clone
            last = cur

        for k, seq in enumerate(sequences):
            if k:
                extend(-k)  # separator: unique, never in a query
                pos += 1
            self.offsets.append(pos)
            for tok in seq:
                extend(vocab.setdefault(tok, len(vocab)))
                pos += 1
        self.nxt, self.link, self.length, self.first = nxt, link, length, first
        self.size = pos

    def matches(self, query: Sequence[Hashable]) -> list[tuple[int, int, int]]:
        """For each query position j: (length of the longest match ending at j, sequence index, index in that
        sequence of the match's last token); (0, -1, -1) where nothing matches."""
        nxt, link, length, first, vocab = self.nxt, self.link, self.length, self.first, self.vocab
        out = []
        v, n = 0, 0
        for tok in query:
            c = vocab.get(tok)
            if c is None:
                v, n = 0, 0
                out.append((0, -1, -1))
                continue
            while v and c not in nxt[v]:
                v = link[v]
                n = length[v]
            if c in nxt[v]:
                v = nxt[v][c]
                n += 1
                end = first[v]
                k = bisect.bisect_right(self.offsets, end) - 1
                out.append((n, k, end - self.offsets[k]))
            else:
                v, n = 0, 0
                out.append((0, -1, -1))
        return out


@dataclass
class Copy:
    """The longest run of a generated piece's onset events found consecutively in one training piece."""
    events: int                  # number of consecutive onset events in the run (0: nothing matched)
    bars: float                  # run length in the generated piece's bars: (next event or end - start) / bar
    start: float                 # where the run starts in the generated piece (quarters)
    source: str = ""             # the training piece's `source`
    transposed: bool = False     # found only with pitches taken relative (some transposition of the source)
    source_index: int = -1       # the training piece's index in the list the index was built from
    source_start: float = 0.0    # where the run starts in the training piece (quarters)
    copied: bool = False         # set by flag_copies: bars above its max_bars


class TrainingIndex:
    """Suffix automata over a training set's onset events, for finding copied runs in generated pieces."""

    def __init__(self, pieces: Sequence[Piece] = (), transpositions: bool = False):
        self.sources = [p.source for p in pieces]
        self.transpositions = transpositions
        events = [onset_events(p) for p in pieces]
        self._times = [t for _, t in events]
        self._automaton = _SuffixAutomaton([e for e, _ in events])
        self._intervals = [interval_tokens(e) for e, _ in events] if transpositions else []
        self._interval_automaton = _SuffixAutomaton(self._intervals) if transpositions else None

    @classmethod
    def build(cls, pieces: Sequence[Piece], transpositions: bool = False) -> TrainingIndex:
        return cls(pieces, transpositions=transpositions)

    def __len__(self) -> int:
        """Number of training events indexed."""
        return sum(len(t) for t in self._times)

    def longest_copy(self, piece: Piece) -> Copy:
        """The longest run of `piece`'s onset events that occurs verbatim in one training piece (with
        transpositions: the longer of the verbatim and the transposed match; a tie counts as verbatim)."""
        events, times = onset_events(piece)
        best = (0, 0, -1, -1, False)  # events, first query index, training piece, first training index, transposed
        for j, (n, k, t) in enumerate(self._automaton.matches(events)):
            if n > best[0]:
                best = (n, j - n + 1, k, t - n + 1, False)
        if self._interval_automaton is not None:
            query = interval_tokens(events)
            for j, (n, k, t) in enumerate(self._interval_automaton.matches(query)):
                if not n:
                    continue
                i, s = j - n + 1, t - n + 1
                if i > 0 and s > 0:  # the event before: same chord shape and interval, any step
                    a, b = query[i - 1], self._intervals[k][s - 1]
                    if a[0] == b[0] and a[2] == b[2]:
                        n, i, s = n + 1, i - 1, s - 1
                if n > best[0]:
                    best = (n, i, k, s, True)
        n, i, k, s, transposed = best
        if not n:
            return Copy(0, 0.0, 0.0)
        stop = float(times[i + n]) if i + n < len(times) else piece.end
        return Copy(events=n, bars=(stop - float(times[i])) / piece.bar_length, start=float(times[i]),
                    source=self.sources[k], transposed=transposed, source_index=k,
                    source_start=float(self._times[k][s]))


def flag_copies(pieces: Sequence[Piece], index: TrainingIndex, max_bars: float = 4.0) -> list[Copy]:
    """Each piece's longest copy, `copied` set where the run lasts more than `max_bars` bars."""
    out = []
    for p in pieces:
        c = index.longest_copy(p)
        c.copied = c.bars > max_bars
        out.append(c)
    return out
