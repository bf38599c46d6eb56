"""`python -m model translate` as a filter on stdin (model/__main__.py): one line in, one line out.

Each test runs the real command in a subprocess on a checkpoint with seeded random weights, and
asserts structure, alignment, exit statuses and generous time bounds, never what the random model
translates to. The interactive tests keep stdin open and read the answer before sending more input.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from model.__main__ import MAX_INPUT_CHARS
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # building the checkpoint imports Keras; every test starts a Python subprocess

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="select() on pipes and SIGINT are POSIX")
START_S = 60  # start-up and the first answer, on a busy 2-core machine (about 1 s when idle)
ANSWER_S = 20  # any later answer (milliseconds when idle)


@pytest.fixture(scope="module")
def model_dir(request, tmp_path_factory):
    """The shared random fast-recipe checkpoint when conftest provides it, else one made here."""
    try:
        return request.getfixturevalue("random_fast_checkpoint")
    except pytest.FixtureLookupError:
        from tests.random_models import make_random_checkpoint

        return make_random_checkpoint(tmp_path_factory.mktemp("random-fast"), "fast", 0)


def cli_env(**extra):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    env.pop("PYTHONIOENCODING", None)  # would override the locale the UTF-8 test sets up
    return {**env, **extra}


def run_cli(*args, stdin: bytes, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "model", "translate", *map(str, args)], input=stdin,
                          capture_output=True, cwd=REPO, env=env or cli_env(), timeout=timeout)


# A shell without job control starts background commands (`pytest &`) with SIGINT ignored, children
# inherit that, and Python then leaves Ctrl-C ignored: the interactive command starts through this
# shim, which restores the default and execs it (same process), as a terminal would start it.
SIGINT_DEFAULT_EXEC = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                       "os.execv(sys.executable, [sys.executable] + sys.argv[1:])")


def start_cli(*args, env=None):
    return subprocess.Popen([sys.executable, "-c", SIGINT_DEFAULT_EXEC, "-m", "model", "translate", *map(str, args)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                            env=env or cli_env(), bufsize=0)


def read_line(stream, timeout: float) -> bytes:
    """One line from a pipe, failing if it has not fully arrived within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no complete output line within {timeout} s (got {line!r})")
        byte = os.read(stream.fileno(), 1)  # one byte at a time: never consume past this line
        if not byte:
            raise AssertionError(f"output closed before a complete line (got {line!r})")
        line += byte
    return line


def send(proc, text: str) -> None:
    proc.stdin.write(text.encode("utf-8"))
    proc.stdin.flush()


@posix_only
def test_each_line_is_answered_before_the_next_is_sent(model_dir):
    proc = start_cli("--model", model_dir, "--jsonl")
    try:
        for number, sentence in enumerate(["Go.", "Hi.", "Run!"]):
            send(proc, sentence + "\n")
            # stdin stays open and the next line is not written yet: the answer cannot be waiting for it.
            row = json.loads(read_line(proc.stdout, START_S if number == 0 else ANSWER_S))
            assert row["input"] == sentence and "translation" in row
        proc.stdin.close()
        assert proc.stdout.read() == b""  # exactly one output line per input line
        assert proc.wait(timeout=ANSWER_S) == 0, proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("strict", [True, False], ids=["strict-utf8", "c-utf8"])
