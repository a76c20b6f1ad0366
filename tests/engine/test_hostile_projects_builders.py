"""Builders of hostile files, shared by the hostile tests and the fuzz suite, and their own tests.

``raw_zip`` writes a zip by hand so its headers can lie; ``deflate_zeros_bomb``
and ``BZIP2_2GB_OF_SPACES`` are archive bombs that take no time to build.
"""

from __future__ import annotations

import bz2
import json
import struct
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "resources" / "examples" / "mlp.netstudio"

# bzip2 of 2 GiB of spaces (crc32 0x51cde36f): 1,522 bytes that inflate a million-fold.  Every block of
# spaces compresses to the same 32 bytes: 46 of them, then a shorter last block and the end of the stream.
# Regenerate with: c = bz2.BZ2Compressor(9); b"".join(c.compress(b" " * (64 << 20)) for _ in range(32)) + c.flush()
_BZIP2_BLOCK_OF_SPACES = bytes.fromhex("314159265359b52265bf015f8e1000c0000008200030804d4642a025a90a8097")
BZIP2_2GB_OF_SPACES = b"BZh9" + _BZIP2_BLOCK_OF_SPACES * 46 + bytes.fromhex(
    "314159265359395457f60114a51080c00000040008200030cc0529a6489121b1489121e2ee48a70a1201dbab1580")
BZIP2_2GB_CRC = 0x51CDE36F


def mlp_with(path: list, raw: str) -> str:
    """The mlp example with the value at ``path`` replaced by the raw JSON text ``raw``."""
    data = json.loads(MLP.read_text())
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = "@@X@@"
    return json.dumps(data).replace('"@@X@@"', raw)


def raw_zip(members: list[dict], *, repeat_directory: int = 1) -> bytes:
    """A zip written by hand, so its headers can lie.

    Each member is ``{"name", "data"}`` (bytes exactly as stored) with optional
    ``"method"`` (0 stored, 8 deflate, 12 bzip2), ``"size"`` (declared
    inflated size), ``"csize"`` (declared stored size), ``"crc"`` and ``"flags"``.
    ``repeat_directory`` repeats the central directory entries (a table of
    contents bomb).
    """
    body, directory = bytearray(), bytearray()
    for m in members:
        name = m["name"].encode()
        data = m["data"]
        method = m.get("method", 0)
        version = {0: 20, 8: 20, 12: 46, 14: 63}.get(method, 20)
        size = m.get("size", len(data) if method == 0 else len(data))
        csize = m.get("csize", len(data))
        crc = m.get("crc", zlib.crc32(data) if method == 0 else 0)
        flags = m.get("flags", 0x800)
        offset = len(body)
        body += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", version, 0, flags, method, 0, 0x21, crc,
                            csize, size, len(name), 0) + name + data
        directory += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", version, 3, version, 0, flags, method, 0,
                                 0x21, crc, csize, size, len(name), 0, 0, 0, 0, 0o644 << 16, offset) + name
    count = len(members) * repeat_directory
    directory = bytes(directory) * repeat_directory
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                      len(directory), len(body), 0)
    return bytes(body) + directory + end


def deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def deflate_zeros_bomb(prefix: bytes, zeros: int, piece: int = 64 << 20) -> bytes:
    """A raw deflate stream of ``prefix`` then ``zeros`` zero bytes, built without compressing them all:
    after a full flush the compressor forgets everything, so each piece compresses to the same bytes."""
    assert zeros % piece == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(piece)) + c.flush(zlib.Z_FULL_FLUSH)
    return head + block * (zeros // piece) + c.flush()


def safetensors_header(name: str, nbytes: int) -> bytes:
    header = json.dumps({name: {"dtype": "U8", "shape": [nbytes], "data_offsets": [0, nbytes]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header


def stored_weights(nbytes: int) -> bytes:
    return safetensors_header("w", nbytes) + bytes(nbytes)


# ------------------------------------------------------------------ the bomb builders themselves


def test_the_deflate_bomb_builder_makes_a_valid_stream():
    small = deflate_zeros_bomb(b"head", 4 << 10, piece=1 << 10)
    assert zlib.decompress(small, -15) == b"head" + bytes(4 << 10)


def test_the_raw_zip_builder_makes_a_valid_archive(tmp_path):
    path = tmp_path / "a.zip"
    text = b"hello " * 1000
    path.write_bytes(raw_zip([{"name": "a.txt", "data": text},
                              {"name": "b.txt", "data": deflate_raw(text), "method": 8, "size": len(text),
                               "crc": zlib.crc32(text)}]))
    with zipfile.ZipFile(path) as z:
        assert z.read("a.txt") == text and z.read("b.txt") == text
    assert bz2.BZ2Decompressor().decompress(BZIP2_2GB_OF_SPACES, max_length=1 << 20) == b" " * (1 << 20)
