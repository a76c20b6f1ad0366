"""Crash-safe writes: the old file survives any failure, and nothing is left behind."""

import contextlib
import os
import subprocess
import sys
import textwrap

import pytest

from netstudio.errors import NetStudioError
from netstudio.files.atomic import atomic_write_bytes, atomic_writer, backup_path

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions and signals")


def test_writes_new_file_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"hello")
    assert target.read_bytes() == b"hello"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_replaces_existing_content(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old content that is longer")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"


def test_text_mode_writes_utf8(tmp_path):
    target = tmp_path / "a.txt"
    with atomic_writer(target, "w") as f:
        f.write("héllo")
    assert target.read_bytes() == "héllo".encode()


def test_exception_mid_write_keeps_old_file_and_removes_temp(tmp_path):
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"precious")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_writer(target) as f:
            f.write(b"half of the new da")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["model.safetensors"]


@posix_only
def test_killed_process_mid_write_keeps_old_file(tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"precious")
    script = textwrap.dedent(
        f"""
        import os, signal
        from netstudio.files.atomic import atomic_writer
        with atomic_writer({str(target)!r}) as f:
            f.write(b"x" * 100_000)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd())
    assert proc.returncode == -9
    assert target.read_bytes() == b"precious"


def test_backup_keeps_previous_version(tmp_path):
    target = tmp_path / "net.pt"
    atomic_write_bytes(target, b"v1", backup=True)
    assert not backup_path(target).exists()  # nothing to back up yet
    atomic_write_bytes(target, b"v2", backup=True)
    atomic_write_bytes(target, b"v3", backup=True)
    assert target.read_bytes() == b"v3"
    assert (tmp_path / "net.pt.bak").read_bytes() == b"v2"
    assert sorted(os.listdir(tmp_path)) == ["net.pt", "net.pt.bak"]


def test_failed_write_with_backup_touches_neither_file(tmp_path):
    target = tmp_path / "net.pt"
    atomic_write_bytes(target, b"v1")
    atomic_write_bytes(target, b"v2", backup=True)
    with pytest.raises(ValueError):
        with atomic_writer(target, backup=True) as f:
            f.write(b"v3")
            raise ValueError
    assert target.read_bytes() == b"v2"
    assert backup_path(target).read_bytes() == b"v1"


@posix_only
def test_new_file_gets_umask_permissions_and_existing_mode_is_kept(tmp_path):
    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh"
        atomic_write_bytes(fresh, b"x")
        assert fresh.stat().st_mode & 0o777 == 0o644
        private = tmp_path / "private"
        private.write_bytes(b"x")
        private.chmod(0o600)
        atomic_write_bytes(private, b"y")
        assert private.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


@posix_only
def test_writes_through_a_symlink(tmp_path):
    real = tmp_path / "real.bin"
    real.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"


def test_os_error_becomes_one_sentence(tmp_path):
    with pytest.raises(NetStudioError) as info:
        atomic_write_bytes(tmp_path / "no" / "such" / "dir.bin", b"x")
    message = str(info.value)
    assert "dir.bin" in message and message.endswith(".") and "\n" not in message


def test_rejects_other_modes(tmp_path):
    with pytest.raises(NetStudioError):
        with atomic_writer(tmp_path / "a", "ab"):
            pass


# ---------------------------------------------------------------- litter of dead writers (issue #8, part 5)

from netstudio.files import atomic  # noqa: E402
from netstudio.files.atomic import sweep_stale_temp_files  # noqa: E402

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


def test_a_full_disk_at_fsync_is_one_sentence_naming_the_file(tmp_path, monkeypatch):
    import errno
    target = tmp_path / "net.netstudio"
    atomic_write_bytes(target, b"v1")
    atomic_write_bytes(target, b"v2", backup=True)

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(NetStudioError) as info:
        atomic_write_bytes(target, b"v3", backup=True)
    assert str(info.value) == "Could not save 'net.netstudio': No space left on device."
    monkeypatch.undo()
    assert target.read_bytes() == b"v2" and backup_path(target).read_bytes() == b"v1"
    assert sorted(os.listdir(tmp_path)) == ["net.netstudio", "net.netstudio.bak"]
