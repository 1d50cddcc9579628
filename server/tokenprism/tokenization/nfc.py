"""Unicode NFC with a map back to the original text, for tokenizers that normalize first (Qwen).

The tokens of ``NFC(text)`` have to be placed on ``text``. NFC changes only short runs (a
base character with its combining marks, Hangul jamo); everything else maps one to one. A
token boundary inside a changed run has no original position, so it rounds out to the run.
"""

from __future__ import annotations

import unicodedata
from itertools import groupby

import numpy as np


def _clusters(line: str) -> list[str]:
    """The line cut before every starter (combining class 0): the places NFC may not change."""
    cuts = [i for i, ch in enumerate(line) if i and not unicodedata.combining(ch)]
    return [line[a:b] for a, b in zip([0, *cuts], [*cuts, len(line)])]


def _pieces(text: str) -> list[str]:
    """Runs of the text that NFC normalizes independently of each other."""
    pieces: list[str] = []
    for line in text.splitlines(keepends=True):  # NFC never composes across a line break
        if unicodedata.is_normalized("NFC", line):
            pieces.append(line)
            continue
        clusters = _clusters(line)
        current = clusters[0]
        for cluster in clusters[1:]:
            # a starter can still compose with what comes before it (Hangul jamo, some vowel signs)
            joined = unicodedata.normalize("NFC", current + cluster)
            if joined == unicodedata.normalize("NFC", current) + unicodedata.normalize("NFC", cluster):
                pieces.append(current)
                current = cluster
            else:
                current += cluster
        pieces.append(current)
    return pieces


def nfc_pieces(text: str) -> tuple[str, np.ndarray, np.ndarray]:
    """``NFC(text)`` and, for every offset 0..len of it, the original offset rounded down and
    rounded up (the same where NFC left the text alone)."""
    normalized = unicodedata.normalize("NFC", text)
    pieces = _pieces(text)
    outputs = [unicodedata.normalize("NFC", p) for p in pieces]
    if "".join(outputs) != normalized:  # should not happen; one run is always right
        pieces, outputs = [text], [normalized]
    floor = np.empty(len(normalized) + 1, np.int64)
    ceil = np.empty(len(normalized) + 1, np.int64)
    a = c = 0
    for unchanged, run in groupby(zip(pieces, outputs), key=lambda pair: pair[0] == pair[1]):
        if unchanged:  # one to one: a single arange for the whole run of pieces
            b = a + sum(len(piece) for piece, _ in run)
            floor[c : c + b - a] = ceil[c : c + b - a] = np.arange(a, b)
            a, c = b, c + b - a
            continue
        for piece, out in run:
            b, d = a + len(piece), c + len(out)
            floor[c:d] = a
            ceil[c] = a
            ceil[c + 1 : d] = b
            a, c = b, d
    floor[-1] = ceil[-1] = len(text)
    return normalized, floor, ceil
