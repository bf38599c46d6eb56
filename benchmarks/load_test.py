"""Load test: the Space against a trivial echo Gradio app (the floor), both driven the same way.

    python benchmarks/load_test.py --mode rest           # REST + SSE from asyncio (benchmarks/rest_load.py)
    python benchmarks/load_test.py                       # gradio_client threads (the client is the bottleneck)
    python benchmarks/load_test.py --model PATH --clients 64 --requests 20

--mode rest runs benchmarks/rest_load.py in its own process against each server at 1, 16, 64 and
256 concurrent connections and reports, side by side: single-connection p50 / p99, requests/s and
p99 at each level, errors, and the mean batch size the app's BatchingEngine formed (read from the
app's hidden /engine_stats endpoint before and after). Targets: p50 within 10 ms of the echo floor,
throughput at 64 connections >= 80% of the floor's, 0 errors at 256 connections.

--mode client (the default, kept for comparison):

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
        # The app's /translate is a gr.api endpoint (JSON in, JSON out): the floor goes the same way.
        gr.api(echo, api_name="translate", concurrency_limit=None)
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

    # The echo floor gets the Gradio settings the app gives itself (space/gradio_fixes.py sets the
    # analytics cache frequency), so the comparison measures the app's own work, not a setting.
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TF_CPP_MIN_LOG_LEVEL": "2",
           "GRADIO_ANALYTICS_CACHE_FREQUENCY": os.environ.get("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")}
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


def stop(proc: subprocess.Popen) -> None:
    """Terminate a server, killing it if it has not exited within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


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
        stop(proc)


def engine_stats(url: str) -> dict | None:
    """The app's batching counters ({"requests", "batches"}), or None for a server without them (echo)."""
    from gradio_client import Client

    try:
        return Client(url, verbose=False).predict(api_name="/engine_stats")
    except Exception:  # the echo floor has no such endpoint
        return None


def measure_rest(cmd: list[str], port: int, connections: list[int], seconds: float,
                 settings: list[str] = ()) -> dict:
    """Start a server, drive it with rest_load.py in a separate process, and collect its figures."""
    proc, first_call = start(cmd, port)
    url = f"http://127.0.0.1:{port}/"
    try:
        before = engine_stats(url)
        load = subprocess.run([sys.executable, str(Path(__file__).with_name("rest_load.py")), "--url", url,
                               "--seconds", str(seconds), "--connections", *map(str, connections),
                               *[arg for item in settings for arg in ("--set", item)]],
                              capture_output=True, text=True, check=True)
        after = engine_stats(url)
        levels = {level["connections"]: level for level in json.loads(load.stdout)["levels"]}
        batches = None
        if before and after and after["batches"] > before["batches"]:
            batches = round((after["requests"] - before["requests"]) / (after["batches"] - before["batches"]), 2)
        return {"start_to_first_call_s": round(first_call, 2), "levels": levels, "mean_batch_size": batches}
    finally:
        stop(proc)


def main_rest(args) -> int:
    connections = args.connections
    echo_port, app_port = free_port(), free_port()
    echo = measure_rest([sys.executable, __file__, "--serve-echo", str(echo_port)], echo_port, connections, args.seconds)
    app = measure_rest([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(app_port), "--model", args.model],
                       app_port, connections, args.seconds, args.set)
    table = {
        n: {"echo_rps": echo["levels"][n]["requests_per_s"], "app_rps": app["levels"][n]["requests_per_s"],
            "echo_p99_ms": echo["levels"][n]["p99_ms"], "app_p99_ms": app["levels"][n]["p99_ms"],
            "echo_errors": echo["levels"][n]["errors"], "app_errors": app["levels"][n]["errors"]}
        for n in connections
    }
    result = {"mode": "rest", "model": args.model, "app_settings": args.set, "cpus": os.cpu_count(), "seconds_per_level": args.seconds,
              "load_average": [round(x, 2) for x in os.getloadavg()], "by_connections": table,
              "app_mean_batch_size": app["mean_batch_size"], "echo": echo, "app": app}
    targets = {}
    if 1 in table:
        p50_gap = app["levels"][1]["p50_ms"] - echo["levels"][1]["p50_ms"]
        targets.update(single_p50_ms={"echo": echo["levels"][1]["p50_ms"], "app": app["levels"][1]["p50_ms"]},
                       single_p50_within_10ms_of_floor=p50_gap <= 10)
    if 64 in table:
        ratio = table[64]["app_rps"] / table[64]["echo_rps"]
        targets.update(throughput_64_ratio_to_floor=round(ratio, 3), throughput_64_at_least_80pct=ratio >= 0.8)
    if 256 in table:
        targets.update(zero_errors_at_256=table[256]["app_errors"] == 0)
    result["targets"] = targets
    print(json.dumps(result, indent=2))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("client", "rest"), default="client",
                        help="rest: asyncio REST load in its own process; client: gradio_client threads (default)")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16, 64, 256],
                        help="--mode rest: concurrent connections per level (default 1 16 64 256)")
    parser.add_argument("--seconds", type=float, default=10.0, help="--mode rest: seconds per level (default 10)")
    parser.add_argument("--model", default="default", help="model source for app.py (default: the bundled default)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="--mode rest: a /translate parameter other than its default for the app's requests, "
                             "e.g. --set method=greedy (the echo floor takes only the text); repeatable")
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    parser.add_argument("--requests", type=int, default=20, help="requests per concurrent client (default 20)")
    parser.add_argument("--single", type=int, default=100, help="sequential requests for the single-client figure")
    parser.add_argument("--serve-echo", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_echo:
        serve_echo(args.serve_echo)
        return 0
    if args.mode == "rest":
        return main_rest(args)

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
