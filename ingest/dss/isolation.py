"""Run the HEC-DSS C library in child processes, so that a crash, a hang or console
output on a damaged file becomes a one-line `DssReadError` instead of taking the
caller down.

`catalog_in_child` is the library's first look at a file (its integrity check and
catalog); `DeferredCheck` is the integrity check left running while the file is
read; `iter_in_children` reads series in one or more children that stream them
back. README.md in this folder explains the design.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ingest.dss.checks import DssReadError
from ingest.dss.model import Scan, Series, SeriesRef
from ingest.errors import collapse

try:
    import fcntl
except ImportError:  # not on Windows: pipes keep their default size there
    fcntl = None  # type: ignore[assignment]

_CHILD_TIMEOUT_BASE_S = 60.0  # catalog/check child: base + per MB of file
_CHILD_TIMEOUT_PER_MB_S = 0.5
_READ_STALL_TIMEOUT_S = 120.0  # reading child: longest wait for the next series
_FRAME_HEADER = struct.Struct("<Q")  # reading child -> parent: byte length, then a pickle
_MAX_FRAME_BYTES = 1 << 30  # a longer frame means a garbled stream
_PIPE_BYTES = 1 << 20  # reading child's pipe (Linux lets a process ask for up to 1 MB)
_BATCHES_QUEUED_PER_CHILD = 4  # batches received but not yet consumed, per reading child
_BATCH_PAUSE_S = 0.004  # after a small read, let the pipe fill a little (see _pump)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects (a catalog
    of 236,500 records: a third of the time otherwise goes to needless collections)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def library_message(exc: BaseException) -> str:
    """A library exception as one short line (DssStatusException carries a tuple)."""
    args = [a for a in getattr(exc, "args", ()) if isinstance(a, str) and a.strip()]
    text = args[-1] if args else str(exc)
    text = collapse(text.replace("*****DSS***", ""))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def reraise_fatal(exc: BaseException) -> None:
    """Let interpreter-level exits through: only library errors become DssReadError."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc


def _child_stdout() -> Any:
    """In a child: keep the real stdout for our data, send fd 1 (C printf) to stderr."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return out


def _spawn(code: str, path: Path, *args: str) -> subprocess.Popen:
    """Start `python -c code path args` with this package importable; stderr to a temp file."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed when the child is reaped)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(path), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
    except OSError as exc:
        stderr.close()
        raise DssReadError(f"{path}: cannot start a helper process ({exc})") from None
    proc.stderr_file = stderr  # type: ignore[attr-defined]
    return proc


def _death(proc: subprocess.Popen) -> str:
    """Why a child ended: a signal name or its last stderr line."""
    if proc.returncode is not None and proc.returncode < 0:
        try:
            return f"crashed ({signal.Signals(-proc.returncode).name})"
        except ValueError:
            return f"crashed (signal {-proc.returncode})"
    stderr = proc.stderr_file  # type: ignore[attr-defined]
    stderr.seek(0)
    lines = stderr.read().decode("utf-8", "replace").strip().splitlines()
    return f"failed ({lines[-1] if lines else f'exit status {proc.returncode}'})"


_CHECK_AND_CATALOG = "1"  # `_catalog_child` modes (its second argument)
_CATALOG_ONLY = "0"
_CHECK_ONLY = "check"


def _catalog_child() -> None:
    """Child entry: `check_file` and/or the dated catalog of a DSS 7 file, pickled on stdout.

    Arguments: the path and a mode, `_CHECK_AND_CATALOG` (the catalog is skipped when
    the check fails), `_CATALOG_ONLY` or `_CHECK_ONLY`.
    """
    out = _child_stdout()
    gc.disable()  # a short-lived process building large lists: collections only cost time
    path, mode = sys.argv[1], sys.argv[2]
    result: dict[str, Any] = {}
    try:
        from ingest.dss.hecdss import open_dss
        from ingest.dss.reader import catalog_with_dates  # the reader imports this module

        fid = open_dss(path, mode="r")
        try:
            if mode in (_CHECK_AND_CATALOG, _CHECK_ONLY):
                try:
                    result["check"] = int(fid.check_file())
                except Exception as exc:
                    result["check_error"] = library_message(exc)
            failed = "check_error" in result or result.get("check")
            if mode != _CHECK_ONLY and not failed:
                paths, codes, first, last = catalog_with_dates(fid)
                result.update(paths=paths, codes=codes, first=first, last=last)
        finally:
            fid.close()
    except BaseException as exc:  # DssPathException derives from BaseException
        result["error"] = library_message(exc)
    out.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    out.flush()


