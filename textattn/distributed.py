"""Data-parallel training on the engines' own distribution: which process this is, and its strategy.

``start(config)`` turns ``train.distribution`` into a :class:`Session` before
anything is written:

- ``none``: this process alone (the default; the session does nothing).
- ``mirrored``: this process, every local device. TensorFlow:
  ``tf.distribute.MirroredStrategy``; JAX: ``keras.distribution.DataParallel``
  over ``jax.local_devices()``.
- ``multi_worker``: several processes, each started with the same command.
  TensorFlow: ``tf.distribute.MultiWorkerMirroredStrategy``, the cluster and
  this task read from ``TF_CONFIG`` (as Kubeflow's TFJob and Vertex AI set
  it); the chief is task ``chief`` 0, else ``worker`` 0. JAX:
  ``keras.distribution.DataParallel`` over every process's devices, the
  processes named by ``KERAS_DISTRIBUTION_JOB_ADDRESSES``,
  ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and ``KERAS_DISTRIBUTION_PROCESS_ID``
  (what ``keras.distribution.initialize()`` reads); the chief is process 0.

``train.batch_size`` is the global batch: each of R replicas computes on
batch_size / R examples of every step and the gradients are averaged, so one
step is the step of one process on the whole batch, and the learning rate is
unchanged. Every wait on a peer is bounded by ``train.distribution_timeout``
seconds: start-up (all processes must join) and each collective operation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import sys
import threading

from textattn.errors import EXIT_USAGE, UserError

NONE, MIRRORED, MULTI_WORKER = "none", "mirrored", "multi_worker"
TF_CONFIG = "TF_CONFIG"
JAX_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
JAX_NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
JAX_PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"
TF_CONFIG_EXAMPLE = '{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}'
TF_TASK_TYPES = ("chief", "worker")


# --------------------------------------------------------------------------- #
# Who is who: TF_CONFIG and the KERAS_DISTRIBUTION_* variables, checked.


@dataclasses.dataclass(frozen=True)
class TfTask:
    """This process's place in a TF_CONFIG cluster: {"chief": [address], "worker": [addresses]}."""

    cluster: dict
    task_type: str
    task_index: int

    @property
    def is_chief(self) -> bool:
        """The chief writes the run: task ``chief`` 0, or ``worker`` 0 in a cluster without a chief."""
        if "chief" in self.cluster:
            return self.task_type == "chief"
        return self.task_index == 0

    @property
    def name(self) -> str:
        return f"{self.task_type}{self.task_index}"

    @property
    def num_workers(self) -> int:
        return sum(len(self.cluster.get(t, ())) for t in TF_TASK_TYPES)


def _check_address(address, where: str) -> None:
    host, sep, port = str(address).rpartition(":") if isinstance(address, str) else ("", "", "")
    if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
        raise UserError(f"TF_CONFIG: {where} is {address!r}, not HOST:PORT; e.g. {TF_CONFIG_EXAMPLE}")


