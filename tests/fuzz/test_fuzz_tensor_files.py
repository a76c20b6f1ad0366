"""Fuzzing tensor files (issue #8): whatever the bytes, reading ends in tensors or one sentence.

Three families of inputs, each drawn by hypothesis:

* safetensors: consistent headers over random bytes (every dtype, empty and
  odd shapes, NetStudio's own metadata), then one damage: any header field
  replaced by a hostile value, the JSON replaced or nested, the length field
  lied about, bytes flipped, the file cut or extended;
* torch zip archives: ``torch.save`` of random checkpoints (expanded and
  strided views, sparse, quantized and meta tensors, non-finite values,
  nested containers), then members deflated, declared sizes and methods
  changed, members dropped or doubled, bytes flipped, any integer in
  ``data.pkl`` (numel, sizes, strides, offsets) replaced by a hostile one,
  ``data.pkl`` replaced by pickles built from opcodes, the archive cut;
* legacy (pre-1.6) files and plain pickles: the same checkpoints and integer
  replacements across the five pickles, storage size fields corrupted, cuts.

For each file, ``load_tensors``, ``open_checkpoint`` (then every tensor's
``load``, ``display_tensor`` and ``heatmap_view``) and ``netstudio inspect
--json`` must return or raise a ``NetStudioError`` whose message is one line;
``inspect`` exits 0 with strict JSON or 2 with one ``netstudio:`` line, never
"unexpected error"; nothing NetStudio does may warn.  Each family runs in a
child process whose address space is capped at what importing torch took plus
:data:`HEADROOM`, with the memory budget at 64 MB, each file limited to
:data:`SECONDS` and the whole run to a few minutes, so a bomb fails the test
instead of the machine.  The child counts files tried and outcomes (loaded,
unsafe, too large, damaged); ``pytest -s`` prints them.  ``FUZZ_EXAMPLES``
(default 250 per family) and ``FUZZ_SEED`` change the run.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import pickletools
import re
import resource
import signal
import struct
import subprocess
import sys
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.engine.test_hostile_tensor_files_builders import (
    ROOT, Member, deflated, legacy_bytes, long1, safetensors_bytes, zeros_bomb, zip_bytes)

FAMILIES = ("safetensors", "torch-zip", "legacy")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 250))
SEED = int(os.environ.get("FUZZ_SEED", 8))
SECONDS = 20
HEADROOM = 1 << 30
BUDGET = 64 << 20


@pytest.mark.parametrize("family", FAMILIES)
def test_fuzz_tensor_files(family, tmp_path, record_property):
    done = subprocess.run([sys.executable, "-m", "tests.fuzz.test_fuzz_tensor_files", family, str(EXAMPLES),
                           str(SEED), str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-6000:]
    figures = json.loads(done.stdout.splitlines()[-1])
    print(f"\nfuzz {family}: {figures}")
    record_property(f"fuzz-{family}", json.dumps(figures))
    outcomes = figures["open_checkpoint"]
    assert figures["tried"] >= EXAMPLES and sum(outcomes.values()) == figures["tried"]
    assert outcomes.get("loaded", 0) > 0 and outcomes.get("damaged", 0) > 0  # the inputs reach both sides


# ---------------------------------------------------------------- what is checked for every file


def outcome(error: BaseException | None) -> str:
    from netstudio.errors import FileFormatError, NetStudioError, UnsafeFileError
    from netstudio.files.bounds import FileTooLargeError
    if error is None:
        return "loaded"
    assert isinstance(error, NetStudioError), f"{type(error).__name__}: {error}"
    message = str(error)
    assert message and "\n" not in message and message.endswith("."), repr(message)
    for kind, name in ((UnsafeFileError, "unsafe"), (FileTooLargeError, "too large"), (FileFormatError, "damaged")):
        if isinstance(error, kind):
            return name
    return "refused"


class TooSlow(BaseException):
    """Raised by the alarm; a BaseException, so no ``except Exception`` in NetStudio can turn it into a refusal."""


def _too_slow(*_) -> None:
    raise TooSlow(f"a file took over {SECONDS} s")


def _not_json(token: str):
    raise AssertionError(f"{token} is not JSON")


def attempt(action) -> BaseException | None:
    try:
        action()
    except Exception as err:  # judged by ``outcome``: only NetStudioError with one line passes
        return err
    return None


def check_file(path: Path, figures: dict[str, Counter]) -> None:
    from netstudio.cli import main
    from netstudio.errors import NetStudioError
    from netstudio.files.checkpoint import open_checkpoint
    from netstudio.files.tensor_io import load_tensors
    from netstudio.tensors.layout import display_tensor
    from netstudio.tensors.view2d import heatmap_view

    def listing():
        for entry in open_checkpoint(path).tensors():
            tensor = entry.load()
            figures["tensors"][entry.note.split(" ")[0] if entry.note else entry.layout] += 1
            for draw in (lambda: heatmap_view(display_tensor(tensor, 1 << 16)), lambda: heatmap_view(tensor)):
                try:
                    draw()
                except NetStudioError as err:  # a tensor that cannot be drawn says why in one line
                    assert "\n" not in str(err) and str(err).endswith("."), str(err)

    signal.alarm(SECONDS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing NetStudio does may reach the user as a warning
            load_error, open_error = attempt(lambda: load_tensors(path)), attempt(listing)
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["inspect", str(path), "--json"])
    finally:
        signal.alarm(0)
    figures["load_tensors"][outcome(load_error)] += 1
    figures["open_checkpoint"][outcome(open_error)] += 1
    if load_error is not None:  # refused the same way twice in a row: nothing leaks from one load to the next
        assert str(open_error) == str(load_error), (load_error, open_error)
    if code == 0:
        json.loads(out.getvalue(), parse_constant=_not_json)
    else:
        assert code == 2 and out.getvalue() == "" and err.getvalue().count("\n") == 1, err.getvalue()
        assert err.getvalue().startswith("netstudio: ") and "unexpected error" not in err.getvalue(), err.getvalue()
    figures["inspect"]["exit 0" if code == 0 else "exit 2"] += 1


# ---------------------------------------------------------------- checkpoints


def _tensor(kind: str, dtype: torch.dtype, shape: list[int], repeat: int) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that quantized and sparse tensors are deprecated or beta
        return _make_tensor(kind, dtype, shape, repeat)


def _make_tensor(kind: str, dtype: torch.dtype, shape: list[int], repeat: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(len(shape))  # values the same on every run, for hypothesis
    base = torch.randn(shape, dtype=torch.complex64 if dtype.is_complex else torch.float32, generator=g).to(dtype)
    if kind == "expanded":
        return base.reshape(-1)[:1].expand(repeat, 2) if base.numel() else torch.ones(1).expand(repeat)
    if kind == "strided":
        return torch.arange(30.0).reshape(6, 5)[::2, 1:].t()
    if kind == "sparse":
        return torch.tensor([[0.0, 1.5], [float("nan"), 0.0]]).to_sparse()
    if kind == "quantized":
        return torch.quantize_per_tensor(torch.randn(shape, generator=g), 0.1, 3, torch.quint8)
    if kind == "meta":
        return torch.empty(shape, device="meta")
    if kind == "special":
        return torch.tensor([float("inf"), float("-inf"), float("nan"), 3e38, -0.0, 1e-45])
    return base


DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int8, torch.uint8,
          torch.bool, torch.complex64]
KINDS = ["expanded", "dense", "strided", "sparse", "quantized", "meta", "special", "dense"]
tensors = st.builds(_tensor, st.sampled_from(KINDS), st.sampled_from(DTYPES), st.lists(st.integers(0, 4), max_size=3),
                    st.sampled_from([2, 2**20, 2**40]))
plain = st.one_of(st.floats(), st.integers(-2**70, 2**70), st.text(max_size=4), st.none(),
                  st.lists(st.floats(), max_size=3))
keys = st.sampled_from(["w", "b", "model", "0", "a.b", ""])
leaves = st.one_of(tensors, tensors, tensors, plain)
checkpoints = st.dictionaries(keys, st.one_of(leaves, st.lists(leaves, max_size=3),
                                              st.dictionaries(keys, leaves, max_size=3)), min_size=1, max_size=4)


def torch_save(obj, legacy: bool) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if legacy:  # storage keys are memory addresses: made the same on every run, for hypothesis
            keys: dict[bytes, bytes] = {}
            return re.sub(rb"X(....)(\d{6,20})", lambda m: _stable_key(m, keys), legacy_bytes(obj))
        buffer = io.BytesIO()
        torch.save(obj, buffer)
        return buffer.getvalue()


def _stable_key(match: re.Match, keys: dict[bytes, bytes]) -> bytes:
    if struct.unpack("<I", match.group(1))[0] != len(match.group(2)):
        return match.group(0)
    key = keys.setdefault(match.group(2), b"%020d" % len(keys))
    return b"X" + struct.pack("<I", len(key)) + key


# ---------------------------------------------------------------- damage shared by the families

DAMAGE: Counter = Counter()  # which damage each file got, for the figures


def damage(draw, options: list[str]) -> str:
    how = draw(st.sampled_from(options))
    DAMAGE[how] += 1
    return how


HOSTILE_INTS = st.one_of(st.sampled_from([-1, 0, 1, 2, 3, 255, 2**16, 2**31 - 1, 2**31, 2**32, 2**40, 2**62,
                                          2**63 - 1, 2**64, -2**63]), st.integers(-5, 70))


def encode_int(value: int) -> bytes:
    if 0 <= value < 256:
        return b"K" + bytes([value])
    if 0 <= value < 65536:
        return b"M" + struct.pack("<H", value)
    if -(2**31) <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    return long1(value)


def int_spans(data: bytes, pickles: int) -> list[tuple[int, int]]:
    """(start, end) of every integer opcode in the first ``pickles`` pickles of ``data``."""
    spans, stream = [], io.BytesIO(data)
    try:
        for _ in range(pickles):
            ops = list(pickletools.genops(stream))
            ends = [pos for _, _, pos in ops[1:]] + [stream.tell()]
            spans += [(pos, end) for (op, _, pos), end in zip(ops, ends) if op.name in ("BININT", "BININT1",
                                                                                       "BININT2", "LONG1")]
    except Exception:  # fewer pickles than asked, or a damaged one: what was found so far
        pass
    return spans


@st.composite
def damaged_bytes(draw, data: bytes) -> bytes:
    """``data`` with a few bytes flipped, cut, or extended."""
    how = damage(draw, ["flip", "cut", "extend"])
    if how == "cut" or not data:
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    if how == "extend":
        return data + draw(st.binary(min_size=1, max_size=64))
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


@st.composite
def pickled_ints_replaced(draw, data: bytes, pickles: int) -> bytes:
    spans = int_spans(data, pickles)
    for _ in range(draw(st.integers(1, 3)) if spans else 0):
        start, end = draw(st.sampled_from(spans))
        data = data[:start] + encode_int(draw(HOSTILE_INTS)) + data[end:]
        spans = int_spans(data, pickles)
    return data


OPCODES = [b"}", b"]", b")", b"(", b"t", b"\x85", b"\x86", b"a", b"e", b"s", b"u", b"N", b"\x88", b"R", b"b",
           b"\x81", b"Q", b"\x8f", b"K\x05", b"J\xff\xff\xff\x7f", b"M\x00\x01", b"X\x07\x00\x00\x00storage",
           b"X\xff\xff\xff\xff", b"U\x03cpu", b"G" + struct.pack(">d", math.inf), b"q\x00", b"h\x00", b"h\x07",
           b"j\xff\xff\xff\xff", b"r\xff\xff\xff\xff", b"ctorch._utils\n_rebuild_tensor_v2\n",
           b"ctorch\nFloatStorage\n", b"ccollections\nOrderedDict\n", b"cos\nsystem\n", long1(2**40), b"\x95",
           b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu" + long1(2**40)
           + b"tQ"]
opcode_pickles = st.lists(st.sampled_from(OPCODES), max_size=30).map(lambda ops: b"\x80\x02" + b"".join(ops) + b".")


@st.composite
def strided_views(draw) -> list[Member]:
    """An archive of one tensor built by ``_rebuild_tensor_v2`` with drawn storage numel, offset, size
    and stride over a record of drawn length: expanded, overlapping and out-of-bounds views."""
    elements = draw(st.sampled_from([2**14, 64, 4, 1, 0]))
    dim = st.sampled_from([2, 3, 5, 64, 2**10, 2**13, 2**20, 2**40, 0, 1])
    ndim = draw(st.integers(0, 4))
    size = draw(st.lists(dim, min_size=ndim, max_size=ndim))
    stride = draw(st.lists(st.sampled_from([1, 0, 1, 0, 2, 3, 64, 2**20]), min_size=ndim, max_size=ndim))
    numel = draw(st.one_of(st.just(elements), st.just(elements), st.just(elements), HOSTILE_INTS))

    def ints(values) -> bytes:
        return b"(" + b"".join(map(encode_int, values)) + b"t"

    pickle = (b"\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
              b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu" + encode_int(numel) + b"tQ"
              + encode_int(draw(st.sampled_from([0, 1, 3, 2**20]))) + ints(size) + ints(stride)
              + b"\x89ccollections\nOrderedDict\n)RtRs.")
    base = _zip_members(torch_save({}, legacy=False))
    base = [Member("archive/data.pkl", pickle) if m.name.endswith("/data.pkl") else m for m in base]
    values = torch.arange(float(elements)).numpy().astype("<f4").tobytes()
    return base + [Member("archive/data/0", values)]


# ---------------------------------------------------------------- the three families


@st.composite
def safetensors_files(draw) -> bytes:
    from netstudio.files.tensor_io import SAFETENSORS_DTYPES
    header, offset = {}, 0
    for i in range(draw(st.integers(0, 4))):
        code = draw(st.sampled_from(sorted(SAFETENSORS_DTYPES)))
        shape = draw(st.lists(st.integers(0, 5), max_size=3))
        size = math.prod(shape) * SAFETENSORS_DTYPES[code].itemsize
        header[f"t{i}"] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    if draw(st.booleans()):
        names = list(header)
        header["__metadata__"] = {"netstudio": json.dumps({"kind": "dict", "names": names, "aliases": {}})}
    data = draw(st.binary(min_size=offset, max_size=offset))
    how = damage(draw, ["field", "metadata", "json", "length", "bytes", "none"])
    length = None
    if how == "field" and header:
        entry = header[draw(st.sampled_from(sorted(header)))]
        hostile = st.one_of(HOSTILE_INTS, st.lists(HOSTILE_INTS, max_size=4), st.text(max_size=4), st.floats(),
                            st.none(), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
        entry[draw(st.sampled_from(["dtype", "shape", "data_offsets", "extra"]))] = draw(hostile)
    elif how == "metadata":
        header["__metadata__"] = draw(st.one_of(st.dictionaries(st.text(max_size=3), HOSTILE_INTS, max_size=2),
                                                st.lists(st.text(max_size=2), max_size=2), st.text(max_size=3)))
    elif how == "json":
        depth = draw(st.integers(1, 200_000))
        raw = draw(st.one_of(st.binary(max_size=40), st.just(b"[" * depth + b"]" * depth),
                             st.just(b'{"a": ' * depth + b"1" + b"}" * depth)))
        return safetensors_bytes(raw, data)
    elif how == "length":
        length = draw(st.sampled_from([0, 1, 7, 2**31, 2**63, 2**64 - 1])) if draw(st.booleans()) else \
            len(json.dumps(header)) + draw(st.integers(-8, 8))
        length = max(length, 0)
    built = safetensors_bytes(header, data, length)
    return draw(damaged_bytes(built)) if how == "bytes" else built


@st.composite
def torch_zip_files(draw) -> bytes:
    members = _zip_members(torch_save(draw(checkpoints), legacy=False))
    how = damage(draw, ["ints", "views", "deflate", "bomb", "size", "method", "drop", "double", "opcodes", "bytes",
                        "none"])
    if how == "views":
        return zip_bytes(draw(strided_views()))
    index = draw(st.integers(0, len(members) - 1))
    member = members[index]
    if how == "deflate":
        members = [deflated(m) if draw(st.booleans()) else m for m in members]
    elif how == "bomb":  # 16 MB to 128 MB of zeros packed about 1000 to 1
        members[index] = zeros_bomb(member.name, draw(st.integers(1, 8)))
    elif how == "size":
        member.size = draw(st.sampled_from([0, 1, len(member.payload) + 1, 2**31, 2**32 - 1]))
    elif how == "method":
        member.method = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, 99]))
    elif how == "drop":
        del members[index]
    elif how == "double":
        members.append(member)
    elif how in ("ints", "opcodes"):
        pkl = next((m for m in members if m.name.endswith("/data.pkl")), member)
        pkl.payload = draw(pickled_ints_replaced(pkl.payload, 1)) if how == "ints" else draw(opcode_pickles)
    data = zip_bytes(members)
    return draw(damaged_bytes(data)) if how == "bytes" else data


@st.composite
def legacy_files(draw) -> bytes:
    if draw(st.integers(0, 5)) == 0:
        DAMAGE["plain pickle"] += 1
        return draw(opcode_pickles)  # a plain pickle, no torch framing
    try:
        data = torch_save(draw(checkpoints), legacy=True)
    except Exception:  # some tensors (meta, say) have no legacy form
        data = torch_save({"w": torch.arange(6.0)}, legacy=True)
    how = damage(draw, ["ints", "sizes", "bytes", "none"])
    if how == "ints":
        return draw(pickled_ints_replaced(data, 5))
    if how == "sizes":  # the element count written before a storage's bytes
        end = _after_pickles(data)
        if end is not None and end + 8 <= len(data):
            return data[:end] + struct.pack("<q", draw(HOSTILE_INTS.filter(lambda v: -2**63 <= v < 2**63))) + \
                data[end + 8:]
    return draw(damaged_bytes(data)) if how == "bytes" else data


FILES = {"safetensors": (safetensors_files, ".safetensors"), "torch-zip": (torch_zip_files, ".pt"),
         "legacy": (legacy_files, ".pt")}


def _zip_members(data: bytes) -> list[Member]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [Member(info.filename, archive.read(info)) for info in archive.infolist()]


def _after_pickles(data: bytes) -> int | None:
    stream = io.BytesIO(data)
    try:
        for _ in range(5):
            for _ in pickletools.genops(stream):
                pass
    except Exception:
        return None
    return stream.tell()


# ---------------------------------------------------------------- the child process


def run_family(family: str, examples: int, seed_value: int, folder: Path) -> dict:
    import netstudio.tensors.stats as stats
    import netstudio.tensors.view2d as view2d
    from netstudio.limits import set_memory_budget
    set_memory_budget(BUDGET)
    stats.EXACT_LIMIT, view2d.REPEAT_LIMIT = 1 << 20, 1 << 16  # the same paths, reached sooner
    with open("/proc/self/statm") as f:
        vsz = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (vsz + HEADROOM, resource.getrlimit(resource.RLIMIT_AS)[1]))
    signal.signal(signal.SIGALRM, _too_slow)
    figures = {"load_tensors": Counter(), "open_checkpoint": Counter(), "inspect": Counter(), "tensors": Counter(),
               "damage": DAMAGE}
    strategy, suffix = FILES[family]
    path = folder / f"fuzzed{suffix}"

    @seed(seed_value)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy())
    def fuzz(data: bytes) -> None:
        path.write_bytes(data)
        check_file(path, figures)

    fuzz()
    return {"tried": sum(figures["open_checkpoint"].values()), **{k: dict(v) for k, v in figures.items()}}


if __name__ == "__main__":
    family, examples, seed_value, folder = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    print(json.dumps(run_family(family, examples, seed_value, folder)))
