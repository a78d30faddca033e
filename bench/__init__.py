"""Side-by-side benchmarks of rtshell and its peers.

``python -m bench`` runs inside the VM (``make bench``): rtshell's client
against the rtmgr module next to ``ip`` and pyroute2 against the kernel FIB,
all in one boot, reported as ratios.  ``python -m bench.host`` measures the
receive-buffer parser on the host (no VM).  See bench/README.md.
"""
