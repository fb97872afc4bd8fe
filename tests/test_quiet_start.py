"""A quiet start: TensorFlow's C++ start-up lines stay off stderr unless TEXTATTN_VERBOSE=1 or --verbose."""

import os
import subprocess
import sys

import pytest
from helpers import REPO

from textattn import quiet

START_UP_NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795433547.107198    3463 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders.",
    "I0000 00:00:1795433547.107593    3463 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.",
    "I0000 00:00:1795433547.165506    3463 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.",
    "E0000 00:00:1795433572.537530    3713 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)",
]
REAL_LINES = [
    "E0000 00:00:1795433572.537530    3713 some_kernel.cc:12] Out of memory while allocating 9 GiB",
    "W0000 00:00:1795433572.537530    3713 loader.cc:7] could not open plugin libfoo.so",
    "/usr/lib/python3/site-packages/foo.py:3: UserWarning: something the user should see",
    "error: a message of our own",
]


@pytest.mark.parametrize("line", START_UP_NOISE)
def test_start_up_noise_is_recognised(line):
    assert quiet.is_noise(line + "\n")


@pytest.mark.parametrize("line", REAL_LINES)
def test_other_lines_are_kept(line):
    assert not quiet.is_noise(line)


@pytest.fixture
def noisy_module(tmp_path, monkeypatch):
    """A module that writes TensorFlow-like noise and one real line to file descriptor 2 on import."""
    name = "textattn_noisy_test_module"
    text = "".join(line + "\n" for line in START_UP_NOISE[:3] + ["a real problem", START_UP_NOISE[3]])
    (tmp_path / f"{name}.py").write_text(f"import os\nos.write(2, {text.encode()!r})\nVALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(quiet.VERBOSE_ENV, raising=False)
    yield name
    sys.modules.pop(name, None)
    quiet.uninstall()
    quiet.install()  # back to the state tests/conftest.py left (a no-op once TensorFlow is imported)


def test_first_import_is_captured_and_only_real_lines_are_written_back(noisy_module, capfd):
    after_calls = []

    def after(module):
        after_calls.append(module.VALUE)
        os.write(2, (START_UP_NOISE[-1] + "\n").encode())  # like cuInit at the first device query

    finder = quiet.install(noisy_module, after)
    assert finder in sys.meta_path
    module = __import__(noisy_module)
    assert module.VALUE == 42 and after_calls == [42]
    assert finder not in sys.meta_path, "the finder removes itself after the first import"
    assert not isinstance(module.__loader__, quiet._QuietLoader)
    assert module.__spec__.loader is module.__loader__
    assert capfd.readouterr().err == "a real problem\n"


def test_verbose_env_installs_nothing(noisy_module, monkeypatch, capfd):
    monkeypatch.setenv(quiet.VERBOSE_ENV, "1")
    assert quiet.install(noisy_module) is None
    __import__(noisy_module)
    assert "cudart_stub.cc" in capfd.readouterr().err


# What the command line runs first (textattn/__main__.py main()).
CONFIGURE = "from textattn.startup import configure_process; configure_process()"


def run_command(*args, env_extra=None, timeout=180):
    """Run ``python ARGS`` on this checkout; ``env_extra`` values of None remove that variable."""
    env = {k: v for k, v in os.environ.items() if k not in (quiet.VERBOSE_ENV, "TF_CPP_MIN_LOG_LEVEL")}
    env.update(env_extra or {})
    env = {k: v for k, v in env.items() if v is not None}
    env["PYTHONPATH"] = REPO  # this checkout's textattn, whatever is installed
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["train.py", "--data", "/nonexistent"],
        ["-m", "textattn", "predict", "/nonexistent", "a fine film"],  # imports TensorFlow before failing
        ["-m", "textattn", "explain", "/nonexistent", "a fine film"],
        ["evaluate.py", "/nonexistent"],
    ],
)
def test_a_failing_command_prints_only_its_error_line(args):
    result = run_command(*args)
    assert result.returncode in (1, 2)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr


@pytest.mark.slow
def test_tensorflow_import_and_first_operation_are_quiet():
    code = f"{CONFIGURE}; import tensorflow as tf; print(float(tf.constant(1.0) + 1))"
    result = run_command("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2.0"
    assert result.stderr == ""


PROBE = (
    "import os, sys, textattn; {before}"
    "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), os.environ.get('TEXTATTN_VERBOSE'), "
    "any(type(f).__name__ == 'QuietImportFinder' for f in sys.meta_path))"
)


@pytest.mark.slow
def test_importing_textattn_changes_nothing():
    """No logging level, no import hook, no allocator setting: those are the command line's (textattn.startup)."""
    code = (
        "import os, sys, textattn, textattn.__main__, textattn.quiet, textattn.startup; "
        "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), os.environ.get('TEXTATTN_VERBOSE'), "
        "os.environ.get('TF_CPU_ALLOCATOR_USE_BFC'), any(type(f).__name__ == 'QuietImportFinder' "
        "for f in sys.meta_path), 'tensorflow' in sys.modules)"
    )
    result = run_command("-c", code, env_extra={"TF_CPU_ALLOCATOR_USE_BFC": None})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "None", "None", "False", "False"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "before,env_extra",
    [
        (f"{CONFIGURE}; ", {quiet.VERBOSE_ENV: "1"}),
        ("from textattn.__main__ import main; main(['predict', '/nonexistent', 'x', '--verbose']); ", None),
        ("from textattn.__main__ import main; main(['train', '--data', '/nonexistent', '--verbose']); ", None),
    ],
)
def test_verbose_switch_leaves_tensorflow_logging_alone(before, env_extra):
    result = run_command("-c", PROBE.format(before=before), env_extra=env_extra)
    assert result.returncode == 0, result.stderr
    log_level, verbose, finder = result.stdout.split()
    # Not set by textattn (jax, which Keras imports when it is installed, sets a default of 1).
    assert log_level in ("None", "1") and verbose == "1" and finder == "False", result.stdout


@pytest.mark.slow
def test_without_verbose_the_log_level_is_set_and_the_finder_waits():
    result = run_command("-c", PROBE.format(before=f"{CONFIGURE}; "))
    assert result.stdout.split() == ["2", "None", "True"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["-m", "textattn", "predict", "/nonexistent", "x"],
        ["-m", "textattn", "explain", "/nonexistent", "x"],
        ["evaluate.py", "/nonexistent"],
    ],
)
def test_verbose_flag_brings_tensorflow_lines_back(args):
    """--verbose acts before TensorFlow is imported (building the parser may import it)."""
    with_env = run_command(*args, env_extra={quiet.VERBOSE_ENV: "1"})
    tf_lines = [line for line in with_env.stderr.splitlines() if not line.startswith("error:")]
    if not tf_lines:
        pytest.skip("TensorFlow prints nothing at start-up on this machine")
    with_flag = run_command(*args, "--verbose")
    assert [line for line in with_flag.stderr.splitlines() if not line.startswith("error:")], with_flag.stderr
    assert with_flag.returncode == with_env.returncode


@pytest.mark.parametrize("preset, expected", [(None, "true"), ("false", "false")])
def test_the_command_line_defaults_the_cpu_allocator_to_bfc(preset, expected, monkeypatch, capsys):
    """main() sets TF_CPU_ALLOCATOR_USE_BFC=true unless the user set it (textattn.startup)."""
    from textattn.__main__ import main
    from textattn.startup import ALLOCATOR_ENV

    if preset is None:
        monkeypatch.delenv(ALLOCATOR_ENV, raising=False)
    else:
        monkeypatch.setenv(ALLOCATOR_ENV, preset)
    assert main(["evaluate"]) == 2  # fails on its arguments, after the set-up
    assert "give at least one RUN_DIR" in capsys.readouterr().err
    assert os.environ[ALLOCATOR_ENV] == expected
