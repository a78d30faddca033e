"""Protocol constants, taken from the UAPI header through the compiled binding.

``kernel/uapi/linux/rtmgr.h`` is the only place these numbers are written;
the cffi build (bindings/build_ffi.py) declares them with ``...`` so the C
compiler reads their values from the header.  This module re-exports every
``RTMGR_*``, ``NETLINK_RTMGR`` and the netlink constants the binding carries.
"""

from typing import TYPE_CHECKING

from rtshell._rtmgr_cffi import lib as _lib

_names = [n for n in dir(_lib) if n.startswith(("RTMGR_", "NETLINK_", "NLM", "NLMSG", "NLA_"))]
globals().update({n: getattr(_lib, n) for n in _names})
__all__ = _names

if TYPE_CHECKING:
    # for the type checker, which cannot see names made at import: each is an int
    def __getattr__(name: str) -> int: ...
