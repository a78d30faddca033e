"""rtshell: a shell for the rtmgr in-kernel routing table."""

__version__ = "0.1.0"
