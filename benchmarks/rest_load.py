"""A load generator for a Gradio app over its REST protocol, from asyncio with httpx, in one process.

    python benchmarks/rest_load.py --url http://127.0.0.1:7860/ --connections 1 16 64 256 --seconds 10

gradio_client spends most of a 2-core machine on its own threads (an app that does nothing answers
only ~14 requests/s through 64 of them), so the figure would say nothing about the app. Here each
"connection" is an asyncio task on one event loop that repeats what gradio_client does underneath:

    POST /gradio_api/call/<api_name>  {"data": [...]}        -> {"event_id": ...}
    GET  /gradio_api/call/<api_name>/<event_id>  (SSE)       -> "event: complete" / "event: error"

The request's parameters are read from the app's own /gradio_api/info, so the generator works on any
app with that endpoint (here: the Space and the echo floor). Run it as its own process (load_test.py
does), so the client never shares an interpreter with the server. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

SENTENCES = ["Go.", "I feel sick.", "Tom is tall.", "Give it to me!", "She was lying.", "I can help you.",
             "Summer is over.", "Can you help me?"]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


async def endpoint_defaults(client, url: str, api_name: str, overrides: dict | None = None) -> tuple[list, int]:
    """(positional data with every parameter's default, index of the text parameter) from /gradio_api/info.
    `overrides` (parameter name -> value) replaces defaults; a name the endpoint lacks is an error.

    Waits up to 120 s for the app to answer, so it can be started right after the server.
    """
    import httpx

    deadline = time.perf_counter() + 120
    while True:
        try:
            info = (await client.get(f"{url}gradio_api/info")).raise_for_status().json()
            break
        except httpx.HTTPError:
            if time.perf_counter() > deadline:
                raise
            await asyncio.sleep(0.2)
    endpoint = info["named_endpoints"][f"/{api_name}"]
    data, text_index = [], None
    overrides = dict(overrides or {})
    for index, parameter in enumerate(endpoint["parameters"]):
        data.append(overrides.pop(parameter.get("parameter_name"), parameter.get("parameter_default")))
        if text_index is None and parameter.get("parameter_name") in ("text", "english"):
            text_index = index
    if overrides:
        raise SystemExit(f"--set: /{api_name} has no parameter {', '.join(map(repr, overrides))}; it has "
                         f"{', '.join(p.get('parameter_name') for p in endpoint['parameters'])}")
    return data, 0 if text_index is None else text_index


async def one_request(client, url: str, api_name: str, data: list) -> None:
    """POST the call, then read its SSE stream until the result; raise on an error event."""
    posted = await client.post(f"{url}gradio_api/call/{api_name}", json={"data": data})
    posted.raise_for_status()
    event_id = posted.json()["event_id"]
    event = None
    async with client.stream("GET", f"{url}gradio_api/call/{api_name}/{event_id}") as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                if event == "error":
                    raise RuntimeError(f"error event: {line[5:].strip()[:200]}")
                return
    raise RuntimeError(f"stream ended without a result (last event {event!r})")


async def run_level(url: str, api_name: str, connections: int, seconds: float, overrides: dict | None = None) -> dict:
    import httpx

    # Idle connections expire after 2 s, under uvicorn's 5 s keep-alive (Gradio does not change it):
    # with httpx's default expiry, also 5 s, the client now and then reuses a connection in the very
    # moment the server closes it, and the request fails with httpx.ReadError although the server is
    # fine. Every HTTP client talking to uvicorn needs this; the server has nothing to fix.
    limits = httpx.Limits(max_connections=connections * 2, max_keepalive_connections=connections * 2,
                          keepalive_expiry=2.0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits) as client:
        template, text_index = await endpoint_defaults(client, url, api_name, overrides)
        for sentence in SENTENCES:  # warm-up: every sentence once
            await one_request(client, url, api_name, [*template[:text_index], sentence, *template[text_index + 1:]])
        latencies: list[float] = []
        errors: list[str] = []
        deadline = time.perf_counter() + seconds

        async def connection(index: int) -> None:
            r = 0
            while time.perf_counter() < deadline:
                data = list(template)
                data[text_index] = SENTENCES[(index + r) % len(SENTENCES)]
                r += 1
                started = time.perf_counter()
                try:
                    await one_request(client, url, api_name, data)
                    latencies.append(time.perf_counter() - started)
                except Exception as err:  # counted, not fatal: errors are a result
                    errors.append(f"{type(err).__name__}: {err}"[:200])

        began = time.perf_counter()
        await asyncio.gather(*(connection(i) for i in range(connections)))
        elapsed = time.perf_counter() - began
    ms = [x * 1000 for x in latencies]
    return {
        "connections": connections, "ok": len(latencies), "errors": len(errors),
        "error_samples": sorted(set(errors))[:3],
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(ms, 50), 2) if ms else None,
        "p99_ms": round(percentile(ms, 99), 2) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
        "elapsed_s": round(elapsed, 2),
    }


def _parse_setting(item: str) -> tuple[str, object]:
    name, equals, value = item.partition("=")
    if not equals or not name:
        raise SystemExit(f"--set takes NAME=VALUE, e.g. method=greedy; got {item!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="the app's root URL, e.g. http://127.0.0.1:7860/")
    parser.add_argument("--api-name", default="translate", help="endpoint to call (default: translate)")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16, 64, 256],
                        help="concurrent connections, one level each (default: 1 16 64 256)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load per level (default 10)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="send VALUE (JSON, else a string) for the parameter NAME instead of its default, "
                             "e.g. --set method=greedy; repeatable")
    args = parser.parse_args(argv)
    url = args.url if args.url.endswith("/") else args.url + "/"
    overrides = dict(_parse_setting(item) for item in args.set)
    levels = [asyncio.run(run_level(url, args.api_name, n, args.seconds, overrides)) for n in args.connections]
    print(json.dumps({"url": url, "api_name": args.api_name, "levels": levels}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
