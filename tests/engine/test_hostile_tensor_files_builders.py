"""Builders of hostile tensor files, shared by the hostile-file tests and ``tests/fuzz``.

The only tests here check the builders themselves (a bomb that did not
inflate would make its test pass for nothing).  Files are made from bytes,
not by the code under test:
zip archives are written by hand (so a member can declare any size and carry
any deflate stream), legacy torch files are ``torch.save`` output with numbers
patched, and pickles are opcodes.  :func:`probe` runs NetStudio on a file in a
child process whose address space is capped (``RLIMIT_AS``) and whose time is
limited, so a regression that allocates gigabytes or loops fails the test
instead of taking the machine down.
"""

from __future__ import annotations

import functools
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
MB = 1 << 20


# ---------------------------------------------------------------- zip archives


@dataclass
class Member:
    """One zip member: ``payload`` as written; ``size``/``crc`` as declared (real ones by default)."""

    name: str
    payload: bytes
    method: int = zipfile.ZIP_STORED
    size: int | None = None
    crc: int | None = None


def torch_zip_members(obj, name: str = "archive") -> list[Member]:
    """The members of ``torch.save(obj)``, stored, under the folder ``name``."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        return [Member(f"{name}/{info.filename.split('/', 1)[1]}", archive.read(info)) for info in archive.infolist()]


def deflated(member: Member) -> Member:
    """``member`` compressed with raw DEFLATE."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Member(member.name, c.compress(member.payload) + c.flush(), zipfile.ZIP_DEFLATED,
                  len(member.payload), zlib.crc32(member.payload))


def zeros_bomb(name: str, chunks: int) -> Member:
    """A DEFLATE member that inflates to ``chunks`` x 16 MB of zeros from about 16 KB per chunk."""
    block, end = _zeros_block()
    # The CRC is left at 0: NetStudio refuses the member before inflating (and checking) anything.
    return Member(name, block * chunks + end, zipfile.ZIP_DEFLATED, chunks * 16 * MB, 0)


@functools.lru_cache(maxsize=1)
def _zeros_block() -> tuple[bytes, bytes]:
    """16 MB of zeros deflated after a full flush (so every repetition's bytes are equal), and the end."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(bytes(16 * MB)) + c.flush(zlib.Z_FULL_FLUSH), c.flush()


def zip_bytes(members: list[Member]) -> bytes:
    """A zip archive of ``members`` exactly as given (no ZIP64: sizes below 4 GB)."""
    out = io.BytesIO()
    central = []
    for m in members:
        name = m.name.encode()
        size = len(m.payload) if m.size is None else m.size
        crc = zlib.crc32(m.payload) if m.crc is None else m.crc
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, m.method, 0, 0, crc, len(m.payload),
                              size & 0xFFFFFFFF, len(name), 0) + name + m.payload)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, m.method, 0, 0, crc,
                                   len(m.payload), size & 0xFFFFFFFF, len(name), 0, 0, 0, 0, 0, offset) + name)
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory), start, 0))
    return out.getvalue()


def write_zip(path: Path, members: list[Member]) -> Path:
    path.write_bytes(zip_bytes(members))
    return path


def replace_member(members: list[Member], suffix: str, member: Member) -> list[Member]:
    return [member if m.name.endswith(suffix) else m for m in members]


# ---------------------------------------------------------------- pickles and legacy files


def legacy_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()


def long1(value: int) -> bytes:
    """The LONG1 opcode for ``value``."""
    data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


MARKED_NUMEL = 0x1234  # a tensor of this many elements: its storage's numel pickles as BININT2 then NONE


def legacy_with_numel(numel: int) -> bytes:
    """A legacy file of one float tensor whose pickle declares a storage of ``numel`` elements
    (its data still holds ``MARKED_NUMEL``)."""
    data = legacy_bytes({"w": torch.zeros(MARKED_NUMEL)})
    marker = b"M" + struct.pack("<H", MARKED_NUMEL) + b"N"  # numel, then view_metadata None
    assert data.count(marker) == 1
    return data.replace(marker, long1(numel) + b"N")


def zip_with_pickle(path: Path, data_pkl: bytes, extra: list[Member] | None = None) -> Path:
    """A torch zip archive whose ``data.pkl`` is ``data_pkl`` (other records from a real file)."""
    members = torch_zip_members({})
    members = replace_member(members, "/data.pkl", Member("archive/data.pkl", data_pkl))
    return write_zip(path, members + (extra or []))


def billion_laughs(levels: int, key: str | None = None) -> bytes:
    """A pickle of lists each holding the previous one twice: 2**levels leaves in a few bytes per
    level; with ``key``, the outermost list is the value of that key in a dict."""
    out = bytearray(b"\x80\x02]q\x00(K\x01K\x02e")  # L0 = [1, 2]: a leaf (plain values)
    for i in range(1, levels + 1):
        out += b"]q" + bytes([i]) + b"(h" + bytes([i - 1]) + b"h" + bytes([i - 1]) + b"e"
    if key is not None:
        out += b"}X" + struct.pack("<I", len(key)) + key.encode() + b"h" + bytes([levels]) + b"s"
    return bytes(out + b".")


def nested_dicts(depth: int) -> bytes:
    """A pickle of ``depth`` dicts, each the only value (key "k") of the one outside it, around 1.5."""
    out = bytearray(b"\x80\x02")
    out += b"}X\x01\x00\x00\x00k" * depth  # stack: d1, "k", d2, "k", ..., dN, "k"
    out += b"G" + struct.pack(">d", 1.5)
    out += b"s" * depth  # each SETITEM puts the value into the dict below it
    return bytes(out + b".")


def self_holding_list() -> bytes:
    """A pickle of a list that contains itself (and a number, so it is walked)."""
    return b"\x80\x02]q\x00(h\x00K\x01e."


# ---------------------------------------------------------------- safetensors


def safetensors_bytes(header: dict | bytes, data: bytes = b"", length: int | None = None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


# ---------------------------------------------------------------- a capped child process

_PROBE = r"""
import contextlib, io, json, os, resource, sys
import torch
from netstudio import cli
from netstudio.errors import NetStudioError
from netstudio.files.checkpoint import open_checkpoint
from netstudio.files.tensor_io import load_tensors
from netstudio.files.weights_import import import_weights
action, headroom, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
with open("/proc/self/statm") as f:
    vsz = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (vsz + headroom, resource.getrlimit(resource.RLIMIT_AS)[1]))
