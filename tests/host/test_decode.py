"""The decoder: every golden message, as text, with the lines written down
beside its bytes (`# decode:`), then its hex dump; malformed input said to
be malformed."""

import re
import struct
from pathlib import Path

import pytest

from rtshell import netlink as nl, protocol as P

GOLDEN = Path(__file__).resolve().parent / "golden"
NAMES = sorted(p.stem for p in GOLDEN.glob("*.hex"))


def load(name: str):
    text = (GOLDEN / f"{name}.hex").read_text()
    expect = [line[len("# decode: "):] for line in text.splitlines() if line.startswith("# decode: ")]
    return bytes.fromhex(re.sub(r"#.*", "", text)), expect


def hexdump_lines(data: bytes):
    """The dump the decoder prints, written independently: offset, 16 bytes in two groups."""
    out = []
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        left = " ".join(f"{b:02x}" for b in chunk[:8])
        right = " ".join(f"{b:02x}" for b in chunk[8:])
        out.append(f"{i:04x}  {left}  {right}".rstrip())
    return out


@pytest.mark.parametrize("name", NAMES)
def test_golden_decodes(name):
    data, expect = load(name)
    assert expect, f"{name} names no decoder output"
    text = nl.decode(data)
    for want in expect:
        assert want in text, f"{want!r} not in:\n{text}"
    assert "malformed" not in text and "unknown" not in text.lower().replace("unknown(", "")
    # every message ends with its bytes
    dumped = [line.strip().rstrip(".").rstrip() for line in text.splitlines()]
    for line in hexdump_lines(data[:16]):
        assert any(d.startswith(line) for d in dumped), line


def test_one_block_per_message():
    data, _ = load("rep_lookup_many_v6")
    text = nl.decode(data)
    assert re.findall(r"^#(\d+) @(\d+) ", text, re.M) == [("1", "0"), ("2", "84"), ("3", "128")]


def test_ext_ack_text_is_escaped():
    tlv = struct.pack("=HH", 4 + 6, P.NLMSGERR_ATTR_MSG) + b'a"\n\x01b\0' + b"\0\0"
    req = struct.pack("=IHHII", 16, 16, 5, 1, 0)
    body = struct.pack("=i", -1) + req + tlv
    data = struct.pack("=IHHII", 16 + len(body), P.NLMSG_ERROR, P.NLM_F_CAPPED | P.NLM_F_ACK_TLVS, 1, 0) + body
    text = nl.decode(data)
    assert 'ext ack message: "a\\"\\x0a\\x01b"' in text
    assert "EPERM (Operation not permitted)" in text


@pytest.mark.parametrize(
    "data, want",
    [
        (b"", "empty buffer"),
        (b"\x10\x00\x00", "malformed: 3 bytes, too short for a netlink header"),
        (struct.pack("=IHHII", 400, 16, 0, 0, 0), "malformed: nlmsg_len 400 but 16 bytes left"),
        (struct.pack("=IHHII", 20, 16, 0, 0, 0) + b"\0" * 4, "too short for the rtmgr header"),
        (struct.pack("=IHHII", 26, 16, 0, 0, 0) + bytes(8) + b"\x01\x02", "malformed: 2 bytes that are no attribute"),
        (struct.pack("=IHHII", 32, 16, 0, 0, 0) + bytes(8) + struct.pack("=HHI", 8, 0x3FFF, 7), "unknown(16383) len 8"),
        (struct.pack("=IHHII", 32, 16, 0, 0, 0) + bytes(8) + struct.pack("=HH", 7, 1) + b"\x01\x02\x03\x00",
         "DST(1) len 7: (3 bytes: not an address)/0"),
        (struct.pack("=IHHII", 28, 16, 0, 0, 0) + bytes(8) + struct.pack("=HH", 4, 3), "OIF(3) len 4: malformed: 0 bytes, expected 4"),
        (struct.pack("=IHHII", 24, 2, 0, 0, 0) + struct.pack("=iI", -1, 999), "too short for struct nlmsgerr"),
        (struct.pack("=IHHII", 36, 2, 0, 0, 0) + struct.pack("=iIHHII", -22, 400, 16, 0, 0, 0),
         "the embedded request claims 400 bytes"),
        (struct.pack("=IHHII", 20, 3, 0, 0, 0) + struct.pack("=i", 7), "7 (malformed: not a negative errno)"),
        (struct.pack("=IHHII", 20, 999, 0xFFFF, 0, 0) + b"abcd", "UNKNOWN(999) len 20 flags REQUEST|MULTI|ACK|ECHO|DUMP_INTR|DUMP_FILTERED|0xffc0"),
    ],
)
def test_malformed_is_said(data, want):
    assert want in nl.decode(data)


def test_decoder_output_grows_past_the_first_guess():
    # tiny messages make far more text than the first buffer the binding tries
    done = struct.pack("=IHHIIi", 20, P.NLMSG_DONE, P.NLM_F_MULTI, 5, 0, 0)
    text = nl.decode(done * 3000)
    assert len(text) > 4096 + 8 * 20 * 3000
    assert text.count("DONE(3) len 20 flags MULTI (0x2) seq 5") == 3000
    assert "#3000 @59980 " in text and text.endswith("\n")
