"""Load test: the Space against a trivial echo Gradio app (the floor), both driven by gradio_client.

    python benchmarks/load_test.py                       # bundled default model
    python benchmarks/load_test.py --model PATH --clients 64 --requests 20

Starts `python app.py` and an echo app (this script with --serve-echo) as subprocesses on free
localhost ports, and for each one measures:
  start_to_first_call_s   process start until the first successful API call returns
  single                  one client, sequential requests: p50 / p99 latency
  concurrent              N clients in threads, R requests each: p50 / p99, throughput, errors
Prints one JSON object, including whether the issue's targets were met:
  single p50 within 10 ms of the echo floor; concurrent errors 0 and p99 within 5x the floor's
  concurrent p99; start to first call <= 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# English sentences the default model knows (the app's examples, from the training data).
SENTENCES = ["Go.", "I feel sick.", "Tom is tall.", "Give it to me!", "She was lying.", "I can help you.",
             "Summer is over.", "Can you help me?"]


def serve_echo(port: int) -> None:
    """The floor: one text in, the same text out, through the same queue settings as the app."""
    import gradio as gr

    async def echo(text: str) -> str:
        return text

    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        gr.Button().click(echo, box, out, api_name="translate", concurrency_limit=None)
    demo.queue(max_size=1024)
    demo.launch(server_name="127.0.0.1", server_port=port, quiet=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def start(cmd: list[str], port: int, timeout: float = 120.0) -> tuple[subprocess.Popen, float]:
    """Start a server and return (process, seconds from start to the first successful API call)."""
    from gradio_client import Client

    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TF_CPP_MIN_LOG_LEVEL": "2"}
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - began < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd} exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
        try:
            Client(url, verbose=False).predict("Go.", api_name="/translate")
            return proc, time.perf_counter() - began
        except Exception:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{cmd} gave no successful API call within {timeout} s")


def run_clients(url: str, clients: int, requests: int) -> dict:
    from gradio_client import Client

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        client = Client(url, verbose=False)
        ready.wait()
        for r in range(requests):
            text = SENTENCES[(index + r) % len(SENTENCES)]
            t0 = time.perf_counter()
            try:
                client.predict(text, api_name="/translate")
                with lock:
                    latencies.append(time.perf_counter() - t0)
            except Exception as err:  # count, don't stop: errors are a result
                with lock:
                    errors.append(f"{type(err).__name__}: {err}"[:200])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ms = [x * 1000 for x in latencies]
    return {
        "clients": clients, "requests_per_client": requests, "ok": len(latencies), "errors": len(errors),
        "error_samples": sorted(set(errors))[:3],
        "p50_ms": round(percentile(ms, 50), 2) if ms else None,
        "p99_ms": round(percentile(ms, 99), 2) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
        "throughput_rps": round(len(latencies) / elapsed, 1), "elapsed_s": round(elapsed, 2),
    }


def measure(name: str, cmd: list[str], port: int, args) -> dict:
    proc, first_call = start(cmd, port)
    try:
        url = f"http://127.0.0.1:{port}/"
        run_clients(url, 1, 10)  # warm-up: caches, the model's first batches
        single = run_clients(url, 1, args.single)
        concurrent = run_clients(url, args.clients, args.requests)
        return {"start_to_first_call_s": round(first_call, 2), "single": single, "concurrent": concurrent}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help="model source for app.py (default: the bundled default)")
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    parser.add_argument("--requests", type=int, default=20, help="requests per concurrent client (default 20)")
    parser.add_argument("--single", type=int, default=100, help="sequential requests for the single-client figure")
    parser.add_argument("--serve-echo", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_echo:
        serve_echo(args.serve_echo)
        return 0

    echo_port, app_port = free_port(), free_port()
    echo = measure("echo", [sys.executable, __file__, "--serve-echo", str(echo_port)], echo_port, args)
    app = measure("app", [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(app_port), "--model", args.model],
                  app_port, args)
    floor_single, floor_p99 = echo["single"]["p50_ms"], echo["concurrent"]["p99_ms"]
    result = {
        "model": args.model, "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
        "echo": echo, "app": app,
        "targets": {
            "single_p50_overhead_ms": round(app["single"]["p50_ms"] - floor_single, 2),
            "single_p50_within_10ms_of_floor": app["single"]["p50_ms"] - floor_single <= 10,
            "concurrent_zero_errors": app["concurrent"]["errors"] == 0,
            "concurrent_p99_ratio_to_floor": round(app["concurrent"]["p99_ms"] / floor_p99, 2),
            "concurrent_p99_within_5x_floor": app["concurrent"]["p99_ms"] <= 5 * floor_p99,
            "start_to_first_call_within_10s": app["start_to_first_call_s"] <= 10,
        },
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
