"""Litter of dead writers: a killed save's temporary file is swept, a live writer's never (issue #8, part 5)."""

import contextlib
import os
import subprocess
import sys

import pytest

from netstudio.files import atomic
from netstudio.files.atomic import atomic_write_bytes, sweep_stale_temp_files

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions and signals")

DIE_MID_WRITE = """
import os, signal, sys
from netstudio.files.atomic import atomic_writer
with atomic_writer(sys.argv[1]) as f:
    f.write(b"x" * 100_000)
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""

WAIT_MID_WRITE = """
import sys
from netstudio.files.atomic import atomic_writer
with atomic_writer(sys.argv[1]) as f:
    f.write(b"x" * 100_000)
    f.flush()
    print("writing", flush=True)
    sys.stdin.readline()
"""


@contextlib.contextmanager
def writer_in_the_middle_of_a_save(target):
    """Another process, holding its temporary file for ``target`` open until told to go on."""
    with subprocess.Popen([sys.executable, "-c", WAIT_MID_WRITE, str(target)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, cwd=os.getcwd()) as proc:
        try:
            assert proc.stdout.readline() == "writing\n"
            yield proc
        finally:
            proc.kill()


def temp_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def dead_writer(target):
    proc = subprocess.run([sys.executable, "-c", DIE_MID_WRITE, str(target)], cwd=os.getcwd())
    assert proc.returncode == -9
    left = temp_files(target.parent)
    assert len(left) == 1 and left[0].startswith(f".{target.name}.netstudio-")
    return target.parent / left[0]


@posix_only
def test_the_next_save_of_the_same_file_removes_a_dead_writers_temp_file(tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"precious")
    dead_writer(target)
    atomic_write_bytes(target, b"new", backup=True)
    assert sorted(os.listdir(tmp_path)) == ["model.pt", "model.pt.bak"]


@posix_only
def test_sweeping_removes_dead_writers_files_only(tmp_path):
    target, other = tmp_path / "a.netstudio", tmp_path / "b.netstudio"
    litter = dead_writer(target)
    foreign = [tmp_path / ".notes.txt.deadbeef.tmp", tmp_path / "x.tmp", tmp_path / ".a.netstudio.netstudio-xyz.tmp"]
    for path in foreign:
        path.write_bytes(b"not ours")
    assert sweep_stale_temp_files(tmp_path, names=[other.name]) == []
    assert sweep_stale_temp_files(tmp_path) == [litter]
    assert all(path.exists() for path in foreign)
    assert sweep_stale_temp_files(tmp_path / "missing") == []


@posix_only
def test_an_older_netstudios_temp_files_are_swept_by_name(tmp_path):
    old = tmp_path / ".net.netstudio.1a2b3c4d.tmp"
    old.write_bytes(b"x")
    assert sweep_stale_temp_files(tmp_path) == []
    assert sweep_stale_temp_files(tmp_path, names=["net.netstudio"]) == [old]


@contextlib.contextmanager
def live_writer(folder):
    """``(target, process, its temp file's name)``: another process halfway through saving ``folder/net.netstudio``."""
    target = folder / "net.netstudio"
    with writer_in_the_middle_of_a_save(target) as proc:
        [live] = temp_files(folder)
        yield target, proc, live


@posix_only
@pytest.mark.skipif(atomic.fcntl is None, reason="needs fcntl")
def test_a_live_writers_temp_file_survives_sweeps_and_saves(tmp_path):
    with live_writer(tmp_path) as (target, proc, live):
        assert sweep_stale_temp_files(tmp_path) == []
        atomic_write_bytes(target, b"from another process")    # sweeps the same name first
        assert temp_files(tmp_path) == [live]
        proc.stdin.write("go on\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    assert target.read_bytes() == b"x" * 100_000 and temp_files(tmp_path) == []


@posix_only
@pytest.mark.skipif(atomic.fcntl is None, reason="needs fcntl")
def test_a_writer_killed_while_another_sweeps_is_swept_afterwards(tmp_path):
    with live_writer(tmp_path) as (target, proc, live):
        proc.kill()
    assert sweep_stale_temp_files(tmp_path, names=[target.name]) == [tmp_path / live]
    assert temp_files(tmp_path) == []


@posix_only
def test_without_locks_only_day_old_files_are_swept(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "fcntl", None)
    fresh, old = tmp_path / ".a.netstudio-0123abcd.tmp", tmp_path / ".b.netstudio-4567cdef.tmp"
    fresh.write_bytes(b"x")
    old.write_bytes(b"x")
    day_ago = os.stat(old).st_mtime - 24 * 3600 - 60
    os.utime(old, (day_ago, day_ago))
    assert sweep_stale_temp_files(tmp_path) == [old]
    atomic_write_bytes(tmp_path / "c", b"still works without locks")
    assert sorted(os.listdir(tmp_path)) == [".a.netstudio-0123abcd.tmp", "c"]


@posix_only
def test_a_fifo_or_a_symlink_named_like_a_temp_file_is_not_ours_and_survives(tmp_path, monkeypatch):
    fifo, link = tmp_path / ".a.netstudio-0123abcd.tmp", tmp_path / ".b.netstudio-4567cdef.tmp"
    os.mkfifo(fifo)
    link.symlink_to(tmp_path / "elsewhere")
    day_ago = os.lstat(link).st_mtime - 24 * 3600 - 60
    os.utime(link, (day_ago, day_ago), follow_symlinks=False)
    assert sweep_stale_temp_files(tmp_path) == []
    monkeypatch.setattr(atomic, "fcntl", None)          # by age too: a day-old link is still not ours
    assert sweep_stale_temp_files(tmp_path) == []
    assert fifo.exists() and link.is_symlink()
