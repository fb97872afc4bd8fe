"""User-facing errors: one line saying what is wrong and how to fix it.

Command lines run through :func:`run_cli`, which also makes SIGTERM behave
like Ctrl-C: a run stopped by ``kill``, a batch scheduler or a container
runtime ends the way an interrupted one does, with one line on stderr, its
files consistent, and (for train.py) ready for ``--resume``.
"""

from __future__ import annotations

import _thread
import errno
import os
import signal
import sys
import threading
import time


class UserError(Exception):
    """A problem with the user's input (path, config, data), not a bug.

    Command-line entry points catch it, print ``error: <message>`` on one line
    and exit with status 2, without a traceback.
    """


EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM: what shells and supervisors expect from a terminated process
# Errors of the machine, not of the code: reported in one line like a UserError.
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def disk_errno(exc: BaseException) -> int | None:
    """ENOSPC, EDQUOT or EROFS when ``exc`` reports a full disk, an exceeded quota or a read-only
    filesystem, else None. TensorFlow's savers report them as an OpError whose message ends in
    the C library's text ("...; No space left on device [Op:SaveV2]"), not as an OSError."""
    if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
        return exc.errno
    if type(exc).__module__.startswith("tensorflow"):
        text = str(exc)
        for code in DISK_ERRNOS:
            if os.strerror(code) in text:
                return code
    return None


_terminating = threading.Event()
_deferring = threading.Event()


def termination_requested() -> bool:
    """True once the command that :func:`run_cli` is running has received SIGTERM (until it returns)."""
    return _terminating.is_set()


def defer_interrupts(on: bool) -> None:
    """Declare that the running loop checks :func:`termination_requested` at safe points.

    While on, SIGTERM does not raise KeyboardInterrupt wherever the main thread
    happens to be; the loop raises it at its next safe point instead
    (``textattn.callbacks.StopOnTerminate`` does, after every batch). An
    asynchronous KeyboardInterrupt inside Keras is lost when numpy converts a
    tensor, and inside TensorFlow's C++ tensor conversion it has crashed the
    process (SIGSEGV, about 1 run in 100 here).
    """
    if on:
        _deferring.set()
    else:
        _deferring.clear()


class SigtermAsInterrupt:
    """While inside, SIGTERM raises KeyboardInterrupt in the main thread and sets
    ``received["signal"] = "SIGTERM"``; the previous handler is restored on exit.

    Only the first SIGTERM is caught: a second one terminates at once. While a
    loop with safe points runs (:func:`defer_interrupts`), the handler only
    records the request and the loop raises. Elsewhere, a
    KeyboardInterrupt raised at an unlucky moment can be swallowed by library
    code (numpy converting a TensorFlow tensor clears it, and the epoch simply
    goes on), so after the first SIGTERM a helper thread interrupts the main
    thread again (a simulated SIGTERM that the handler recognises as its own)
    every ``retry_seconds`` until the block is left, skipping any
    moment when the main thread is already handling the interrupt (cleanup in
    ``finally``/``except`` is not cut short). Outside the main thread (where
    Python cannot install handlers) it does nothing.
    """

    # Keras converts every logged value with np.array(tensor), which swallows a pending
    # KeyboardInterrupt; on a tiny model that is a large share of each step. Training
    # itself stops at the next batch (StopOnTerminate); this covers everything else.
    retry_seconds = 0.5
    retries = 120
    deferred_grace_seconds = 30.0  # a loop that defers interrupts gets this long to reach a safe point

    def __init__(self, received: dict):
        self.received = received
        self._lock = threading.Lock()
        self._wake = threading.Event()  # a SIGTERM arrived, or the block was left
        self._left = threading.Event()
        self._previous = None
        self._installed = False
        self._reminder = False

    def _on_sigterm(self, signum, frame):
        # Little work here: the main thread may have been stopped anywhere.
        if self._reminder:  # our own, from _insist
            self._reminder = False
            raise KeyboardInterrupt
        if self.received["signal"]:  # a second SIGTERM from outside: terminate now, as with no handler
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        self.received["signal"] = "SIGTERM"
        _terminating.set()
        self._wake.set()
        if not _deferring.is_set():
            raise KeyboardInterrupt

    def _insist(self):
        self._wake.wait()
        deferred_until = time.monotonic() + self.deferred_grace_seconds
        for _ in range(self.retries):
            if self._left.wait(self.retry_seconds):
                return
            if _deferring.is_set() and time.monotonic() < deferred_until:
                continue  # the loop stops at its next safe point
            if self._main_is_unwinding():
                continue  # the interrupt is on its way out (cleanup in finally/except): let it finish
            with self._lock:  # never once __exit__ has begun
                if not self._left.is_set():
                    # A simulated SIGTERM, so it reaches the handler above even where SIGINT is
                    # ignored (a command started with & or nohup).
                    self._reminder = True
                    _thread.interrupt_main(signal.SIGTERM)

    def _main_is_unwinding(self) -> bool:
        """True while the main thread runs an except or finally block for a KeyboardInterrupt."""
        current = getattr(sys, "_current_exceptions", None)
        if current is None:
            return False
        exc = current().get(self._main_ident)
        if isinstance(exc, tuple):  # Python < 3.12: exc_info triples
            exc = exc[1]
        return isinstance(exc, KeyboardInterrupt)

    def __enter__(self):
        _terminating.clear()
        _deferring.clear()
        try:
            self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        except ValueError:  # not the main thread
            return self
        self._installed = True
        self._main_ident = threading.get_ident()
        # Started here, not in the handler: starting a thread takes locks the interrupted code may hold.
        threading.Thread(target=self._insist, name="sigterm-insist", daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        try:
            with self._lock:
                self._left.set()
            self._wake.set()
        finally:  # also when a last pending interrupt is raised just above
            if self._installed:
                signal.signal(signal.SIGTERM, self._previous if self._previous is not None else signal.SIG_DFL)
            _terminating.clear()  # code run later in this process (tests) is not stopped
            _deferring.clear()
        return False


def run_cli(command, args, interrupted: str = "interrupted") -> int:
    """Run ``command(args)`` for a command line.

    - A UserError becomes one ``error:`` line on stderr and exit status 2; so
      does a full disk, an exceeded quota or a read-only filesystem met while
      writing (the command's writes are atomic, so nothing half-written is left).
    - Ctrl-C prints ``interrupted`` on stderr and exits 130.
    - SIGTERM does what Ctrl-C does (KeyboardInterrupt is raised where the
      command is), prints ``received SIGTERM: <interrupted>`` and exits 143. A
      command that handles the interrupt itself and returns 130 gets 143 too.
      The handler is in place only while the command runs; a command that
      finishes its work anyway keeps its own exit status.
    """
    received: dict = {"signal": None}
    try:
        with SigtermAsInterrupt(received):
            code = command(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        code = disk_errno(exc)
        if code is None:
            raise
        where = f" writing {exc.filename!r}" if isinstance(exc, OSError) and exc.filename else ""
        # os.strerror, not the exception's text: h5py's (model.keras weights) spans lines and names a
        # timestamp, TensorFlow's names a temporary file.
        print(
            f"error: {os.strerror(code)}{where}; free some space or choose another directory, then rerun",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        if received["signal"]:
            print(f"received {received['signal']}: {interrupted}", file=sys.stderr)
            return EXIT_TERMINATED
        print(interrupted, file=sys.stderr)
        return EXIT_INTERRUPTED
    if received["signal"] and code == EXIT_INTERRUPTED:
        return EXIT_TERMINATED
    return code
