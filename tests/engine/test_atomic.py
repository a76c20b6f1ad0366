"""Crash-safe writes: the old file survives any failure, and nothing is left behind."""

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
