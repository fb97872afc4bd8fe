"""run_cli: one error line and exit 2 for a UserError; Ctrl-C exits 130; SIGTERM behaves like Ctrl-C, exit 143."""

import os
import signal

import pytest

from textattn.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, SigtermAsInterrupt, UserError, run_cli


def test_user_error_is_one_line_and_exit_2(capsys):
    def command(args):
        raise UserError("no such file; pass another")

    assert run_cli(command, None) == EXIT_USAGE
    assert capsys.readouterr().err == "error: no such file; pass another\n"


def test_ctrl_c_exits_130_with_the_message(capsys):
    def command(args):
        raise KeyboardInterrupt

    assert run_cli(command, None, "interrupted; continue with --resume RUN_DIR") == EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == "interrupted; continue with --resume RUN_DIR\n"


def test_sigterm_interrupts_the_command_and_exits_143(capsys):
    before = signal.getsignal(signal.SIGTERM)
    reached = []

    def command(args):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000_000):  # the handler raises at the next bytecode
            pass
        reached.append("end")
        return 0

    assert run_cli(command, None, "interrupted; continue with --resume RUN_DIR") == EXIT_TERMINATED == 143
    assert reached == []
    assert capsys.readouterr().err == "received SIGTERM: interrupted; continue with --resume RUN_DIR\n"
    assert signal.getsignal(signal.SIGTERM) is before, "the previous handler is restored"


def test_a_command_that_handles_the_interrupt_itself_exits_143():
    def command(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10_000_000):
                pass
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED  # like the tuner, which handles the interrupt itself
        return 0

    assert run_cli(command, None) == EXIT_TERMINATED


SECOND_SIGTERM = """
import os, signal, sys, time
from textattn.errors import run_cli
def command(args):
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000_000):
            pass
    except KeyboardInterrupt:
        os.kill(os.getpid(), signal.SIGTERM)  # a second one, while the first is being handled
        time.sleep(5)
        print("not reached")
sys.exit(run_cli(command, None))
"""


def test_a_second_sigterm_terminates_at_once():
    import subprocess
    import sys

    from helpers import REPO

    env = {**os.environ, "PYTHONPATH": REPO}
    result = subprocess.run(
        [sys.executable, "-c", SECOND_SIGTERM], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == -signal.SIGTERM, result
    assert "not reached" not in result.stdout and result.stderr == ""


@pytest.mark.parametrize("sigint", ["default", "ignored"])
def test_a_swallowed_interrupt_is_raised_again(monkeypatch, capsys, sigint):
    """Library code can swallow the KeyboardInterrupt (numpy converting a tensor does); the command still stops,
    also where SIGINT is ignored (a command started with & or nohup)."""
    import time

    monkeypatch.setattr(SigtermAsInterrupt, "retry_seconds", 0.2)
    previous_sigint = signal.signal(
        signal.SIGINT, signal.SIG_IGN if sigint == "ignored" else signal.default_int_handler
    )
    swallowed = []

    def command(args):
        deadline = time.time() + 10
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            while time.time() < deadline:
                pass
        except KeyboardInterrupt:
            swallowed.append(time.time())  # and carry on as if nothing happened
        while time.time() < deadline:
            pass
        return 0

    start = time.time()
    try:
        assert run_cli(command, None) == EXIT_TERMINATED
    finally:
        signal.signal(signal.SIGINT, previous_sigint)
    assert len(swallowed) == 1 and time.time() - start < 3
    assert capsys.readouterr().err == "received SIGTERM: interrupted\n"


def test_no_interrupt_after_the_command_has_returned(monkeypatch):
    import time

    monkeypatch.setattr(SigtermAsInterrupt, "retry_seconds", 0.1)

    def command(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10_000_000):
                pass
        except KeyboardInterrupt:
            return 0  # handled, and the work is done
        return 1

    assert run_cli(command, None) == 0
    time.sleep(0.5)  # a helper thread still interrupting would raise KeyboardInterrupt here


def test_cleanup_while_handling_the_interrupt_is_not_cut_short(monkeypatch):
    import time

    monkeypatch.setattr(SigtermAsInterrupt, "retry_seconds", 0.05)
    cleaned = []

    def command(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10_000_000):
                pass
        finally:
            time.sleep(0.4)  # e.g. removing a staging directory
            cleaned.append(True)

    assert run_cli(command, None) == EXIT_TERMINATED
    assert cleaned == [True]


def test_a_loop_with_safe_points_is_not_interrupted_between_them(monkeypatch):
    import time

    from textattn import errors

    monkeypatch.setattr(SigtermAsInterrupt, "retry_seconds", 0.05)
    checked = []

    def command(args):
        errors.defer_interrupts(True)
        os.kill(os.getpid(), signal.SIGTERM)
        end = time.time() + 0.5
        while time.time() < end:  # work between safe points: no KeyboardInterrupt here
            pass
        checked.append(errors.termination_requested())
        raise KeyboardInterrupt  # the safe point

    assert run_cli(command, None) == EXIT_TERMINATED
    assert checked == [True]


def test_a_deferring_loop_that_never_reaches_a_safe_point_is_interrupted_after_the_grace(monkeypatch):
    import time

    from textattn import errors

    monkeypatch.setattr(SigtermAsInterrupt, "retry_seconds", 0.05)
    monkeypatch.setattr(SigtermAsInterrupt, "deferred_grace_seconds", 0.3)

    def command(args):
        errors.defer_interrupts(True)
        os.kill(os.getpid(), signal.SIGTERM)
        end = time.time() + 10
        while time.time() < end:
            pass
        return 0

    start = time.time()
    assert run_cli(command, None) == EXIT_TERMINATED
    assert 0.3 <= time.time() - start < 3
    assert not errors._deferring.is_set()


def test_handler_is_restored_after_a_normal_return():
    before = signal.getsignal(signal.SIGTERM)
    assert run_cli(lambda args: 0, None) == 0
    assert signal.getsignal(signal.SIGTERM) is before


def test_outside_the_main_thread_nothing_is_installed():
    import threading

    results = []
    thread = threading.Thread(target=lambda: results.append(run_cli(lambda args: 5, None)))
    thread.start()
    thread.join()
    assert results == [5]


@pytest.fixture(autouse=True)
def restore_sigterm():
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def test_full_disk_while_writing_is_one_line_exit_2_and_leaves_the_old_file(tmp_path, capsys):
    import errno

    from textattn.atomic_write import write_atomic

    target = tmp_path / "metrics.json"
    target.write_text('{"old": true}\n')

    def write_until_full(tmp):
        with open(tmp, "w") as f:
            f.write('{"new": ')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), tmp)

    assert run_cli(lambda args: write_atomic(str(target), write_until_full), None) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: No space left on device writing ")
    assert target.read_text() == '{"old": true}\n'
    assert os.listdir(tmp_path) == ["metrics.json"], "the temporary file is removed"