for path in paths:
    if action.startswith("inspect"):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["inspect", path] + (["--json"] if action == "inspect-json" else []))
        result = {"code": code, "out": out.getvalue(), "err": err.getvalue()}
    else:
        try:
            if action == "load":
                load_tensors(path)
            elif action == "import":
                import_weights(torch.nn.Linear(2, 2), path)
            else:
                for entry in open_checkpoint(path).tensors():
                    entry.load()
            result = {"outcome": "loaded"}
        except NetStudioError as error:
            result = {"outcome": type(error).__name__, "message": str(error)}
    print(json.dumps(result), flush=True)
"""


def probe(action: str, *paths: Path, headroom: int = 768 * MB, timeout: float = 90) -> list[dict]:
    """Run ``action`` ("load", "open", "import", "inspect" or "inspect-json") on each of ``paths`` in one child
    process allowed ``headroom`` bytes of address space beyond what importing torch took; one result
    per path: ``{"outcome", "message"}``, or for inspect ``{"code", "out", "err"}``.  A child that
    fails (out of memory, a crash, a traceback) fails the calling test with its stderr."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("NETSTUDIO_MEMORY_BUDGET", None)
    done = subprocess.run([sys.executable, "-c", _PROBE, action, str(headroom), *map(str, paths)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0 and not done.stderr, done.stderr[-3000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == len(paths), done.stdout[-3000:]
    return results


def one_sentence(message: str) -> bool:
    return bool(message) and message.endswith(".") and "\n" not in message.strip() and "Traceback" not in message


_CAPPED = r"""
import os, resource, sys
import torch
import netstudio.files.checkpoint, netstudio.tensors.stats, netstudio.tensors.view2d
with open("/proc/self/statm") as f:
    vsz = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (vsz + int(sys.argv[1]), resource.getrlimit(resource.RLIMIT_AS)[1]))
"""


def run_capped(snippet: str, headroom: int = 768 * MB, timeout: float = 90) -> str:
    """Run ``snippet`` (Python with plain ``assert``s) in a child process capped like :func:`probe`,
    for checks on tensors of 2**40 elements that a regression would try to materialise or walk;
    fails the calling test with the child's traceback.  Returns its stdout."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("NETSTUDIO_MEMORY_BUDGET", None)
    done = subprocess.run([sys.executable, "-c", _CAPPED + snippet, str(headroom)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


# ---------------------------------------------------------------- the builders build what they say


def test_a_zeros_bomb_inflates_to_what_it_declares():
    member = zeros_bomb("archive/data/0", 4)
    inflate, total = zlib.decompressobj(-15), 0
    for start in range(0, len(member.payload), 4096):  # a piece at a time: 64 MB never held at once
        total += len(inflate.decompress(member.payload[start:start + 4096], 1 << 24))
        while inflate.unconsumed_tail:
            total += len(inflate.decompress(inflate.unconsumed_tail, 1 << 24))
    assert total == member.size == 64 * MB and inflate.eof and len(member.payload) < 70_000


def test_written_zips_are_read_by_zipfile_and_torch(tmp_path):
    w = torch.arange(6.0)
    path = write_zip(tmp_path / "w.pt", [deflated(m) for m in torch_zip_members({"w": w})])
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    with open(path, "rb") as f:  # a compressed archive cannot be mapped
        assert torch.equal(torch.load(f, weights_only=True)["w"], w)


def test_patched_legacy_files_declare_the_numel_asked_for():
    from netstudio.files.pickle_scan import scan_pickle
    data = legacy_with_numel(2**40)
    pos, storages = 0, []
    for _ in range(5):
        pos = scan_pickle(data, pos, storages=storages).end
    assert [pid[4] for pid in storages] == [2**40] and len(data) - pos == 8 + 4 * MARKED_NUMEL
