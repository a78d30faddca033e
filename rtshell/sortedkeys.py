"""A sorted list of distinct keys, kept in blocks (a "sorted list of lists").

``watch`` keeps up to a million routes in the kernel's order while thousands
of them change each second, and reads a screenful at any position several
times a second.  A plain sorted list moves half a million slots per insert; a
heap cannot be read at an offset.  Here the keys lie in blocks of at most
2 x LOAD, each sorted, the blocks in order::

    maxes   [  k3  ,   k7  ,  k9 ]        the last key of each block
    blocks  [k1 k2 k3][k5 k6 k7][k8 k9]
    tree    Fenwick tree over the block lengths  (3, 3, 2)

* add / discard: bisect ``maxes``, then insert into (or delete from) one
  block: O(log N), plus moving at most 2 x LOAD slots, which C does at once;
* the keys at positions [start, stop): the tree finds the block that holds
  ``start`` in O(log B) (B blocks), the keys are read off it and the blocks
  after it: O(log N + stop - start);
* the rank of a key: O(log N).

A block that outgrows 2 x LOAD is split, one that shrinks to LOAD / 4 is
merged into its neighbour, and either rebuilds the tree (O(B)): at most once
per LOAD / 4 changes.  The standard library has no such structure, and the
project takes no dependency for it (sortedcontainers, which this follows, is
not one of ours).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import chain, groupby, islice
from typing import Any, Iterable, Iterator, Optional

LOAD = 1000  # keys per block: more than LOAD / 4 and at most 2 x LOAD (but in a lone block)


class SortedKeys:
    """Distinct, mutually comparable keys in ascending order."""

    def __init__(self, keys: Iterable[Any] = (), load: Optional[int] = None):
        self._load = load or LOAD
        self._blocks: list[list[Any]] = []
        self._maxes: list[Any] = []
        self._tree: list[int] = [0]
        self._top = 0  # the highest power of two <= len(self._blocks)
        self._len = 0
        ordered = sorted(keys)  # keys already in order (a dump) sort in one pass
        if any(a == b for a, b in zip(ordered, islice(ordered, 1, None))):
            ordered = [k for k, _ in groupby(ordered)]
        self._fill(ordered)

    def _fill(self, ordered: list[Any]) -> None:
        """Replace the contents with ``ordered`` (ascending, distinct)."""
        load = self._load
        self._blocks = [ordered[i:i + load] for i in range(0, len(ordered), load)]
        self._maxes = [b[-1] for b in self._blocks]
        self._rebuild()

    def _rebuild(self) -> None:
        """The Fenwick tree over the block lengths, from scratch: O(B)."""
        tree = [0] + [len(b) for b in self._blocks]
        n = len(tree)
        for i in range(1, n):
            j = i + (i & -i)
            if j < n:
                tree[j] += tree[i]
        self._tree = tree
        self._top = 1 << (len(self._blocks).bit_length() - 1) if self._blocks else 0
        self._len = sum(len(b) for b in self._blocks)

    def _grow(self, block: int, delta: int) -> None:
        tree = self._tree
        i = block + 1
        while i < len(tree):
            tree[i] += delta
            i += i & -i
        self._len += delta

    def _before(self, block: int) -> int:
        """How many keys the blocks before ``block`` hold."""
        tree, i, total = self._tree, block, 0
        while i:
            total += tree[i]
            i -= i & -i
        return total

    def _locate(self, pos: int) -> tuple[int, int]:
        """(block, index in it) of position ``pos`` (0 <= pos < len)."""
        tree, block, step = self._tree, 0, self._top
        while step:
            j = block + step
            if j < len(tree) and tree[j] <= pos:
                block = j
                pos -= tree[j]
            step >>= 1
        return block, pos

    # -- reading --

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Any]:
        return chain.from_iterable(self._blocks)

    def __contains__(self, key: Any) -> bool:
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return False
        b = self._blocks[i]
        return b[bisect_left(b, key)] == key

    def bisect_left(self, key: Any) -> int:
        """How many keys are smaller than ``key``."""
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return self._len
        return self._before(i) + bisect_left(self._blocks[i], key)

    def bisect_right(self, key: Any) -> int:
        """How many keys are smaller than or equal to ``key``."""
        i = bisect_right(self._maxes, key)
        if i == len(self._maxes):
            return self._len
        return self._before(i) + bisect_right(self._blocks[i], key)

    def keys(self, start: int, stop: int) -> list[Any]:
        """The keys at positions [start, stop), as a list slice would give them
        (0 <= start; positions past the end are not there)."""
        stop = min(stop, self._len)
        if start >= stop:
            return []
        block, at = self._locate(start)
        need = stop - start
        out: list[Any] = []
        blocks = self._blocks
        while need > 0:
            part = blocks[block][at:at + need]
            out += part
            need -= len(part)
            block, at = block + 1, 0
        return out

    # -- changing --

    def add(self, key: Any) -> bool:
        """Insert ``key``; False if it was there already."""
        maxes, blocks = self._maxes, self._blocks
        if not blocks:
            self._fill([key])
            return True
        i = bisect_left(maxes, key)
        if i == len(maxes):  # past the last key: the last block takes it
            i -= 1
        b = blocks[i]
        j = bisect_left(b, key)
        if j < len(b) and b[j] == key:
            return False
        b.insert(j, key)
        if j == len(b) - 1:
            maxes[i] = key
        if len(b) > 2 * self._load:
            half = self._load
            blocks[i:i + 1] = [b[:half], b[half:]]
            maxes[i:i + 1] = [b[half - 1], b[-1]]
            self._rebuild()
        else:
            self._grow(i, 1)
        return True

    def discard(self, key: Any) -> bool:
        """Remove ``key``; False if it was not there."""
        maxes, blocks = self._maxes, self._blocks
        i = bisect_left(maxes, key)
        if i == len(maxes):
            return False
        b = blocks[i]
        j = bisect_left(b, key)
        if b[j] != key:
            return False
        del b[j]
        if not b:
            del blocks[i], maxes[i]
            self._rebuild()
        elif len(b) <= self._load // 4 and len(blocks) > 1:
            k = i - 1 if i > 0 else i  # merge blocks k and k + 1
            merged = blocks[k] + blocks[k + 1]
            blocks[k:k + 2] = [merged]
            maxes[k:k + 2] = [merged[-1]]
            if len(merged) > 2 * self._load:
                half = len(merged) // 2
                blocks[k:k + 1] = [merged[:half], merged[half:]]
                maxes[k:k + 1] = [merged[half - 1], merged[-1]]
            self._rebuild()
        else:
            if j == len(b):
                maxes[i] = b[-1]
            self._grow(i, -1)
        return True

    def discard_many(self, keys: Iterable[Any]) -> None:
        """Remove every one of ``keys`` that is there.  Many at once (a
        flush) are dropped in one pass over all keys, O(N) in C-speed list
        work, rather than O(log N) each."""
        dead = keys if isinstance(keys, (set, frozenset)) else set(keys)
        if len(dead) * 8 > self._len:
            self._fill([k for k in self if k not in dead])
        else:
            for k in dead:
                self.discard(k)

    def discard_span(self, start: int, stop: int) -> None:
        """Remove the keys at positions [start, stop): O(N) list work in C,
        with no key compared (a flush of a whole table)."""
        stop = min(stop, self._len)
        if start < stop:
            self._fill(self.keys(0, start) + self.keys(stop, self._len))

    def check(self) -> None:
        """Assert the structure's invariants (for tests)."""
        flat = list(self)
        assert flat == sorted(set(flat)), "keys out of order or repeated"
        assert all(self._blocks), "an empty block"
        assert self._maxes == [b[-1] for b in self._blocks]
        assert all(len(b) <= 2 * self._load for b in self._blocks)
        assert self._len == len(flat)
        assert [self._before(i) for i in range(len(self._blocks) + 1)] == \
            [sum(len(b) for b in self._blocks[:i]) for i in range(len(self._blocks) + 1)]