@pytest.mark.parametrize("code", ["EDQUOT", "EROFS"])
def test_quota_and_read_only_filesystem_are_one_line(capsys, code):
    import errno

    number = getattr(errno, code)

    def command(args):
        raise OSError(number, os.strerror(number))

    assert run_cli(command, None) == EXIT_USAGE
    assert (
        capsys.readouterr().err
        == f"error: {os.strerror(number)}; free some space or choose another directory, then rerun\n"
    )


def test_other_os_errors_are_not_hidden():
    def command(args):
        raise FileNotFoundError(2, "No such file or directory", "x")

    with pytest.raises(FileNotFoundError):
        run_cli(command, None)


def test_stop_on_terminate_raises_at_the_next_batch(monkeypatch):
    import keras
    import numpy as np

    from textattn import errors
    from textattn.callbacks import StopOnTerminate

    monkeypatch.setattr(errors, "_terminating", __import__("threading").Event())
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
            if batch == 2:
                errors._terminating.set()  # as the SIGTERM handler does

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.zeros((64, 3), "float32")
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, x[:, :1], batch_size=4, epochs=3, verbose=0, callbacks=[Count(), StopOnTerminate()])
    assert seen == [0, 1, 2], "stopped right after the batch during which SIGTERM arrived"
    assert errors.termination_requested()


def test_termination_request_ends_with_the_command():
    from textattn import errors

    def command(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10_000_000):
                pass
        except KeyboardInterrupt:
            assert errors.termination_requested()
            raise

    assert run_cli(command, None) == EXIT_TERMINATED
    assert not errors.termination_requested(), "a later train() in this process must not stop at once"


def test_a_multi_line_disk_error_is_still_one_line(capsys):
    """h5py's ENOSPC (model.keras weights) carries a message over several lines."""
    import errno

    def command(args):
        raise OSError(errno.ENOSPC, "Unable to synchronously create file (file write failed: time = Mon\n, ...)")

    assert run_cli(command, None) == EXIT_USAGE
    assert (
        capsys.readouterr().err
        == "error: No space left on device; free some space or choose another directory, then rerun\n"
    )


def test_tensorflow_savers_full_disk_is_one_line(capsys):
    """TensorFlow's savers raise an OpError naming the C library's text, not an OSError."""
    import tensorflow as tf

    def command(args):
        raise tf.errors.InternalError(None, None, "/x/variables_temp/part-00000; No space left on device [Op:SaveV2]")

    assert run_cli(command, None) == EXIT_USAGE
    assert (
        capsys.readouterr().err
        == "error: No space left on device; free some space or choose another directory, then rerun\n"
    )


def test_other_errors_that_mention_a_full_disk_are_not_hidden():
    def command(args):
        raise ValueError("No space left on device")

    with pytest.raises(ValueError):
        run_cli(command, None)