def _finish_catalog_child(
    proc: subprocess.Popen, path: Path, wait_s: float | None, timeout_s: float
) -> dict[str, Any]:
    """Collect a `_catalog_child`'s result, waiting at most `wait_s`; always reaps it.

    Raises `DssReadError` when it timed out (`timeout_s` is the limit it was given),
    crashed, could not open the file or when its `check_file` failed.
    """
    try:
        try:
            stdout, _ = proc.communicate(timeout=wait_s)
        except subprocess.TimeoutExpired:
            raise DssReadError(
                f"{path}: the HEC-DSS library did not finish checking the file in "
                f"{timeout_s:.0f} s; the file is probably damaged"
            ) from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        try:
            with gc_paused():
                result = pickle.loads(stdout)
            if not isinstance(result, dict):
                raise TypeError("not a result")
        except Exception:  # nothing, or a stream cut short: the child died
            raise DssReadError(
                f"{path} is damaged: the HEC-DSS library {_death(proc)} while checking it; "
                "copy it again or re-run the model"
            ) from None
    finally:
        proc.stderr_file.close()  # type: ignore[attr-defined]
    if "error" in result:
        raise DssReadError(f"{path}: HEC-DSS cannot read the file ({result['error']})")
    if "check_error" in result:
        raise DssReadError(
            f"{path} is damaged: the HEC-DSS integrity check failed ({result['check_error']}); "
            "copy it again or re-run the model"
        )
    if result.get("check"):
        raise DssReadError(
            f"{path} is damaged: the HEC-DSS integrity check found {result['check']} "
            "error(s) in its structure; copy it again or re-run the model"
        )
    return result