def parse_tf_config(text: str | None) -> TfTask:
    """The task a TF_CONFIG value names; UserError saying what is wrong with it otherwise."""
    if not text or not text.strip():
        raise UserError(
            f"train.distribution=multi_worker on TensorFlow reads the cluster from {TF_CONFIG}, which "
            f"is not set; set it on every worker, e.g. {TF_CONFIG}='{TF_CONFIG_EXAMPLE}' (index 0, 1, ...)"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{TF_CONFIG} is not valid JSON ({exc.msg} at character {exc.pos}); e.g. {TF_CONFIG_EXAMPLE}"
        ) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("cluster"), dict)
        or not isinstance(data.get("task"), dict)
    ):
        raise UserError(f'{TF_CONFIG} needs a "cluster" and a "task" object; e.g. {TF_CONFIG_EXAMPLE}')
    cluster = data["cluster"]
    for task_type, addresses in cluster.items():
        if task_type not in TF_TASK_TYPES:
            raise UserError(
                f"{TF_CONFIG}: cluster has {task_type!r} tasks; textattn's data-parallel training "
                f"uses only {' and '.join(TF_TASK_TYPES)} tasks (no parameter servers or evaluators)"
            )
        if not isinstance(addresses, list) or not addresses:
            raise UserError(f"{TF_CONFIG}: cluster.{task_type} must be a non-empty list of HOST:PORT addresses")
        for i, address in enumerate(addresses):
            _check_address(address, f"cluster.{task_type}[{i}]")
    if len(cluster.get("chief", ())) > 1:
        raise UserError(f"{TF_CONFIG}: cluster.chief has {len(cluster['chief'])} addresses; a cluster has one chief")
    if not any(t in cluster for t in TF_TASK_TYPES):
        raise UserError(f"{TF_CONFIG}: cluster names no chief or worker tasks; e.g. {TF_CONFIG_EXAMPLE}")
    task_type, index = data["task"].get("type"), data["task"].get("index", 0)
    if task_type not in cluster:
        raise UserError(
            f"{TF_CONFIG}: task type {task_type!r} is not in the cluster "
            f"({', '.join(sorted(cluster))}); set task.type to one of them"
        )
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(cluster[task_type]):
        raise UserError(
            f"{TF_CONFIG}: task index {index!r} is out of range: cluster.{task_type} has "
            f"{len(cluster[task_type])} address(es), so the index is 0 to {len(cluster[task_type]) - 1}"
        )
    return TfTask({t: list(a) for t, a in cluster.items()}, task_type, index)


@dataclasses.dataclass(frozen=True)
class JaxProcess:
    """This process among ``num_processes`` JAX processes; ``coordinator`` is process 0's HOST:PORT."""

    coordinator: str
    num_processes: int
    process_id: int

    @property
    def is_chief(self) -> bool:
        return self.process_id == 0

    @property
    def name(self) -> str:
        return f"process{self.process_id}"


def _env_int(env, key: str) -> int | None:
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise UserError(f"{key}={raw!r} is not a whole number") from None


def parse_jax_env(env=None) -> JaxProcess:
    """The JAX process the KERAS_DISTRIBUTION_* variables name (the rules of ``keras.distribution.initialize``)."""
    env = os.environ if env is None else env
    example = (
        f"e.g. {JAX_ADDRESSES}=host0:1234,host1:1234 {JAX_NUM_PROCESSES}=2 {JAX_PROCESS_ID}=0 (1 on the second machine)"
    )
    raw = (env.get(JAX_ADDRESSES) or "").strip()
    if not raw:
        raise UserError(
            f"train.distribution=multi_worker on JAX needs {JAX_ADDRESSES} (the coordinator's HOST:PORT, "
            f"or every process's, process 0 first); {example}"
        )
    addresses = [a.strip() for a in raw.split(",")]
    for address in addresses:
        host, sep, port = address.rpartition(":")
        if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
            raise UserError(f"{JAX_ADDRESSES}: {address!r} is not HOST:PORT; {example}")
    num = _env_int(env, JAX_NUM_PROCESSES)
    if num is None:
        if len(addresses) == 1:
            raise UserError(f"{JAX_NUM_PROCESSES} is not set; {example}")
        num = len(addresses)
    if num < 1:
        raise UserError(f"{JAX_NUM_PROCESSES} must be at least 1, got {num}")
    if len(addresses) > 1 and len(addresses) != num:
        raise UserError(
            f"{JAX_ADDRESSES} names {len(addresses)} processes but {JAX_NUM_PROCESSES}={num}; "
            "give one address per process, or only the coordinator's"
        )
    pid = _env_int(env, JAX_PROCESS_ID)
    if pid is None:
        raise UserError(f"{JAX_PROCESS_ID} is not set; {example}")
    if not 0 <= pid < num:
        raise UserError(f"{JAX_PROCESS_ID}={pid} is out of range for {JAX_NUM_PROCESSES}={num} (0 to {num - 1})")
    return JaxProcess(addresses[0], num, pid)


# --------------------------------------------------------------------------- #
# Bounded waits.


