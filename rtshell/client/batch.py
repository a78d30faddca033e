"""Batches: many route changes pipelined, in runs of one buffer each."""

from __future__ import annotations

import errno as _errno
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Literal, Optional, Protocol, TypeVar, Union

from rtshell import errors
from rtshell.client.core import AnyPending, AnyRoute, Item, Key, Op, Plan, batch_results
from rtshell.client.plans import batch_snapshot_plan
from rtshell.errors import BatchError
from rtshell.model import Filter, Route, RouteType
from rtshell.client.plans import wait

if TYPE_CHECKING:
    from rtshell.client.threaded import Client

class BatchClient(Protocol):
    """A client, as a batch sees it (either client): what packs and sends its requests."""

    def _send_batch_items(self, items: list[Item]) -> list[AnyPending]: ...


ClientT = TypeVar("ClientT", bound=BatchClient)


class BatchBase(Generic[ClientT]):
    """What the batches of both clients share (see :class:`Batch`): the requests
    queued and sent, and the plans of a commit and of a block that failed.
    :class:`Batch` and ``rtshell.aio.Batch`` add ``commit`` and the context
    manager, each running the plans with its client's ``_drive``."""

    #: Requests collected before a non-atomic batch hands a run to the sender.
    SEND_RUN = 1024

    def __init__(self, client: ClientT, atomic: bool = False, raise_on_error: bool = True) -> None:
        self.client = client
        self.atomic = atomic
        self.raise_on_error = raise_on_error
        self._items: list[Item] = []  # (verb, obj) not yet sent (atomic: all of them)
        self._sent = 0  # requests handed to the client so far
        self._records: list[AnyPending] = []  # runs and flushes sent, in order
        self.results: list[Optional[errors.RtmgrError]] = []
        self.undone: list[str] = []
        self.undo_failures: list[tuple[str, errors.RtmgrError]] = []
        self._done = False

    # requests
    def add(self, route: AnyRoute) -> None:
        # _queue(("add", route)), inline: this runs once per route
        if self._done:
            raise RuntimeError("batch already committed")
        items = self._items
        items.append(("add", route))
        if len(items) >= self.SEND_RUN and not self.atomic:
            self._send_items()

    def replace(self, route: AnyRoute) -> None:
        self._queue(("replace", route))

    def change(self, route: AnyRoute) -> None:
        self._queue(("change", route))

    def append(self, route: AnyRoute) -> None:
        self._queue(("append", route))

    def delete(self, target: Union[AnyRoute, Filter]) -> None:
        """Delete a route (match fields as :meth:`Client.delete`), or flush a Filter."""
        if isinstance(target, Filter):
            self.flush(target)
        else:
            self._queue(("delete", target))

    def flush(self, filter: Optional[Filter] = None) -> None:
        self._queue(("flush", filter))

    def __len__(self) -> int:
        """Requests queued so far."""
        return self._sent + len(self._items)

    def _queue(self, item: Item) -> None:
        if self._done:
            raise RuntimeError("batch already committed")
        items = self._items
        items.append(item)
        if len(items) >= self.SEND_RUN and not self.atomic:
            self._send_items()

    def _send_items(self) -> None:
        items, self._items = self._items, []
        self._sent += len(items)
        self._records.extend(self.client._send_batch_items(items))

    @property
    def failures(self) -> list[tuple[int, errors.RtmgrError]]:
        return [(i, e) for i, e in enumerate(self.results) if e is not None]

    # plans
    def _commit(self) -> Plan[list[Optional[errors.RtmgrError]]]:
        """The plan of :meth:`commit` (see ask)."""
        if self._done:
            return self.results
        self._done = True
        before: dict[Key, Optional[Route]] = {}
        touched: dict[int, list[Key]] = {}
        items = self._items  # atomic: every request, all sent here
        if self.atomic:
            before, touched = yield from batch_snapshot_plan(items)
        self._send_items()
        yield wait(self._records)
        self.results = batch_results(self._records)
        if self.atomic and any(e is not None for e in self.results):
            yield from self._undo(items, before, touched)
        failures = self.failures
        if failures and self.raise_on_error:
            raise BatchError(self.results, failures, self.undone, self.undo_failures, self.atomic)
        return self.results

    def _undo(self, requests: list[Item], before: dict[Key, Optional[Route]],
              touched: dict[int, list[Key]]) -> Plan[None]:
        """Plan: bring every key a successful request touched back to its state
        before (an add left out of ``touched``: its own key, absent before)."""
        keys: dict[Key, list[int]] = {}
        for i, err in enumerate(self.results):
            if err is None:
                verb, obj = requests[i]
                mine = touched.get(i)
                if mine is None and verb == "add" and obj is not None and not isinstance(obj, Filter):
                    mine = [obj.key]
                for key in mine or ():
                    keys.setdefault(key, []).append(i)
        items: list[tuple[Literal["delete", "replace"], Route, str]] = []
        for key, idx in keys.items():
            old = before.get(key)
            table, _family, dst, metric = key
            why = "undoes " + ", ".join(f"#{i}" for i in idx)
            if old is None:
                items.append(("delete", Route(dst=dst, table=table, metric=metric, type=RouteType.UNSPEC), why))
            else:
                items.append(("replace", old, why))
        if not items:
            return
        records = self.client._send_batch_items([(verb, route) for verb, route, _why in items])
        yield wait(records)
        for (verb, obj, why), error in zip(items, batch_results(records)):
            text = f"{Op(verb, obj).describe()} ({why})"
            if error is None:
                self.undone.append(text)
            elif verb == "delete" and error.errno == _errno.ESRCH:
                continue  # already gone: nothing to undo
            else:
                self.undo_failures.append((text, error))

    def _left(self) -> Plan[None]:
        """Plan: the block failed.  An atomic batch sent nothing; a plain one
        waits for what it sent."""
        self._done = True
        if not self.atomic and self._records:
            try:
                yield wait(self._records)
            finally:
                self.results = batch_results(self._records)


class Batch(BatchBase["Client"]):
    """Many changes, pipelined.  Use as a context manager::

        with client.batch() as b:
            for r in routes:
                b.add(r)
        # b.results[i] is None (applied) or the RtmgrError of request i

    Requests are packed into as few ``sendmsg`` buffers as fit; only the
    last request of a buffer asks for an ACK, so the kernel answers a
    buffer with one ACK plus an error per failed request (each matched to
    its request by sequence number).  Without ``atomic`` they are sent while the block
    runs (a full buffer goes at once).  Leaving the block waits for every
    answer and raises :class:`BatchError` when any failed, unless
    ``raise_on_error=False``.  When the block itself raises, the requests
    already sent are still waited for, and its exception propagates.

    ``atomic=True`` sends nothing until the block ends.  It then reads what
    each request would overwrite (``get`` per key, a dump for a flush),
    applies the batch, and when anything failed, restores every key a
    successful request touched to its state before the batch (delete what
    was created, replace back what was replaced, changed, appended or
    deleted); :attr:`BatchError.undone` says what was undone.  This is an
    undo, not isolation: another writer changing the same routes meanwhile
    may have its change undone too.
    """

    # running
    def commit(self) -> list[Optional[errors.RtmgrError]]:
        """Send what is left, wait for every answer (undo if atomic); the results."""
        return self.client._drive(self._commit())

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if exc_type is None:
            self.commit()
            return None
        try:
            self.client._drive(self._left())
        except Exception:
            pass  # the block's own exception is the one that propagates
        return None