def _reap(proc: subprocess.Popen) -> None:
    """Stop a child (if still running), wait for it and close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    proc.stderr_file.close()  # type: ignore[attr-defined]


def catalog_in_child(path: Path, size: int, check: bool) -> dict[str, Any]:
    """The dated catalog of a DSS 7 file, read by a child process (with the library's
    integrity check first when `check`): a dict of `paths`, `codes`, `first`, `last`.

    Raises `DssReadError` when the child timed out, crashed, could not open the file
    or when the check failed.
    """
    code = "from ingest.dss.isolation import _catalog_child; _catalog_child()"
    proc = _spawn(code, path, _CHECK_AND_CATALOG if check else _CATALOG_ONLY)
    timeout = _child_timeout(size)
    return _finish_catalog_child(proc, path, timeout, timeout)


def _child_timeout(size: int) -> float:
    """How long a catalog or check child may take on a file of `size` bytes."""
    return _CHILD_TIMEOUT_BASE_S + _CHILD_TIMEOUT_PER_MB_S * size / 1e6


class DeferredCheck:
    """`check_file` of one DSS 7 file, running in its own child while the caller goes on.

    Made by `scan(path, check="deferred")`. `wait()` collects the verdict (raising
    `DssReadError` exactly as `scan(check=True)` would: failed, crashed or timed out)
    and remembers it; `cancel()` stops the child, and a later `wait()` then runs the
    check again from the start. The child is also stopped when this object is garbage
    collected or the interpreter exits, so an abandoned `Scan` leaves nothing running.
    """

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.timeout_s = _child_timeout(size)
        self._lock = threading.Lock()
        self._verdict: str | None = None  # "" once passed, else the one-line error
        self._proc: subprocess.Popen | None = None
        self._reaper: weakref.finalize | None = None
        self._deadline = 0.0
        self._start()

    def _start(self) -> None:
        code = "from ingest.dss.isolation import _catalog_child; _catalog_child()"
        self._proc = _spawn(code, self.path, _CHECK_ONLY)
        self._deadline = time.monotonic() + self.timeout_s
        self._reaper = weakref.finalize(self, _reap, self._proc)

    @property
    def pending(self) -> bool:
        """True until `wait()` has a verdict."""
        return self._verdict is None

    def wait(self) -> None:
        """Block until the check ends; raise `DssReadError` if it found the file damaged."""
        with self._lock:
            if self._verdict is None:
                if self._proc is None:  # cancelled: run it again
                    self._start()
                assert self._proc is not None and self._reaper is not None
                try:
                    # A child that already ended is read to the end, however late the
                    # caller comes back; one still running gets what is left of its time.
                    left = max(self._deadline - time.monotonic(), 0.0)
                    wait_s = None if self._proc.poll() is not None else left
                    _finish_catalog_child(self._proc, self.path, wait_s, self.timeout_s)
                    self._verdict = ""
                except DssReadError as exc:
                    self._verdict = str(exc)
                finally:
                    self._reaper()
                    self._proc = None
        if self._verdict:
            raise DssReadError(self._verdict)

    def cancel(self) -> None:
        """Stop the check if it has no verdict yet (a later `wait()` restarts it)."""
        with self._lock:
            if self._verdict is None and self._reaper is not None:
                self._reaper()
                self._proc = None


def _send_frame(out: Any, frame: tuple) -> None:
    """Write one frame (length, pickle) and flush it: the parent counts what arrived."""
    data = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_FRAME_HEADER.pack(len(data)) + data)  # one write: one wake-up of the parent
    out.flush()


def _read_child() -> None:
    """Child entry: read the series listed on stdin (pickled), stream them to stdout.

    Frames (each a byte length, then a pickled tuple): ("series", units, data_type,
    start month as a date ordinal, missing_count, values as a bytearray of float64s)
    per series, then ("done",) - or ("error", one-line message) and stop. (Plain types
    unpickle 4x faster than a date and an ndarray.) Each frame is flushed as soon as
    its series is read, so the parent knows which series a crash interrupted. Writing
    blocks while the parent is behind (pipe back-pressure).
    """
    out = _child_stdout()
    path, version = Path(sys.argv[1]), int(sys.argv[2])
    try:
        from ingest.dss.reader import ENGINES  # the reader imports this module

        refs: list[SeriesRef] = pickle.load(sys.stdin.buffer)
        engine = ENGINES[version]
        handle = engine.open(path)
        try:
            for ref in refs:
                s = engine.read(handle, ref)
                values = bytearray(np.ascontiguousarray(s.values, dtype=np.float64))
                start = s.start_month.toordinal()
                _send_frame(out, ("series", s.units, s.data_type, start, s.missing_count, values))
        finally:
            engine.close(handle)
        _send_frame(out, ("done",))
    except DssReadError as exc:
        _send_frame(out, ("error", str(exc)))
    except BaseException as exc:
        _send_frame(out, ("error", f"{path}: reading failed ({library_message(exc)})"))


class _ReadingChild:
    """One reading child (a contiguous share of the series) and the thread feeding its frames.

    The thread sends the child its `SeriesRef`s, then moves the frames it receives to
    the shared bounded queue as `(self, [frame, ...])`: every complete frame that one
    read of the pipe delivered (batches spare the consumer a thread hand-off per
    series). The last batch ends with the child's "done" or "error" frame, or with
    `None` when the stream broke (the child died or was killed). `waiting_since` is
    when the thread started waiting for the child (None while it waits for room in
    the queue): the watchdog uses it to catch a child that hangs.
    """

    def __init__(self, path: Path, version: int, first: int, refs: list[SeriesRef]) -> None:
        self.first = first  # position of refs[0] in the scan's catalog order
        self.refs = refs
        self.received = 0
        self.stalled = False
        self.waiting_since: float | None = None
        self.thread: threading.Thread | None = None
        code = "from ingest.dss.isolation import _read_child; _read_child()"
        self.proc = _spawn(code, path, str(version))

    def start(self, batches: queue.Queue, stop: threading.Event) -> None:
        self.waiting_since = time.monotonic()
        self.thread = threading.Thread(target=self._pump, args=(batches, stop), daemon=True)
        self.thread.start()

    def _pump(self, batches: queue.Queue, stop: threading.Event) -> None:
        try:
            pickle.dump(self.refs, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.close()  # type: ignore[union-attr]
        except Exception:
            pass  # the child died early: its stream ends at once, reported by the consumer
        stream = self.proc.stdout.raw  # type: ignore[union-attr]  (unbuffered: see below)
        with contextlib.suppress(Exception):  # a bigger pipe smooths bursts (Linux only)
            fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)  # type: ignore[union-attr]
        # Read into one reused buffer: `os.read(fd, 1 MB)` would allocate (mmap) 1 MB
        # per call, ~40 us, more than unpickling the series it brings.
        buffer = memoryview(bytearray(_PIPE_BYTES))
        pending = bytearray()
        while not stop.is_set():
            self.waiting_since = time.monotonic()
            try:
                size = stream.readinto(buffer) or 0
            except OSError:
                size = 0
            self.waiting_since = None
            batch = _split_frames(pending, buffer[:size])
            if not size and (not batch or batch[-1] is not None):
                batch.append(None)  # end of stream: the child died or was killed
            if batch:
                while not stop.is_set():
                    try:
                        batches.put((self, batch), timeout=0.25)
                        break
                    except queue.Full:
                        continue
                if batch[-1] is None or batch[-1][0] != "series":
                    return
            if size < len(buffer) // 4:
                # A thread wake-up and hand-off per series costs the caller ~0.1 ms of
                # CPU (context switches): pausing a few ms lets several series queue up
                # in the pipe (a child sends ~2 per ms), which is then read at once.
                time.sleep(_BATCH_PAUSE_S)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()

    def close(self) -> None:
        """Reap the (killed) child, join the thread and close the pipes."""
        self.kill()
        self.proc.wait()
        if self.thread is not None:
            self.thread.join(timeout=10.0)
            if self.thread.is_alive():  # cannot happen (its pipe hit EOF); never hang here
                return
        _reap(self.proc)


def _split_frames(pending: bytearray, chunk: bytes | memoryview) -> list:
    """Append `chunk` to `pending`, remove the complete frames from it and return them
    unpickled; a garbled frame ends the list with None (the stream is unusable)."""
    pending += chunk
    frames: list = []
    start = 0
    while len(pending) - start >= _FRAME_HEADER.size:
        (size,) = _FRAME_HEADER.unpack_from(pending, start)
        end = start + _FRAME_HEADER.size + size
        if size > _MAX_FRAME_BYTES:
            frames.append(None)
            break
        if end > len(pending):
            break
        try:
            frame = pickle.loads(pending[start + _FRAME_HEADER.size : end])
            if not isinstance(frame, tuple) or not frame:
                raise TypeError("not a frame")
        except Exception:
            frames.append(None)
            break
        frames.append(frame)
        start = end
    del pending[:start]
    return frames


def _watch_readers(children: list[_ReadingChild], stop: threading.Event) -> None:
    """Kill any reading child that sent nothing for `_READ_STALL_TIMEOUT_S`."""
    while not stop.wait(0.5):
        now = time.monotonic()
        for child in children:
            since = child.waiting_since
            if since is not None and now - since > _READ_STALL_TIMEOUT_S:
                child.stalled = True
                child.kill()


def _reading_failure(path: Path, found: Scan, child: _ReadingChild) -> DssReadError:
    """The error for a reading child whose stream ended before its "done" frame."""
    try:
        child.proc.wait(timeout=5.0)
    except subprocess.TimeoutExpired:  # alive but sending garbage
        child.proc.kill()
        child.proc.wait()
    index, total = child.first + child.received, len(found.monthly)
    where = found.monthly[index].logical_path if child.received < len(child.refs) else "the end"
    if child.stalled:
        return DssReadError(
            f"{path}: HEC-DSS stopped responding while reading series {index + 1} of {total} "
            f"({where}); the file is probably damaged"
        )
    return DssReadError(
        f"{path} is damaged: the HEC-DSS library {_death(child.proc)} while reading "
        f"series {index + 1} of {total} ({where})"
    )


def iter_in_children(path: Path, found: Scan, workers: int) -> Iterator[Series]:
    """Read `found.monthly` in `workers` child processes; yield the series as they arrive.

    Each child reads one contiguous share of the catalog order, in that order; shares
    interleave. The first failure (a child's error, crash or stall) kills every child
    and raises; so does closing the generator. Memory stays bounded: per child, the
    queue holds at most `_BATCHES_QUEUED_PER_CHILD` batches of at most a pipe's worth
    (1 MB, ~100 full-length series), and a child whose pipe is full waits.
    """
    refs = found.monthly
    total = len(refs)
    workers = max(1, min(workers, total))
    batches: queue.Queue = queue.Queue(maxsize=_BATCHES_QUEUED_PER_CHILD * workers)
    stop = threading.Event()
    children: list[_ReadingChild] = []
    try:
        for i in range(workers):
            lo, hi = total * i // workers, total * (i + 1) // workers
            children.append(_ReadingChild(path, found.version, lo, refs[lo:hi]))
        for child in children:
            child.start(batches, stop)
        threading.Thread(target=_watch_readers, args=(children, stop), daemon=True).start()
        running = len(children)
        while running:
            try:
                child, batch = batches.get(timeout=1.0)
            except queue.Empty:
                if any(c.thread is not None and c.thread.is_alive() for c in children):
                    continue
                try:  # every thread has ended: what they queued last is there now
                    child, batch = batches.get_nowait()
                except queue.Empty:
                    raise DssReadError(
                        f"{path}: the reading processes stopped unexpectedly"
                    ) from None
            for frame in batch:
                if frame is None:
                    raise _reading_failure(path, found, child)
                if frame[0] == "series" and child.received < len(child.refs):
                    _, units, data_type, start, missing_count, data = frame
                    ref = refs[child.first + child.received]
                    child.received += 1
                    values = np.frombuffer(data, dtype=np.float64)  # writable: a bytearray
                    month = dt.date.fromordinal(start)
                    yield Series(ref, units, data_type, month, values, missing_count)
                elif frame[0] == "done" and child.received == len(child.refs):
                    running -= 1
                elif frame[0] == "error":
                    raise DssReadError(frame[1])
                else:
                    raise DssReadError(
                        f"{path}: a reading process sent {frame[0]!r} after "
                        f"{child.received} of its {len(child.refs)} series"
                    )
    finally:
        stop.set()
        for child in children:
            child.kill()
        for child in children:
            child.close()
