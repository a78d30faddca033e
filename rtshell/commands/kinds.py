"""Kinds of values a command takes, and how a word becomes a value.

One place turns text into values, for the parser, the inline validator and
the lexer alike.  Names (devices, tables, protocols) are resolved here, at
the edge; from here on everything is numbers and ``ipaddress`` objects.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import re

from rtshell import names
from rtshell.commands import grammar
from rtshell.model import U32_MAX, WEIGHT_MAX, parse_prefix


class _All:
    """'table all': any table."""

    def __repr__(self) -> str:
        return "ALL"


ALL = _All()

# kind -> (what it is, for messages and the help of completions)
DESCRIPTIONS = {
    "prefix": "a prefix: 10.0.0.0/8, 2001:db8::/32, an address, or default",
    "live_prefix": "a prefix in the table (or default)",
    "addr": "an address: 10.1.2.3 or 2001:db8::1",
    "gateway": "a gateway address",
    "dev": "a network device",
    "table": "a table: main, local, default or 1..4294967295",
    "table_filter": "a table, or all",
    "type": "a route type",
    "proto": "a routing protocol: static, bgp, ... or 0..255",
    "uint": "a number 0..4294967295",
    "weight": f"a weight 1..{WEIGHT_MAX}",
    "file": "a file name",
    "command": "a command",
    "help": "a command",
}


grammar.KIND_TEXT.update(DESCRIPTIONS)

_SHORT_V4 = re.compile(r"^\d{1,3}(\.\d{1,3}){0,2}/\d+$")


def expand_prefix(text: str) -> str:
    """'10/8' -> '10.0.0.0/8', as ip route reads an IPv4 prefix with fewer than four bytes."""
    if _SHORT_V4.match(text):
        addr, _, plen = text.partition("/")
        parts = addr.split(".")
        return ".".join(parts + ["0"] * (4 - len(parts))) + "/" + plen
    return text


def parse_uint(text: str, low: int = 0, high: int = U32_MAX) -> int:
    try:
        num = int(text, 10)
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None
    if not low <= num <= high:
        raise ValueError(f"{num} out of range {low}..{high}")
    return num


def parse_address(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an IPv4 or IPv6 address") from None


class Converter:
    """convert(kind, text) -> value, with devices resolved through ``devices``."""

    def __init__(self, devices: names.Devices):
        self.devices = devices

    def __call__(self, kind: str, text: str) -> Any:
        if kind in ("prefix", "live_prefix"):
            if text == "default":
                return "default"  # its family is decided by the whole command
            return parse_prefix(expand_prefix(text))
        if kind in ("addr", "gateway"):
            return parse_address(text)
        if kind == "dev":
            return self.devices.index(text)
        if kind == "table":
            return names.parse_table(text)
        if kind == "table_filter":
            return ALL if text == "all" else names.parse_table(text)
        if kind == "type":
            return names.parse_type(text)
        if kind == "proto":
            return names.parse_proto(text)
        if kind == "uint":
            return parse_uint(text)
        if kind == "weight":
            return parse_uint(text, 1, WEIGHT_MAX)
        return text