def test_invalid_utf8_line_gets_its_own_error(model_dir, strict):
    # Python reads stdin with surrogateescape under C.UTF-8 but strictly under e.g. en_US.UTF-8,
    # where one bad byte used to fail the whole run with a traceback; PYTHONIOENCODING stands in for
    # that locale, which this machine may not have. Bytes are decoded per line either way.
    env = cli_env(LC_ALL="C.UTF-8", PYTHONUTF8="0", **({"PYTHONIOENCODING": "utf-8:strict"} if strict else {}))
    stdin = b"Go.\n\xff\xfe bad\nHi.\n"

    plain = run_cli("--model", model_dir, stdin=stdin, env=env)
    stderr = plain.stderr.decode("utf-8")
    assert "Traceback" not in stderr
    assert plain.returncode == 1  # a line failed; the others were translated
    assert len(plain.stdout.decode("utf-8").split("\n")) == 4 and plain.stdout.decode("utf-8").split("\n")[1] == ""
    (error,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert "line 2" in error and "UTF-8" in error and "0xff" in error

    jsonl = run_cli("--model", model_dir, "--jsonl", stdin=stdin, env=env)
    assert jsonl.returncode == 1 and "Traceback" not in jsonl.stderr.decode("utf-8")
    rows = [json.loads(line) for line in jsonl.stdout.decode("utf-8").splitlines()]
    assert [row["input"] for row in rows] == ["Go.", None, "Hi."]
    assert set(rows[1]) == {"input", "error"} and "line 2" in rows[1]["error"] and "UTF-8" in rows[1]["error"]
    assert "translation" in rows[0] and "translation" in rows[2]


def test_over_long_lines_get_a_fast_error_and_the_stream_goes_on(model_dir):
    at_limit = "a" * MAX_INPUT_CHARS
    stdin = ("a" * 1_000_000 + "\nGo.\n" + "a" * (MAX_INPUT_CHARS + 1) + "\n" + at_limit + "\nHi.").encode("ascii")
    began = time.monotonic()
    proc = run_cli("--model", model_dir, "--jsonl", stdin=stdin)
    assert time.monotonic() - began < START_S  # the 1 MB line alone used to take over a minute
    assert proc.returncode == 1, proc.stderr.decode("utf-8")
    rows = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert [row["input"] for row in rows] == [None, "Go.", None, at_limit, "Hi."]  # the last line has no newline
    for number, row in ((1, rows[0]), (3, rows[2])):
        assert set(row) == {"input", "error"}
        assert f"line {number}" in row["error"] and f"{MAX_INPUT_CHARS} characters" in row["error"]
    assert all("translation" in rows[i] for i in (1, 3, 4))

    args = run_cli("--model", model_dir, "a" * (MAX_INPUT_CHARS + 1), "Go.", stdin=b"")
    assert args.returncode == 1 and len(args.stdout.decode("utf-8").split("\n")) == 3
    assert "argument 1" in args.stderr.decode("utf-8") and f"{MAX_INPUT_CHARS} characters" in args.stderr.decode("utf-8")


@posix_only
def test_ctrl_c_flushes_and_exits_130_with_one_line(model_dir):
    proc = start_cli("--model", model_dir, "--jsonl")  # --jsonl: warnings go in the rows, not on stderr
    try:
        send(proc, "Go.\n")
        assert json.loads(read_line(proc.stdout, START_S))["input"] == "Go."
        proc.send_signal(signal.SIGINT)  # while it waits for the next line on an open stdin
        assert proc.wait(timeout=ANSWER_S) == 130
        stderr = proc.stderr.read().decode("utf-8")
        assert "Traceback" not in stderr
        assert len(stderr.strip().splitlines()) == 1 and "interrupted" in stderr
        assert proc.stdout.read() == b""
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_GETPIPE_SZ") if sys.platform != "win32" else True,
                    reason="reads the pipe's capacity: Linux")
def test_ctrl_c_while_a_warning_waits_on_a_full_stderr_counts_the_lines_written(model_dir):
    """Plain mode writes each line's warnings to stderr. When nobody reads stderr, a write blocks
    mid-batch; a Ctrl-C then must report exactly the lines that reach stdout (the summary used to
    count whole batches only, so it said 0 while a batch's first lines came out)."""
    import fcntl
    import termios

    proc = start_cli("--model", model_dir, env=cli_env(OPENBLAS_NUM_THREADS="1"))
    try:
        capacity = fcntl.fcntl(proc.stderr.fileno(), fcntl.F_GETPIPE_SZ)
        # Every "go." gets a warning of ~330 bytes suggesting a capital: the pipe fills a few hundred lines in.
        send(proc, "go.\n" * 2000)

        def waiting_on_stderr() -> int:
            size = bytearray(4)
            fcntl.ioctl(proc.stderr.fileno(), termios.FIONREAD, size)
            return int.from_bytes(size, sys.byteorder)

        deadline, last, still_since = time.monotonic() + START_S, -1, time.monotonic()
        while True:  # until the pipe is nearly full and has stopped growing: the command is blocked
            assert time.monotonic() < deadline and proc.poll() is None, "stderr never filled up"
            now = waiting_on_stderr()
            if now != last:
                last, still_since = now, time.monotonic()
            elif now > capacity - 1024 and time.monotonic() - still_since > 0.5:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=ANSWER_S)  # reading stderr lets the summary line out
        assert proc.returncode == 130
        summary = err.decode("utf-8").strip().splitlines()[-1]
        assert summary.startswith("interrupted by Ctrl-C after ") and "Traceback" not in err.decode("utf-8")
        answered = int(summary.split("after ")[1].split()[0])
        written = out.decode("utf-8").splitlines()
        assert 0 < answered == len(written) < 2000
    finally:
        proc.kill()
        proc.wait()


