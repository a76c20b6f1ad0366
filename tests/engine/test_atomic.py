"""Crash-safe writes: the old file survives any failure, and nothing is left behind."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from netstudio.errors import NetStudioError
from netstudio.files import atomic
from netstudio.files.atomic import atomic_write_bytes, atomic_writer, backup_path, sweep_stale_temp_files

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


# ---------------------------------------------------------------- the backup and failing writes (issue #9)

@posix_only
def test_the_backup_is_a_hard_link_to_the_old_file_not_a_copy(tmp_path):
    target = tmp_path / "net.pt"
    atomic_write_bytes(target, b"v1")
    old = os.stat(target)
    atomic_write_bytes(target, b"v2", backup=True)
    bak = os.stat(backup_path(target))
    assert (bak.st_dev, bak.st_ino) == (old.st_dev, old.st_ino)    # the old file itself, renamed
    assert bak.st_nlink == 1 and os.stat(target).st_ino != old.st_ino
    assert backup_path(target).read_bytes() == b"v1" and target.read_bytes() == b"v2"
    assert sorted(os.listdir(tmp_path)) == ["net.pt", "net.pt.bak"]


def test_where_hard_links_fail_the_backup_is_a_copy(tmp_path, monkeypatch):
    import errno
    target = tmp_path / "net.pt"
    atomic_write_bytes(target, b"v1")
    old = os.stat(target)

    def no_links(src, dst, *args, **kwargs):
        raise OSError(errno.EPERM, "hard links not supported")
    monkeypatch.setattr(os, "link", no_links)
    atomic_write_bytes(target, b"v2", backup=True)
    assert backup_path(target).read_bytes() == b"v1" and target.read_bytes() == b"v2"
    assert os.stat(backup_path(target)).st_ino != old.st_ino
    assert sorted(os.listdir(tmp_path)) == ["net.pt", "net.pt.bak"]


def test_a_foreign_file_on_the_staging_name_is_left_alone_and_another_name_tried(tmp_path, monkeypatch):
    target = tmp_path / "net.pt"
    atomic_write_bytes(target, b"v1")
    real_link, calls = os.link, []

    def taken_once(src, dst, *args, **kwargs):
        calls.append(dst)
        if len(calls) == 1:
            raise FileExistsError(dst)
        return real_link(src, dst, *args, **kwargs)
    monkeypatch.setattr(os, "link", taken_once)
    atomic_write_bytes(target, b"v2", backup=True)
    assert len(calls) == 2 and backup_path(target).read_bytes() == b"v1"


def test_a_staged_backup_swept_away_is_staged_again(tmp_path, monkeypatch):
    """A sweeper may delete the staged link before the rename: stage again (up to three times)."""
    target = tmp_path / "net.pt"
    atomic_write_bytes(target, b"v1")
    real_replace, lost = os.replace, []

    def sweeper_first(src, dst):
        if str(dst).endswith(".bak") and len(lost) < 2:
            os.unlink(src)
            lost.append(src)
        return real_replace(src, dst)
    monkeypatch.setattr(os, "replace", sweeper_first)
    atomic_write_bytes(target, b"v2", backup=True)
    assert len(lost) == 2 and backup_path(target).read_bytes() == b"v1" and target.read_bytes() == b"v2"
    lost.clear()

    def always_swept(src, dst):
        if str(dst).endswith(".bak"):
            os.unlink(src)
        return real_replace(src, dst)
    monkeypatch.setattr(os, "replace", always_swept)
    with pytest.raises(NetStudioError, match="Could not save 'net.pt'"):
        atomic_write_bytes(target, b"v3", backup=True)
    monkeypatch.undo()
    assert target.read_bytes() == b"v2" and sorted(os.listdir(tmp_path)) == ["net.pt", "net.pt.bak"]


def test_a_full_disk_at_fsync_of_a_new_file_leaves_nothing(tmp_path, monkeypatch):
    import errno
    target = tmp_path / "fresh.bin"
    calls = []

    def no_space(fd):
        calls.append(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(NetStudioError) as info:
        with atomic_writer(target, "w") as f:
            f.write("text")
    assert str(info.value) == "Could not save 'fresh.bin': No space left on device."
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert len(calls) == 1 and os.listdir(tmp_path) == []


def test_an_os_error_raised_inside_the_block_becomes_one_sentence_too(tmp_path):
    import errno
    target = tmp_path / "net.pt"
    target.write_bytes(b"precious")
    with pytest.raises(NetStudioError) as info:
        with atomic_writer(target, backup=True) as f:
            f.write(b"half")
            raise OSError(errno.EIO, "Input/output error.\n(details)")
    assert str(info.value) == "Could not save 'net.pt': Input/output error. (details)."
    assert target.read_bytes() == b"precious" and os.listdir(tmp_path) == ["net.pt"]


def test_after_the_rename_the_folder_is_fsynced(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else fd)
        return real_fsync(fd)
    monkeypatch.setattr(os, "fsync", spy)
    atomic_write_bytes(tmp_path / "a.bin", b"x")
    assert len(synced) == 2
    if os.path.exists("/proc/self/fd"):
        assert synced[1] == str(tmp_path.resolve())


# ---------------------------------------------------------------- locks, leaks and races (issue #9)

def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_one_save_leaves_no_descriptor_open(tmp_path):
    before = open_fds()
    atomic_write_bytes(tmp_path / "a.bin", b"x")       # the file, its lock and the folder's fsync
    assert open_fds() == before


def test_the_data_reaches_the_file_before_it_is_synced(tmp_path, monkeypatch):
    real_fsync, sizes = os.fsync, []

    def fsync(fd):
        sizes.append(os.fstat(fd).st_size)
        return real_fsync(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    atomic_write_bytes(tmp_path / "a.bin", b"z" * 100)  # less than a buffer: only a flush writes it
    assert sizes[0] == 100


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_saving_and_sweeping_leave_no_descriptor_open(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"x")
    before = open_fds()
    for n in range(5):
        atomic_write_bytes(target, b"y" * n, backup=True)
    (tmp_path / ".a.bin.netstudio-0123abcd.tmp").write_bytes(b"litter")
    assert sweep_stale_temp_files(tmp_path) == [tmp_path / ".a.bin.netstudio-0123abcd.tmp"]
    assert open_fds() == before


@posix_only
@pytest.mark.skipif(atomic.fcntl is None, reason="needs fcntl")
def test_the_temporary_file_is_flushed_synced_and_still_locked_at_the_rename(tmp_path, monkeypatch):
    """Data reaches the disk before the rename, and the lock outlives the file object up to the rename."""
    import fcntl
    target, data = tmp_path / "a.bin", b"z" * 100        # less than a buffer: only a flush writes it
    real_fsync, real_replace, seen = os.fsync, os.replace, {}

    def fsync(fd):
        seen.setdefault("sizes", []).append(os.fstat(fd).st_size)
        return real_fsync(fd)

    def replace(src, dst):
        probe = os.open(src, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
        seen["replaced"] = True
        return real_replace(src, dst)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with atomic_writer(target) as f:
        f.write(data)
    assert seen["replaced"] and seen["sizes"][0] == len(data)
    assert target.read_bytes() == data


def test_a_name_already_taken_is_skipped(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"
    taken = tmp_path / ".a.bin.netstudio-00000000.tmp"
    taken.write_bytes(b"someone else's")
    tokens = iter(["00000000", "11111111"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(tokens))
    monkeypatch.setattr(atomic, "sweep_stale_temp_files", lambda *a, **k: [])   # keep the foreign file
    atomic_write_bytes(target, b"mine")
    assert target.read_bytes() == b"mine" and taken.read_bytes() == b"someone else's"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_a_temporary_file_lost_to_a_sweeper_is_closed_and_another_made(tmp_path, monkeypatch):
    real_lock, calls = atomic._lock, []

    def lost_once(fd):
        calls.append(fd)
        return atomic._LOST if len(calls) == 1 else real_lock(fd)
    monkeypatch.setattr(atomic, "_lock", lost_once)
    before = open_fds()
    atomic_write_bytes(tmp_path / "a.bin", b"x")
    assert len(calls) == 2 and open_fds() == before
    assert (tmp_path / "a.bin").read_bytes() == b"x"


@posix_only
@pytest.mark.skipif(atomic.fcntl is None, reason="needs fcntl")
def test_lock_says_lost_when_another_holds_it_or_the_file_is_gone_and_none_without_locks(tmp_path, monkeypatch):
    import fcntl
    path = tmp_path / "f"
    path.write_bytes(b"")
    holder, fd = os.open(path, os.O_RDONLY), os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        assert atomic._lock(fd) is atomic._LOST
        os.close(holder)
        holder = None
        lock = atomic._lock(fd)
        assert isinstance(lock, int) and lock != fd
        os.close(lock)
    finally:
        if holder is not None:
            os.close(holder)
        os.close(fd)
    gone = os.open(path, os.O_RDONLY)
    try:
        os.unlink(path)
        assert atomic._lock(gone) is atomic._LOST
    finally:
        os.close(gone)

    def no_locks(fd, op):
        raise OSError(37, "No locks available")
    monkeypatch.setattr(fcntl, "flock", no_locks)
    other = tmp_path / "g"
    other.write_bytes(b"")
    fd = os.open(other, os.O_RDONLY)
    try:
        assert atomic._lock(fd) is None
    finally:
        os.close(fd)


@posix_only
@pytest.mark.skipif(atomic.fcntl is None, reason="needs fcntl")
def test_a_sweeper_spares_folders_and_goes_by_age_where_locks_fail(tmp_path, monkeypatch):
    import fcntl
    folder = tmp_path / ".a.netstudio-0123abcd.tmp"
    folder.mkdir()
    assert sweep_stale_temp_files(tmp_path) == [] and folder.exists()
    fresh, old = tmp_path / ".b.netstudio-4567cdef.tmp", tmp_path / ".c.netstudio-89abcdef.tmp"
    fresh.write_bytes(b"x")
    old.write_bytes(b"x")
    day_ago = os.stat(old).st_mtime - 24 * 3600 - 60
    os.utime(old, (day_ago, day_ago))

    def no_locks(fd, op):
        raise OSError(37, "No locks available")
    monkeypatch.setattr(fcntl, "flock", no_locks)
    assert sweep_stale_temp_files(tmp_path) == [old] and fresh.exists()


def test_a_file_replaced_between_listing_and_locking_is_left_alone(tmp_path, monkeypatch):
    litter = tmp_path / ".a.netstudio-0123abcd.tmp"
    litter.write_bytes(b"x")
    real_fstat = os.fstat

    def another_inode(fd):
        info = real_fstat(fd)
        return os.stat_result((info.st_mode, info.st_ino + 1, *tuple(info)[2:]))
    monkeypatch.setattr(os, "fstat", another_inode)
    assert sweep_stale_temp_files(tmp_path) == [] and litter.exists()


def test_the_day_boundary_of_the_fallback_sweep(tmp_path, monkeypatch):
    path = tmp_path / ".a.netstudio-0123abcd.tmp"
    path.write_bytes(b"x")
    info = os.lstat(path)
    monkeypatch.setattr(atomic.time, "time", lambda: info.st_mtime + atomic.STALE_AFTER_SECONDS - 1)
    assert atomic._remove_if_old(path, info) is False and path.exists()
    monkeypatch.setattr(atomic.time, "time", lambda: info.st_mtime + atomic.STALE_AFTER_SECONDS)
    assert atomic._remove_if_old(path, info) is True and not path.exists()


def test_a_foreign_file_on_the_staging_name_of_the_backup_survives(tmp_path, monkeypatch):
    target = tmp_path / "net.pt"
    atomic_write_bytes(target, b"v1")
    foreign = tmp_path / ".net.pt.bak.netstudio-00000000.tmp"
    foreign.write_bytes(b"not ours")
    real_temp_path, calls = atomic.temp_path, []

    def first_taken(path):
        calls.append(path)
        return foreign if path.name.endswith(".bak") and len(calls) <= 2 else real_temp_path(path)
    monkeypatch.setattr(atomic, "temp_path", first_taken)
    monkeypatch.setattr(atomic, "sweep_stale_temp_files", lambda *a, **k: [])
    atomic_write_bytes(target, b"v2", backup=True)
    assert foreign.read_bytes() == b"not ours" and backup_path(target).read_bytes() == b"v1"


def test_a_backup_copy_that_fails_half_way_leaves_nothing_behind(tmp_path, monkeypatch):
    import errno
    import shutil
    target = tmp_path / "net.pt"
    atomic_write_bytes(target, b"v1")

    def no_links(src, dst, *args, **kwargs):
        raise OSError(errno.EPERM, "hard links not supported")

    def half_copy(src, dst, *args, **kwargs):
        with open(dst, "wb") as f:
            f.write(b"v")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "link", no_links)
    monkeypatch.setattr(shutil, "copy2", half_copy)
    with pytest.raises(NetStudioError, match="No space left on device"):
        atomic_write_bytes(target, b"v2", backup=True)
    assert os.listdir(tmp_path) == ["net.pt"] and target.read_bytes() == b"v1"


def test_an_os_error_without_a_message_is_named_by_its_code(tmp_path):
    import errno
    err = OSError()
    err.errno = errno.ENOSPC
    with pytest.raises(NetStudioError) as info:
        with atomic_writer(tmp_path / "a.bin") as f:
            f.write(b"x")
            raise err
    assert str(info.value) == "Could not save 'a.bin': ENOSPC."
    with pytest.raises(NetStudioError) as info:
        with atomic_writer(tmp_path / "a.bin") as f:
            raise OSError()                             # no message, no code: no cause is made up
    assert str(info.value) == "Could not save 'a.bin': the system gave no reason."


def test_fsync_dir_skips_what_it_cannot_open():
    assert atomic.fsync_dir(Path("/no/such/folder")) is None


def test_a_backup_rename_refused_leaves_no_staged_link(tmp_path, monkeypatch):
    target = tmp_path / "net.pt"
    atomic_write_bytes(target, b"v1")
    real_replace = os.replace

    def refuse_backups(src, dst):
        if str(dst).endswith(".bak"):
            raise PermissionError(13, "Permission denied")
        return real_replace(src, dst)
    monkeypatch.setattr(os, "replace", refuse_backups)
    with pytest.raises(NetStudioError, match="Permission denied"):
        atomic_write_bytes(target, b"v2", backup=True)
    assert os.listdir(tmp_path) == ["net.pt"] and target.read_bytes() == b"v1"
