"""The rtmgr client: :class:`Client` (threaded) and what both clients share.

A :class:`Client` owns two netlink sockets and up to three threads:

* the **request socket**, written by the *sender* thread and read by the
  *receiver* thread.  Every request gets the next sequence number; the
  receiver matches each reply to its request by that number and resolves it
  (ACK or error, reply messages, multipart answers up to ``NLMSG_DONE``);
* the **notification socket** (group ``RTMGR_GRP_ROUTE``), opened when the
  first subscriber arrives and read by the *notifier* thread, which calls
  the subscribers' callbacks.

Every blocking receive happens inside the C library with the GIL released,
so the threads never freeze the caller (or the shell's prompt).

The public API is synchronous: :meth:`Client.add` returns when the kernel
has answered; :meth:`Client.dump` returns an iterator that streams routes as
buffers arrive; :meth:`Client.batch` pipelines thousands of changes in a few
``sendmsg`` calls, each buffer's requests sent without ``NLM_F_ACK`` but the
last: the kernel then answers a buffer with its errors (each matched to its
request by sequence number) and one ACK, instead of an ACK per request.
Failures raise the exceptions of :mod:`rtshell.errors`, carrying the errno,
the kernel's extended-ACK text and a readable description of the request
(``route add 10.1.0.0/16 via 10.99.0.2 table main``).

Where each concern lives:

* ``core.py``: the protocol itself, with no thread, lock, clock or socket:
  the request table (:class:`~rtshell.client.core.Core`: sequence numbers,
  batch runs, matching replies to requests), what a request asked
  (``Op``) and the errors the client makes itself;
* ``plans.py``: what each call of the API asks and how it reads the
  answers, as generators both clients drive (``PLANS``, the verb table
  ``explain`` builds its bytes from too);
* ``dumps.py``: a dump across restarts (``DumpReader``);
* ``batch.py``: batches (``Batch``), their runs and the undo of an atomic one;
* ``notifications.py``: subscriptions, ``monitor()``, and the mirror of the
  table kept for resync;
* ``sockets.py``, ``base.py``: what both clients do around the core;
* ``threaded.py``: :class:`Client`, the core driven by a sender and a
  receiver thread.  :mod:`rtshell.aio` drives the same core from an event
  loop.

Guarantees a caller can rely on
-------------------------------
* **No wait is unbounded.**  A request that gets no answer raises
  :class:`~rtshell.errors.Timeout` after ``timeout`` seconds from the moment
  it was sent (time spent queued behind other requests that are moving does
  not count).  Batches and dumps time out when nothing moves for
  ``timeout`` seconds.
* **Dumps stream at the consumer's pace.**  Each ``dump()`` has a netlink
  socket of its own, read in the consumer's thread; the kernel makes a
  dump's next buffer only when its socket is read, so nothing is buffered
  between them and a consumer may pause as long as it likes (a reader in
  a pager) while every other request goes on.  A dump whose kernel sends
  nothing for ``timeout`` seconds raises ``Timeout``.  A dump left by its
  consumer (``close()``, garbage collection, ``KeyboardInterrupt``) closes
  its socket, and the kernel drops the rest.
* **Interrupted dumps** (``NLM_F_DUMP_INTR``: the table changed under the
  dump) are retried up to ``DUMP_ATTEMPTS`` times, then
  :class:`DumpInterrupted` is raised.  ``dump(consistent=False)`` (the
  default) streams: after an interruption it restarts the dump and skips
  every route up to the last one it yielded (the kernel sorts dumps), so the
  consumer sees each route at most once, in order, and sees every route that
  existed for the whole dump.  ``dump(consistent=True)`` collects each
  attempt and yields only an uninterrupted one: an exact snapshot of the
  table at one moment.
* **Lost notifications are repaired.**  When the notification socket
  overruns (``ENOBUFS``) while a subscriber asked for ``resync=True``, the
  client first takes in the events still queued, then dumps the table,
  compares it with the table it has been keeping from the events, and
  delivers to every subscriber a :class:`ResyncEvent` listing what was
  added, removed and changed during the gap.  With no such subscriber,
  subscribers get ``Event(kind="overrun", count=0)``: events were lost.

Thread safety: one client may be shared by any number of threads.
"""

from rtshell.client.batch import Batch
from rtshell.client.core import (DUMP_ATTEMPTS, REPLY_COST, SEND_CHUNK, SEQ_MODULO, STREAM_DEPTH,
                                 Address, Key)
from rtshell.client.notifications import MONITOR_DEPTH, Subscription
from rtshell.client.sockets import NOTIFY_RCVBUF, POLL_INTERVAL, REQUEST_RCVBUF
from rtshell.client.threaded import Client
from rtshell.errors import BatchError, DumpInterrupted
from rtshell.model import ResyncEvent

__all__ = [
    "Client", "Batch", "Subscription", "BatchError", "DumpInterrupted", "ResyncEvent", "Address", "Key",
    "DUMP_ATTEMPTS", "MONITOR_DEPTH", "NOTIFY_RCVBUF", "POLL_INTERVAL", "REPLY_COST", "REQUEST_RCVBUF",
    "SEND_CHUNK", "SEQ_MODULO", "STREAM_DEPTH",
]
