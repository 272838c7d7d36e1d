"""Writing output files: one writer for every command.

Every file journeydsl writes goes through :func:`write_output` (or
:func:`atomic_write` underneath it), so every command answers a bad output
path the same way, never overwrites its own input, and never leaves half a
file behind:

- ``-`` means standard output (bytes such as a PNG go to the binary stream);
- a path that is, or links to, one of the command's input files is refused
  before any work is done (:func:`check_output`), hard links included;
- a folder, a missing folder or a read-only place is refused with
  ``cannot write PATH: reason`` (:class:`CannotWrite`);
- the file is written to a temporary sibling and renamed over the target in
  one step; a symbolic link stays a link and its target is replaced, and an
  existing file keeps its permission bits (a new one gets the usual
  ``0666`` less the umask).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["STDOUT", "CannotWrite", "atomic_write", "check_output", "os_reason", "same_file", "write_output"]

#: The output path that means standard output.
STDOUT = "-"


class CannotWrite(Exception):
    """An output path that cannot or must not be written; the message says which and why.

    >>> print(CannotWrite("out/x.json", "no such folder 'out'"))
    cannot write out/x.json: no such folder 'out'
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot write {self.path}: {reason}")


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file: through symbolic links, ``..`` and hard links.

    A path that does not exist is never the same as anything.
    """
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def check_output(path: str | Path, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse, before any work is done, an output path that cannot be written or is an input.

    Raises :class:`CannotWrite` when ``path`` is one of ``inputs`` (or a
    link to one), is a folder, lies in a folder that does not exist, or lies
    in a folder this user cannot write to. ``-`` (standard output) always passes.
    """
    if str(path) == STDOUT:
        return
    target = Path(path)
    for source in inputs:
        if same_file(target, source):
            same = "" if str(source) == str(path) else f" '{source}' (under another name)"
            raise CannotWrite(path, f"it is the input file{same}; choose another output path")
    if str(path) == "":
        raise CannotWrite("''", "the path is empty")
    real = Path(os.path.realpath(target))
    if real.exists() and not real.is_file() and not real.is_dir():
        return  # a device or a named pipe, written into as it is
    if real.is_dir():
        raise CannotWrite(path, "it is a folder; give a file name inside it")
    folder = real.parent
    if not folder.exists():
        raise CannotWrite(path, f"no such folder '{target.parent}'")
    if not folder.is_dir():
        raise CannotWrite(path, f"'{target.parent}' is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CannotWrite(path, f"permission denied in the folder '{folder}'")
    if real.exists() and not os.access(real, os.W_OK):
        raise CannotWrite(path, "permission denied (the file is read-only)")


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    The file appears whole or not at all: the bytes are written and flushed
    to a temporary sibling, which then replaces the file in one step. A
    symbolic link is followed (the link stays, its target is replaced); an
    existing file keeps its permission bits. Any failure removes the
    temporary file and re-raises the ``OSError``. Returns the file written
    (the link's target when ``path`` is a link).
    """
    target = Path(os.path.realpath(path))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        info = os.stat(target)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    else:
        if not stat.S_ISREG(info.st_mode):
            # a device or a named pipe (/dev/stdout, /dev/null, a FIFO): nothing to replace, write into it
            with open(target, "wb") as fh:
                fh.write(payload)
            return target
        mode = stat.S_IMODE(info.st_mode)
    import tempfile  # here: most commands never write a file

    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def os_reason(exc: OSError) -> str:
    """Why an ``OSError`` stopped a write, in a few lowercase words."""
    if isinstance(exc, IsADirectoryError):
        return "it is a folder; give a file name inside it"
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def write_output(path: str | Path, data: str | bytes, inputs: Iterable[str | Path] = ()) -> bool:
    """Write a command's output to ``path``, or to standard output when ``path`` is ``-``.

    Checks the path first (:func:`check_output`), then writes atomically.
    Raises :class:`CannotWrite` with the reason, leaving nothing behind.
    Returns True when a file was written, False for standard output.
    """
    if str(path) == STDOUT:
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            if data and not data.endswith("\n"):
                sys.stdout.write("\n")
            sys.stdout.flush()
        return False
    check_output(path, inputs)
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise CannotWrite(path, os_reason(exc)) from None
    return True
