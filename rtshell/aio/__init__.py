"""The asyncio rtmgr client: the threaded client's verbs, awaited (issue 16).

    import rtshell.aio
    from rtshell import Filter, Route

    async def main():
        async with rtshell.aio.Client() as c:
            await c.add(Route.parse("10.1.0.0/16 via 10.99.0.2 dev dummy0"))
            async for route in c.dump(Filter(table=254)):
                print(route)

No thread: the request socket, and the notification socket once someone
subscribes, are non-blocking and registered with the running event loop
(``loop.add_reader``).  What is said on the wire and how answers are read is
the threaded client's own sans-I/O core (:mod:`rtshell.client`: ``core.Core``
numbers requests and matches replies, the ``plans`` read each call's answers,
``dumps.DumpReader`` restarts interrupted dumps, ``notifications.Mirror`` keeps
the table for resync); this package only drives it from the loop.  Methods, arguments,
results, exceptions and guarantees are those of :class:`rtshell.client.Client`,
with tasks where that says threads, but for dumps, which share the request
socket here (the threaded client gives each dump a socket of its own):

* every wait is bounded by ``timeout`` (``asyncio.timeout``), counted as the
  threaded client counts it;
* a dump streams with back-pressure: when ``STREAM_DEPTH`` buffers wait for
  its consumer the client stops reading the socket, unless another request
  awaits its answer (then the dump is buffered until that answer is read);
  a consumer that takes nothing for ``timeout`` seconds loses its dump;
* a dump left early (``break``, ``aclose()``, cancellation) is abandoned: the
  rest of it is read and dropped and the client stays usable;
* a cancelled call gives its request up: the late answer is dropped.

A client belongs to the event loop that first uses it; callbacks given to
:meth:`Client.subscribe` run on that loop.

Modules: ``client`` (the API, notifications), ``connection`` (the request
socket on the loop: sending, receiving, waits), ``streams`` (a dump's
chunks, the monitor), ``batch``.
"""

from rtshell.aio.batch import Batch
from rtshell.aio.client import Client
from rtshell.aio.streams import Monitor
from rtshell.client import BatchError, DumpInterrupted, ResyncEvent, Subscription

__all__ = ["Client", "Batch", "Monitor", "Subscription", "BatchError", "DumpInterrupted",
           "ResyncEvent"]
