"""A quiet start: TensorFlow's C++ start-up lines are kept off the terminal.

Importing TensorFlow on a machine without a GPU writes lines like these
straight to file descriptor 2, from C++, twice (two shared libraries)::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:... port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.

and the first operation adds ``E0000 ... cuda_platform.cc:52] failed call to
cuInit: ... UNKNOWN ERROR (303)``. ``TF_CPP_MIN_LOG_LEVEL`` cannot stop the
first kind (absl logs them before it reads any setting); it can stop the
cuInit line only at level 3, which would also hide every later real error.

So :func:`install` puts a finder on ``sys.meta_path`` that runs the first
``import tensorflow`` (whoever asks for it: keras, our modules, TFDS) with
fd 2 pointed at a temporary file, lists the GPUs while still captured (that
is where cuInit is called), then restores fd 2 and writes back every captured
line that is not known start-up noise. Anything unexpected (a Python warning,
a real error) is therefore still shown. Nothing is imported until some code
asks for TensorFlow, so config-only commands stay fast.

``TEXTATTN_VERBOSE=1`` (or a command's ``--verbose``, see :func:`enable_verbose`)
turns all of this off: no finder, and ``TF_CPP_MIN_LOG_LEVEL`` is left as the
user set it. If TensorFlow itself crashes while importing, rerun that way to
see its messages.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

VERBOSE_ENV = "TEXTATTN_VERBOSE"
TARGET = "tensorflow"
# TF_CPP_MIN_LOG_LEVEL 2 hides C++ INFO and WARNING lines logged after start-up (e.g. XLA's).
QUIET_LOG_LEVEL = "2"

_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# absl/glog format: severity letter, MMDD, time, thread id, file:line] message.
_LOG_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] (.*)$")
# WARNING/ERROR messages that TensorFlow prints at start-up on a healthy machine.
_NOISY_MESSAGES = (
    "failed call to cuInit",  # no GPU driver: expected on a CPU-only machine
    "Unable to register cuDNN factory",  # GPU wheels register their plugins twice
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TF-TRT Warning: Could not find TensorRT",
)
# The second line of cpu_feature_guard's INFO message.
_CPU_FEATURES = "To enable the following instructions:"

_we_set_log_level = False


def verbose() -> bool:
    """True when the user asked to see TensorFlow's own log lines."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def is_noise(line: str) -> bool:
    """True for a line TensorFlow prints at start-up that says nothing the user needs."""
    line = line.rstrip("\r\n")
    if line == _ABSL_PREAMBLE or line.startswith(_CPU_FEATURES):
        return True
    match = _LOG_LINE.match(line)
    if not match:
        return False
    severity, message = match.groups()
    return severity == "I" or any(noisy in message for noisy in _NOISY_MESSAGES)


class _StderrCapture:
    """Points fd 2 at a temporary file; on exit restores it and writes back the lines that are not noise."""

    def __enter__(self):
        sys.stderr.flush()
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        try:
            sys.stderr.flush()
        finally:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        self._file.seek(0)
        text = self._file.read().decode("utf-8", "replace")
        self._file.close()
        kept = [line for line in text.splitlines(keepends=True) if not is_noise(line)]
        if kept:
            sys.stderr.write("".join(kept))
            sys.stderr.flush()
        return False


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader's ``exec_module`` under a stderr capture, then touches the devices."""

    def __init__(self, loader, after=None):
        self._loader = loader
        self._after = after

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # Hand the module its real loader back before anything can look at it.
        module.__spec__.loader = self._loader
        module.__loader__ = self._loader
        with _StderrCapture():
            self._loader.exec_module(module)
            if self._after is not None:
                self._after(module)


def _list_gpus(tf) -> None:
    """Where cuInit runs (and fails loudly on a CPU-only machine); harmless where a GPU is present."""
    try:
        tf.config.list_physical_devices("GPU")
    except Exception:  # a broken CUDA set-up shows up again, uncaptured, at the first operation
        pass


class QuietImportFinder(importlib.abc.MetaPathFinder):
    """A ``sys.meta_path`` entry that makes the first import of ``target`` quiet, then removes itself."""

    def __init__(self, target: str = TARGET, after=None):
        self.target = target
        self.after = after

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.target:
            return None
        uninstall(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        try:
            os.fstat(2)
        except OSError:  # no stderr to protect
            return spec
        spec.loader = _QuietLoader(spec.loader, self.after)
        return spec


def install(target: str = TARGET, after=None) -> QuietImportFinder | None:
    """Make the first import of ``target`` quiet (a no-op when verbose or already imported)."""
    if verbose() or target in sys.modules:
        return None
    for finder in sys.meta_path:
        if isinstance(finder, QuietImportFinder) and finder.target == target:
            return finder
    finder = QuietImportFinder(target, after)
    sys.meta_path.insert(0, finder)
    return finder


def uninstall(finder: QuietImportFinder | None = None) -> None:
    """Remove ``finder`` (default: every QuietImportFinder) from ``sys.meta_path``."""
    sys.meta_path[:] = [
        f for f in sys.meta_path if not (f is finder or (finder is None and isinstance(f, QuietImportFinder)))
    ]


def quiet_start() -> None:
    """Quiet TensorFlow's start-up unless verbose (``textattn.startup.configure_process`` calls it)."""
    global _we_set_log_level
    if verbose():
        return
    if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = QUIET_LOG_LEVEL
        _we_set_log_level = True
    install(TARGET, _list_gpus)


def enable_verbose() -> None:
    """A command's ``--verbose``: show TensorFlow's log lines (if it is not imported yet).

    Sets ``TEXTATTN_VERBOSE=1`` so child processes inherit it.
    """
    global _we_set_log_level
    os.environ[VERBOSE_ENV] = "1"
    uninstall()
    if _we_set_log_level:
        os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
        _we_set_log_level = False


def add_verbose_flag(parser) -> None:
    """Add ``--verbose`` to an argparse parser (``textattn.__main__.main`` acts on it before parsing, in
    case building the parser imports TensorFlow)."""
    parser.add_argument(
        "--verbose",
        action="store_true",
        help=f"also show TensorFlow's own start-up and log lines (same as {VERBOSE_ENV}=1)",
    )
