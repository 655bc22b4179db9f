# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and writing the host's files without the traps of a shared file system.

- ``read_regular(path, follow=True)``: (bytes, stat) of a regular file, or (None, None) when it
  does not exist. Opened with O_NONBLOCK, so a FIFO never blocks; anything but a regular file
  (FIFO, socket, device, directory) is refused; ``follow=False`` also refuses a symbolic link
  (O_NOFOLLOW), so the content of whatever a planted link points to is never read.
- ``write_atomic(path, content, mode, owner)``: a temporary file made by ``mkstemp`` in the
  target's directory (O_CREAT|O_EXCL|O_NOFOLLOW: a name planted there is never followed),
  mode, owner and content set and synced on its descriptor, then renamed over the target (a
  symbolic link at the target is replaced, never written through).
- ``private_temp(content, prefix, suffix)``: a 0600 file in the temporary directory (mkstemp).
- ``backup_copy(path, content, st)``: a copy of a file under a name nobody can guess (mkstemp
  next to it), so a symbolic link planted at a predictable backup name cannot be followed.
- ``remove_stale(directory, name_re, older_than)``: removes temporary files a killed run left
  (regular files of this user whose whole name matches, not changed for a while); links and
  other users' files are left alone, and nothing is followed.

Errors are ``FileProblem`` (with ``msg``), except ``remove_stale``, which never raises.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import stat
import tempfile
import time

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISLNK, "a symbolic link"))


class FileProblem(Exception):
    """A file that cannot be used safely, or an I/O error; ``msg`` says which and why."""

    def __init__(self, msg, path=None, kind=None):
        super(FileProblem, self).__init__(msg)
        self.msg, self.path, self.kind = msg, path, kind


def show(path):
    """A path for a message: as it is when printable, else escaped (repr)."""
    return path if path.isprintable() else repr(path)


def kind_of(mode):
    """'a FIFO (named pipe)', 'a symbolic link', ... for a non-regular st_mode, else None."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def read_regular(path, follow=True, what="file", limit=None):
    """(content bytes, os.stat_result) of the regular file PATH; (None, None) when it is missing.

    Raises FileProblem when PATH is not a regular file (or, with follow=False, is a symbolic
    link) or cannot be read, or (kind "too large") holds more than LIMIT bytes. Never blocks
    on a FIFO: it is opened O_NONBLOCK and refused.
    """
    flags = os.O_RDONLY | _O_NONBLOCK | _O_CLOEXEC | (0 if follow else _O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return None, None
        if e.errno == errno.ELOOP and not follow:
            raise FileProblem("%s %s is a symbolic link: refused (it is not read or followed; "
                              "remove the link)" % (what, show(path)), path, "a symbolic link")
        raise FileProblem("cannot read %s %s: %s" % (what, show(path), e.strerror), path)
    try:
        st = os.fstat(fd)
        kind = kind_of(st.st_mode)
        if kind is not None:
            raise FileProblem("%s %s is %s, not a regular file: refused (reading it could "
                              "block or means nothing)" % (what, show(path), kind), path, kind)
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                raise FileProblem("%s %s is larger than %d bytes" % (what, show(path), limit),
                                  path, "too large")
        return b"".join(chunks), st
    except OSError as e:
        raise FileProblem("cannot read %s %s: %s" % (what, show(path), e.strerror), path)
    finally:
        os.close(fd)


def lstat_kind(path):
    """None when PATH is missing or a regular file; else what it is ('a symbolic link', ...)."""
    try:
        st = os.lstat(path)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return None
        raise FileProblem("cannot stat %s: %s" % (show(path), e.strerror), path)
    return kind_of(st.st_mode)


def _fill(fd, content, mode, owner):
    os.fchmod(fd, mode)
    if owner is not None and os.geteuid() == 0:
        os.fchown(fd, owner[0], owner[1])
    view = memoryview(content)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def _sync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path, content, mode, owner=(0, 0), temp_prefix=".audit_rule-", temp_suffix=".tmp"):
    """Replace PATH with CONTENT (bytes), mode MODE, owner (uid, gid) when root.

    The temporary file is created with mkstemp in PATH's directory (never through a link),
    filled and synced on its descriptor, then renamed over PATH: readers see the old file or
    the new one, and a symbolic link at PATH is replaced, not written through.
    """
    directory = os.path.dirname(path) or "."
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=temp_prefix, suffix=temp_suffix)
    except OSError as e:
        raise FileProblem("cannot create a temporary file in %s: %s" % (show(directory), e.strerror), path)
    try:
        try:
            _fill(fd, content, mode, owner)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise FileProblem("cannot write %s: %s" % (show(path), e.strerror), path)
        raise
    _sync_dir(directory)


def private_temp(content, prefix, suffix):
    """A new 0600 file with CONTENT in the temporary directory; the caller removes it."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix)
    try:
        try:
            _fill(fd, content, 0o600, None)
        finally:
            os.close(fd)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def backup_copy(path, content, st):
    """Keep CONTENT (the bytes of PATH as read) as PATH.<time>.<random>~ with PATH's mode and
    owner. The name cannot be guessed and is created exclusively, so nothing planted is followed;
    it does not end in .rules, so augenrules does not read it."""
    directory, base = os.path.split(path)
    prefix = "%s.%s." % (base, time.strftime("%Y-%m-%d@%H:%M:%S"))
    try:
        fd, bak = tempfile.mkstemp(dir=directory or ".", prefix=prefix, suffix="~")
    except OSError as e:
        raise FileProblem("cannot create a backup of %s: %s" % (show(path), e.strerror), path)
    try:
        try:
            _fill(fd, content, st.st_mode & 0o7777, (st.st_uid, st.st_gid))
        finally:
            os.close(fd)
    except OSError as e:
        os.unlink(bak)
        raise FileProblem("cannot write the backup %s: %s" % (show(bak), e.strerror), bak)
    return bak


def remove_stale(directory, name_re, older_than, now=None):
    """Remove this user's regular files in DIRECTORY whose whole name matches NAME_RE (a compiled
    regex) and that were not modified for OLDER_THAN seconds. Symbolic links and files of other
    users are left alone; nothing is followed (lstat, unlink). Returns the paths removed."""
    now = time.time() if now is None else now
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if not name_re.fullmatch(name):
            continue
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                continue
            if now - st.st_mtime < older_than:
                continue
            os.unlink(path)
            removed.append(path)
        except OSError:
            continue
    return removed
