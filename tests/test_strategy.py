"""The --strategy code path: training runs under tf.distribute strategies on this CPU-only machine.

MirroredStrategy with no GPU mirrors over the single CPU device; MultiWorkerMirroredStrategy reads
TF_CONFIG, here a one-worker cluster on a free localhost port. Each run goes through train.py in a
subprocess (the strategy must be created before TensorFlow touches any device) and must produce a
checkpoint that loads and translates.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["mirrored", "multiworker"])
def test_train_under_strategy_writes_a_loadable_checkpoint(strategy, tmp_path, shared_data):
    env = dict(os.environ)
    if strategy == "multiworker":
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"localhost:{_free_port()}"]}, "task": {"type": "worker", "index": 0}})
    out = tmp_path / "ckpt"
    run = subprocess.run(
        [sys.executable, "train.py", "--recipe", "fast", "--tiny", "--epochs", "1", "--no-eval", "--strategy", strategy,
         "--data", str(shared_data), "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["strategy"] == strategy
    assert metadata["epochs_run"] == 1

    from model import checkpoint

    result = checkpoint.load(out).translate("Go.")
    assert result.steps and all(0.0 <= s.prob <= 1.0 for s in result.steps)


def test_unknown_strategy_is_rejected_before_training(tmp_path, shared_data):
    run = subprocess.run(
        [sys.executable, "train.py", "--strategy", "tpu", "--data", str(shared_data), "--out", str(tmp_path / "x")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 2
    assert "--strategy" in run.stderr and "mirrored" in run.stderr
    assert not (tmp_path / "x").exists()
