"""Predictor service latency and throughput over real HTTP on 127.0.0.1.

Run: .venv/bin/python bench/predictor.py [--batch1 400] [--batch256 60] [--clients 16]

Trains a tiny model (synthetic bars, config/ml.yaml's feature shape, 2 epochs), starts the
predictor app with uvicorn in a thread and prints:
  1. latency p50/p99 of sequential requests of 1 window and of 256 windows (keep-alive,
     body pre-encoded; the client's JSON encoding time is printed beside), windows/s;
  2. concurrent throughput: `--clients` threads sending 1-window requests, requests/s and
     how many model calls the micro-batcher needed for them.
Request counts are bounded; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import numpy as np

from runtime.predictor.app import create_app
from runtime.predictor.local import serve_in_thread
from shared.ml.config import load_ml_config
from shared.ml.pipeline import train_artifact
from shared.ml.synthetic import generate


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def sequential(http: httpx.Client, url: str, x: np.ndarray, batch: int, n: int) -> None:
    """Service latency: the body is encoded once (client-side encoding is printed apart)."""
    t = time.perf_counter()
    body = json.dumps({"instances": x[:batch].tolist()}).encode()
    encode_ms = (time.perf_counter() - t) * 1000
    headers = {"content-type": "application/json"}
    for _ in range(5):  # warm the connection and the traced graph for this shape
        http.post(f"{url}/v1/predict", content=body, headers=headers).raise_for_status()
    times = []
    began = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        r = http.post(f"{url}/v1/predict", content=body, headers=headers)
        times.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    wall = time.perf_counter() - began
    print(f"batch {batch:4d} x {n:4d} sequential: p50 {_percentile(times, 50):7.2f} ms | "
          f"p99 {_percentile(times, 99):7.2f} ms | {n / wall:7.1f} req/s | "
          f"{n * batch / wall:9.0f} windows/s | body {len(body) / 1e6:.2f} MB, "
          f"client JSON encode {encode_ms:.1f} ms")


def concurrent(url: str, x: np.ndarray, clients: int, per_client: int) -> None:
    body = {"instances": x[:1].tolist()}
    before = httpx.get(f"{url}/health").json()["batches"]
    times: list[float] = []

    def worker(_: int) -> None:
        with httpx.Client(timeout=30) as http:
            for _ in range(per_client):
                t = time.perf_counter()
                http.post(f"{url}/v1/predict", json=body).raise_for_status()
                times.append((time.perf_counter() - t) * 1000)

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    wall = time.perf_counter() - began
    after = httpx.get(f"{url}/health").json()["batches"]
    n = clients * per_client
    calls = after["model_calls"] - before["model_calls"]
    print(f"batch    1 x {n:4d} from {clients} clients: p50 {_percentile(times, 50):7.2f} ms | "
          f"p99 {_percentile(times, 99):7.2f} ms | {n / wall:7.1f} req/s | "
          f"{calls} model calls ({n / max(calls, 1):.1f} requests per call)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch1", type=int, default=400)
    parser.add_argument("--batch256", type=int, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-client", type=int, default=40)
    args = parser.parse_args()

    cfg = load_ml_config()
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"max_epochs": 2})})
    series = generate(2 * 1440, cfg.features.venues, seed=3)
    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        trained = train_artifact(series, cfg, out, created_at=datetime.now(UTC),
                                 source="synthetic", seed=3, days=2)
        print(f"trained {trained.meta.version} in {time.perf_counter() - began:.1f} s "
              f"(window {cfg.features.window} x {cfg.features.n_features} features, "
              f"LSTM({cfg.model.units}))")
        x = trained.prepared.dataset.test.x
        x = np.concatenate([x] * (256 // len(x) + 1))[:256] if len(x) < 256 else x
        with serve_in_thread(create_app(out, cfg.server)) as url:
            health = httpx.get(f"{url}/health").json()
            print(f"serving on {url} | device {health['device']} | {health['framework']} | "
                  f"batch wait {cfg.server.batch_wait_ms} ms, max batch {cfg.server.max_batch}")
            with httpx.Client(timeout=30) as http:
                sequential(http, url, x, 1, args.batch1)
                sequential(http, url, x, 256, args.batch256)
            concurrent(url, x, args.clients, args.per_client)


if __name__ == "__main__":
    main()