# tgkill(2) sends a signal to one thread of another process; Python has no wrapper for it.
SYS_TGKILL = {"x86_64": 234, "aarch64": 131}.get(__import__("platform").machine())


@pytest.mark.skipif(not sys.platform.startswith("linux") or SYS_TGKILL is None, reason="tgkill is Linux-only")
def test_ctrl_c_delivered_to_a_worker_thread_still_stops_a_waiting_read(model_dir):
    """The kernel may hand a Ctrl-C to any thread (BLAS's workers, the engine's decode threads). Then
    only a flag is set; the main thread, waiting in read() for the next line, must still notice."""
    import ctypes

    proc = start_cli("--model", model_dir, "--jsonl", env=cli_env(OPENBLAS_NUM_THREADS="2"))
    try:
        send(proc, "Go.\n")
        assert json.loads(read_line(proc.stdout, START_S))["input"] == "Go."
        others = sorted(int(tid) for tid in os.listdir(f"/proc/{proc.pid}/task") if int(tid) != proc.pid)
        if not others:
            pytest.skip("the command runs no thread besides its main one on this machine")
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.syscall(SYS_TGKILL, proc.pid, others[-1], int(signal.SIGINT)) == 0, ctypes.get_errno()
        assert proc.wait(timeout=ANSWER_S) == 130
        assert "interrupted" in proc.stderr.read().decode("utf-8")
    finally:
        proc.kill()
        proc.wait()


@posix_only
def test_a_closed_output_pipe_ends_the_run_quietly(model_dir):
    proc = start_cli("--model", model_dir)  # as in `python -m model translate < file | head -1`
    try:
        send(proc, "Go.\n")
        read_line(proc.stdout, START_S)
        proc.stdout.close()
        send(proc, "Hi.\n")
        proc.stdin.close()
        assert proc.wait(timeout=ANSWER_S) == 1
        assert "Traceback" not in proc.stderr.read().decode("utf-8")
    finally:
        proc.kill()
        proc.wait()


def _imported(stderr: str) -> set[str]:
    """The modules `python -X importtime` reported importing."""
    return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_translate_imports_neither_tensorflow_nor_keras(model_dir):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "model", "translate", "--model", model_dir, "Go."],
                          capture_output=True, text=True, cwd=REPO, env=cli_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    imported = _imported(proc.stderr)
    assert "model.translator" in imported  # the report is real
    assert not {name for name in imported if name.split(".")[0] in ("tensorflow", "keras", "tf_keras")}


# --- when the compiled kernels load (model/__main__.py, KERNELS_AFTER_S) ---------------------------


def test_a_file_read_at_once_is_translated_without_loading_the_kernels(model_dir, tmp_path):
    # Under auto, a short file is done before the kernels could repay their loading: numba is never imported.
    lines = tmp_path / "lines.txt"
    lines.write_text("Go.\nHi.\nRun!\n" * 50, encoding="utf-8")
    with lines.open("rb") as stdin:
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "model", "translate", "--model", model_dir],
                              stdin=stdin, capture_output=True, text=True, cwd=REPO,
                              env=cli_env(CL_S2S_ENGINE="auto"), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 150
    imported = _imported(proc.stderr)
    assert "model.translator" in imported  # the report is real
    assert "numba" not in imported and "model.kernels" not in imported


@posix_only
def test_waiting_for_input_loads_the_kernels_and_the_answer_still_comes(model_dir):
    # stdin stays open with nothing written: the CLI is idle, which is when the kernels load.
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "model", "translate", "--model", model_dir],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                            env=cli_env(CL_S2S_ENGINE="auto"), bufsize=0)
    try:
        seen = []
        while not any(line.rstrip().endswith("model.kernels") for line in seen):
            seen.append(read_line(proc.stderr, START_S).decode())  # -X importtime reports each import as it ends
        send(proc, "Go.\n")
        assert read_line(proc.stdout, ANSWER_S).strip()
        proc.stdin.close()
        assert proc.wait(timeout=ANSWER_S) == 0
    finally:
        proc.kill()
        proc.wait()