# The watchdog: a small separate process (no TensorFlow), which ends when the pipe from its
# parent closes (the wait is over, or the parent died) or, after the timeout, stops the parent.
_WATCHDOG = r"""
import os, select, signal, sys, time
fd, seconds, parent, message = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if not select.select([fd], [], [], seconds)[0]:
    print("error: " + message, file=sys.stderr, flush=True)
    os.kill(parent, signal.SIGINT)
    time.sleep(5)
    if os.getppid() == parent:  # still alive (once it has ended, this process has another parent)
        os.kill(parent, signal.SIGKILL)
"""


def _exit_2_on_sigint() -> bool:
    """Make SIGINT end this process at once with status 2, from C, GIL or not (Linux, macOS).

    ``_exit`` is installed as the C signal handler: it is called with the signal's
    number, and SIGINT's is 2, the status of a UserError. False where that is not possible.
    """
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
        libc.signal.restype = ctypes.c_void_p
        libc.signal(int(signal.SIGINT), ctypes.cast(libc._exit, ctypes.c_void_p))
    except (OSError, AttributeError):
        return False
    return int(signal.SIGINT) == EXIT_USAGE


@contextlib.contextmanager
def bounded_wait(seconds: float, message: str):
    """Run the block; if it has not finished after ``seconds``, ``error: message`` on stderr and exit 2.

    For the engines' start-up, where a peer that never joins blocks inside C++
    with Python's GIL held (MultiWorkerMirroredStrategy's server start does), so
    no Python thread or signal handler could run: a watchdog process prints
    the line and sends SIGINT, which meanwhile exits from C (SIGKILL 5 s later
    if that failed). No worker is left hanging, and nothing has been written yet.
    """
    import subprocess

    read, write = os.pipe()
    watchdog = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(read), str(seconds), str(os.getpid()), message],
        pass_fds=(read,),
        start_new_session=True,
    )
    os.close(read)
    main = threading.current_thread() is threading.main_thread()  # only there can handlers be set
    previous = signal.getsignal(signal.SIGINT)
    if main:
        _exit_2_on_sigint()
    try:
        yield
    finally:
        os.close(write)
        if main:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
        watchdog.wait(timeout=10)


def lost_peer(what: str, exc: BaseException) -> UserError:
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return UserError(
        f"{what} ({type(exc).__name__}: {first}); restart every worker with the same command: "
        "training continues from the last finished epoch"
    )


# --------------------------------------------------------------------------- #
# Sessions.


class Session:
    """One process of a training run; this base is the plain single-process run.

    ``scope()`` is where the model is built, compiled and fitted;
    ``prepare(ds, split)`` readies a batched tf.data.Dataset of (input, label)
    for the engine; ``guard()`` turns a lost peer into one error line.
    """

    kind = NONE
    is_chief = True
    name = "chief"
    replicas = 1
    weights_validation = False
    """True when ``prepare`` gives validation batches a third element, sample weights (compile with
    weighted metrics then)."""

    def scope(self):
        return contextlib.nullcontext()

    def prepare(self, dataset, split: str, batch_size: int):
        return dataset

    def guard(self):
        return contextlib.nullcontext()

    def callbacks(self, validation_examples: int, batch_size: int) -> list:
        """Callbacks the fit needs first (before any that records the logs)."""
        return []

    def describe(self) -> str:
        return "one process"


LOCAL = Session()


