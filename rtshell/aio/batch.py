"""Batches for rtshell.aio: rtshell.client's, run by the event loop."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, NoReturn, Optional

from rtshell.client import batch
from rtshell import errors

if TYPE_CHECKING:
    from rtshell.aio.client import Client


class Batch(batch.BatchBase["Client"]):
    """:class:`rtshell.client.Batch` for ``async with``; :meth:`commit` is awaited.

    The same plans pack, send, wait and undo.  ``b.add(route)`` and the other
    requests stay plain calls: a non-atomic batch sends each full run at
    once, without waiting for its answers.  A block that is cancelled leaves
    at once (the answers are still read and matched).
    """

    async def commit(self) -> list[Optional[errors.RtmgrError]]:
        """Send what is left, wait for every answer (undo if atomic); the results."""
        return await self.client._drive(self._commit())

    def __enter__(self) -> NoReturn:
        raise TypeError("an rtshell.aio batch is used with `async with`")

    async def __aenter__(self) -> Batch:
        return self

    async def __aexit__(self, exc_type: Optional[type[BaseException]],
                        exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        if exc_type is None:
            await self.commit()
            return
        if issubclass(exc_type, asyncio.CancelledError):
            self._done = True
            return
        try:
            await self.client._drive(self._left())
        except Exception:
            pass  # the block's own exception is the one that propagates
