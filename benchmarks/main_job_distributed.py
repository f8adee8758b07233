"""Time the main job on Celery workers: four companies of 250,000 items on two workers, next to one
company of 1,000,000 items on one worker.

    python benchmarks/main_job_distributed.py [--store postgresql+psycopg2:///collections_bench]
                                              [--items 1000000] [--companies 4] [--format json]

Each company's ledger is a CSV file (as `main_job.py` writes them); each is imported and planned by the
task ``run_ledger`` on real Celery workers (``celery -A connectors.worker worker --pool=solo``) with a
real Redis broker (a redis-server of its own on a free port) and PostgreSQL as the store (its public
schema is emptied first: give a database of its own; ``createdb collections_bench`` makes one).
Figures: wall time from the first task sent to the last result, and each task's own phases.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from figures import print_figures  # a sibling module: the script's folder is on the path
from main_job import AS_OF, RATES, fresh_store, write_csv

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server", path="/usr/bin:/usr/sbin:" + os.environ.get("PATH", ""))
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                "no", "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return process, f"redis://127.0.0.1:{port}/0"


def start_workers(count: int, env: dict[str, str], folder: Path) -> list[subprocess.Popen[bytes]]:
    from connectors import worker

    workers = []
    for number in range(count):
        log = open(folder / f"worker{number}.log", "wb")  # noqa: SIM115 - closed with the process
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "connectors.worker", "worker", "--pool=solo", "-Q",
             worker.QUEUE_ACT, "-n", f"bench{number}@%h", "--without-gossip", "--without-mingle",
             "--loglevel=WARNING"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
    return workers


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def scenario(ledgers: list[Path], workers: int, env: dict[str, str], folder: Path) -> dict[str, Any]:
    """Send one task per ledger to ``workers`` new workers; wall time until every result is in."""
    from connectors import worker

    running = start_workers(workers, env, folder)
    try:
        time.sleep(3)  # let the workers connect before the clock starts
        rates = dict(rate.split("=") for rate in RATES)
        started = time.perf_counter()
        pending = [worker.run_ledger.delay(f"files:{path.stem}", str(path), f"{AS_OF}T09:00:00+00:00", "EUR", rates)
                   for path in ledgers]
        results = [task.get(timeout=3600) for task in pending]
        wall = time.perf_counter() - started
    finally:
        stop(running)
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise SystemExit(f"a task failed: {errors[0]}")
    slowest = max(results, key=lambda r: sum(r["timings"].values()))
    return {"wall_s": round(wall, 1), "actions_new": sum(r["actions_new"] for r in results),
            **{f"slowest_task_{name}_s": round(seconds, 1) for name, seconds in slowest["timings"].items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default="postgresql+psycopg2:///collections_bench")
    parser.add_argument("--items", type=int, default=1_000_000, help="items in all (split among the companies)")
    parser.add_argument("--companies", type=int, default=4)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="main-job-distributed-"))
    redis, redis_url = start_redis(folder)
    try:
        from connectors import worker

        worker.app.conf.broker_url = worker.app.conf.result_backend = redis_url
        env = {**os.environ, "ODOO_COLLECTIONS_BROKER_URL": redis_url, "ODOO_COLLECTIONS_REDIS_URL": redis_url,
               "ODOO_COLLECTIONS_STORE": args.store, "ODOO_COLLECTIONS_HOME": str(folder / "home"),
               "PYTHONPATH": str(REPO)}
        share = args.items // args.companies
        parts = [folder / f"company{n}.csv" for n in range(args.companies)]
        for path in parts:
            write_csv(path, share)
        whole = folder / "whole.csv"
        write_csv(whole, args.items)
        figures: dict[str, Any] = {"store": "postgresql", "broker": "redis"}
        fresh_store(folder, args.store, "distributed")
        from connectors.common.store import Store

        Store(args.store).migrate()
        split = scenario(parts, 2, env, folder)
        figures.update({f"{args.companies}x{share}_on_2_workers_{k}": v for k, v in split.items()})
        fresh_store(folder, args.store, "distributed")
        Store(args.store).migrate()
        single = scenario([whole], 1, env, folder)
        figures.update({f"1x{args.items}_on_1_worker_{k}": v for k, v in single.items()})
    finally:
        redis.terminate()
        shutil.rmtree(folder, ignore_errors=True)
    print_figures(figures, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