class TfSession(Session):
    """A ``tf.distribute`` strategy: MirroredStrategy or MultiWorkerMirroredStrategy."""

    def __init__(self, strategy, task: TfTask | None = None):
        self.strategy = strategy
        self.task = task
        self.kind = MULTI_WORKER if task else MIRRORED
        self.is_chief = task.is_chief if task else True
        self.name = task.name if task else "chief"
        self.replicas = strategy.num_replicas_in_sync

    def scope(self):
        return self.strategy.scope()

    def prepare(self, dataset, split: str, batch_size: int):
        """Shard by DATA unless the dataset's maker chose a policy (FILE suits only file-based datasets).

        Under DATA every worker reads the whole dataset (the same seeded shuffle)
        and keeps its share of each global batch; tf.distribute splits a batch of
        ``batch_size`` into ``batch_size / replicas`` per replica.
        """
        import tensorflow as tf

        policy = tf.data.experimental.AutoShardPolicy
        if dataset.options().experimental_distribute.auto_shard_policy != policy.AUTO:
            return dataset
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = policy.DATA
        return dataset.with_options(options)

    @contextlib.contextmanager
    def guard(self):
        import tensorflow as tf

        lost = (
            tf.errors.UnavailableError,
            tf.errors.DeadlineExceededError,
            tf.errors.CancelledError,
            tf.errors.AbortedError,
        )
        try:
            yield
        except tf.errors.OpError as exc:
            if isinstance(exc, lost) or "Collective ops is aborted" in str(exc):
                raise lost_peer(f"{self.name} lost a peer during training", exc) from None
            raise

    def describe(self) -> str:
        if self.task:
            return (
                f"MultiWorkerMirroredStrategy, {self.name} of {self.task.num_workers} workers"
                f"{' (chief)' if self.is_chief else ''}, {self.replicas} replicas"
            )
        return f"MirroredStrategy, {self.replicas} replica(s)"


class JaxSession(Session):
    """``keras.distribution.DataParallel``, over local devices or over every process's."""

    def __init__(self, distribution, process: JaxProcess | None = None):
        self.distribution = distribution
        self.process = process
        self.kind = MULTI_WORKER if process else MIRRORED
        self.is_chief = process.is_chief if process else True
        self.name = process.name if process else "chief"
        self.replicas = int(distribution.device_mesh.devices.size)
        self.weights_validation = bool(process and process.num_processes > 1)

    def scope(self):
        return self.distribution.scope()

    def prepare(self, dataset, split: str, batch_size: int):
        """Every process must step with batches of one shape (Keras rebatches each global batch into
        ``batch_size / processes`` per process): training drops a last partial batch (a different one
        every epoch, the order being reshuffled); validation pads it with rows of sample weight 0, so
        val_accuracy counts every validation example once (val_loss, a mean over the padded batch,
        is lower by the share of padding in that one batch)."""
        if not self.process or self.process.num_processes == 1:
            return dataset
        import tensorflow as tf

        def fixed(t):  # the static batch size Keras reads to split each batch between the processes
            return tf.ensure_shape(t, [batch_size] + t.shape[1:].as_list())

        if split == "train":
            return dataset.rebatch(batch_size, drop_remainder=True)

        def pad(x, y):
            n = tf.shape(y)[0]
            missing = batch_size - n

            def pad_rows(t):
                return fixed(tf.pad(t, [[0, missing]] + [[0, 0]] * (t.shape.rank - 1)))

            weights = fixed(tf.concat([tf.ones([n], tf.float32), tf.zeros([missing], tf.float32)], 0))
            return tf.nest.map_structure(pad_rows, x), pad_rows(y), weights

        return dataset.map(pad)

    def callbacks(self, validation_examples: int, batch_size: int) -> list:
        if not self.weights_validation:
            return []
        return [PaddedValidationLoss(validation_examples, batch_size)]

    @contextlib.contextmanager
    def guard(self):
        try:
            yield
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("jax", "jaxlib") and self.process:
                # Ended here, not by raising: at exit, JAX's shutdown barrier would wait for the dead
                # process and then abort from C++ (SIGABRT and a stack dump). The run's files are
                # written atomically, so nothing is left half-written.
                print(flush=True)  # ends the progress bar's line
                print(
                    f"error: {lost_peer(f'{self.name} lost a peer during training', exc)}", file=sys.stderr, flush=True
                )
                os._exit(EXIT_USAGE)
            raise

    def describe(self) -> str:
        if self.process:
            return (
                f"DataParallel, {self.name} of {self.process.num_processes} processes"
                f"{' (chief)' if self.is_chief else ''}, {self.replicas} devices"
            )
        return f"DataParallel over {self.replicas} local device(s)"


def _callback_base():
    import keras

    return keras.callbacks.Callback


class PaddedValidationLoss(_callback_base()):
    """Puts val_loss back on the validation examples alone after ``JaxSession.prepare`` padded them.

    Keras averages each batch's loss (a sum over its real rows divided by the
    padded batch size) weighting every batch by that padded size, so the logged
    value is sum(loss) / (batches * batch_size); times that count over the
    number of examples it is the mean over the real rows, as without padding.
    """

    def __init__(self, examples: int, batch_size: int):
        super().__init__()
        self.factor = -(-examples // batch_size) * batch_size / examples

    def on_epoch_end(self, epoch, logs=None):
        if logs and "val_loss" in logs:
            logs["val_loss"] = float(logs["val_loss"]) * self.factor


def start(config) -> Session:
    """The session ``config.train.distribution`` asks for; joins the other workers (bounded wait)."""
    from textattn import backend

    kind = config.train.distribution
    if kind == NONE:
        return LOCAL
    timeout = config.train.distribution_timeout
    if backend.name() == "jax":
        return _start_jax(kind, timeout, config.train.batch_size)
    if backend.name() != backend.TENSORFLOW:
        raise UserError(
            f"train.distribution={kind} runs on the TensorFlow or JAX backend, not KERAS_BACKEND={backend.name()}"
        )
    return _start_tf(kind, timeout)


def _start_tf(kind: str, timeout: float) -> TfSession:
    if kind == MIRRORED:
        import tensorflow as tf

        return TfSession(tf.distribute.MirroredStrategy())
    task = parse_tf_config(os.environ.get(TF_CONFIG))
    from textattn.compat import keras_distribute

    keras_distribute.apply()
    import tensorflow as tf

    peers = ", ".join(a for t in TF_TASK_TYPES for a in task.cluster.get(t, ()))
    with bounded_wait(
        timeout,
        f"{task.name}: not every worker of the cluster ({peers}) joined within "
        f"{timeout:g}s (train.distribution_timeout); start all of them with the same "
        "command and check TF_CONFIG's addresses and the network between them",
    ):
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
        # A first collective: returns once every worker is up and answering.
        joined = strategy.reduce("SUM", strategy.run(lambda: tf.constant(1)), axis=None)
    if int(joined) != strategy.num_replicas_in_sync:
        raise UserError(f"{task.name}: {int(joined)} of {strategy.num_replicas_in_sync} replicas answered")
    return TfSession(strategy, task)


def _start_jax(kind: str, timeout: float, batch_size: int) -> JaxSession:
    import keras

    if kind == MIRRORED:
        import jax

        return JaxSession(keras.distribution.DataParallel(devices=jax.local_devices()))
    process = parse_jax_env()
    if batch_size % process.num_processes:
        raise UserError(
            f"train.batch_size={batch_size} must be a multiple of {JAX_NUM_PROCESSES}="
            f"{process.num_processes} (every process takes an equal share of each batch)"
        )
    import jax

    seconds = max(1, int(round(timeout)))
    with bounded_wait(
        timeout,
        f"{process.name}: not every one of the {process.num_processes} JAX processes joined "
        f"the coordinator {process.coordinator} within {timeout:g}s "
        "(train.distribution_timeout); start all of them and check the addresses",
    ):
        # jax.distributed.initialize itself, not keras.distribution.initialize (which calls it with the same
        # three values): only here are JAX's own waits set. Its start-up timeout aborts the process from C++
        # (SIGABRT), so it is left 30 s later than the watchdog's, which ends it with one line.
        jax.distributed.initialize(
            process.coordinator,
            process.num_processes,
            process.process_id,
            initialization_timeout=seconds + 30,
            heartbeat_timeout_seconds=seconds,
            shutdown_timeout_seconds=seconds,
        )
    return JaxSession(keras.distribution.DataParallel(devices=jax.devices()), process)
