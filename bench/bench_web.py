"""Load benchmark of the web application: many concurrent clients on loopback.

Starts ``sillok serve`` on a demo archive (made first if the folder holds none), logs in, then
runs N concurrent clients for a while against the search page, a record page and the
dashboard, and prints JSON: requests per second, p50/p95/p99 latency per route, errors, and
the load average of the machine before and after each run.

With ``--workers 1,2`` the same load runs back to back against ``sillok serve --workers 1``
and ``--workers 2`` (sessions shared through the archive's database), and the JSON ends with
the ratios of the second to the first: on a machine shared with other jobs the ratios of one
run say more than the absolute figures.

    .venv/bin/python bench/bench_web.py --archive /tmp/bench-archive --acts 100000 \
        --clients 50 --seconds 30 --workers 1,2

The server runs in its own processes, so the load generator does not share its interpreter.

``--profile-pages N`` measures instead what each page costs in this process (no HTTP server,
no other clients): N requests of each page (an act's, a person's and a source's record page,
a search served from the cache and one that misses it, the dashboard, and a static file as
the floor of the ASGI stack and the client), with the SQL statements per request, counted by
SQLAlchemy's ``before_cursor_execute`` event, and CPU ms per request (the client's share
included: httpx's ASGI transport); ``--top 20`` adds each page's cProfile top 20 (own time).

    .venv/bin/python bench/bench_web.py --archive /tmp/bench-10k --acts 10000 --profile-pages 200
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

PASSPHRASE = os.environ.get("SILLOK_PASSPHRASE", "bench-passphrase")
SILLOK = [sys.executable, "-c", "from sillok.cli import main; main()"]
QUERIES = (
    "요덕",
    "Yodok",
    "김",
    "Hoeryong",
    "회령",
    "고문",
    "torture",
    "kwanliso",
    "여정",
    "Chongjin",
)
FILTERS: tuple[dict[str, str], ...] = (
    {"province": "KP-09"},
    {"act_type": "torture"},
    {"year": "1998"},
    {},
)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
#: the code whose functions a profile lists
LAYERS = ("sillok", "starlette", "fastapi", "jinja2", "sqlalchemy", "sqlcipher")



def _thread_profilers() -> tuple[list[cProfile.Profile], Callable[..., None]]:
    """A list of profilers and a ``threading.setprofile`` hook that starts one more in each new
    thread (the application's event loop and route threads) and appends it to the list."""
    profilers: list[cProfile.Profile] = []

    def start(*_args: Any) -> None:
        profiler = cProfile.Profile()
        profilers.append(profiler)
        sys.setprofile(None)
        profiler.enable()

    return profilers, start

def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_archive(folder: Path, size: int) -> None:
    """Make the demo archive if the folder holds none."""
    if folder.exists() and any(folder.iterdir()):
        return
    env = {**os.environ, "SILLOK_PASSPHRASE": PASSPHRASE}
    subprocess.run([*SILLOK, "demo", str(folder), "--size", str(size)], check=True, env=env)


def start_server(folder: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """``sillok serve`` in its own process(es); returns once it answers."""
    env = {**os.environ, "SILLOK_PASSPHRASE": PASSPHRASE}
    process = subprocess.Popen(
        [*SILLOK, "serve", str(folder), "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)  # a benchmark waiting for a server to start, not a test
        if process.poll() is not None:
            raise SystemExit(f"the server stopped with code {process.returncode}")
    process.kill()
    raise SystemExit("the server did not start within 300 s")


def log_in(base: str, user: str) -> httpx.Cookies:
    """A logged-in session's cookies (a minute's patience: on a loaded machine a login, with
    its argon2id, took longer than httpx's 5 s)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        page = client.get("/login")
        token = CSRF.search(page.text)
        assert token, "no CSRF token on the login page"
        answer = client.post(
            "/login",
            data={"username": user, "passphrase": PASSPHRASE, "csrf_token": token[1]},
        )
        if answer.status_code not in (200, 303):
            raise SystemExit(f"login failed: {answer.status_code}")
        return client.cookies


def pick(route: str, rng: random.Random, max_act: int) -> str:
    """One URL of a route."""
    if route == "search":
        params = {"q": rng.choice(QUERIES), **rng.choice(FILTERS)}
        return "/search?" + "&".join(f"{k}={v}" for k, v in params.items())
    if route == "record":
        return f"/records/act/{rng.randint(1, max_act)}"
    return "/dashboard"


async def client_loop(
    base: str,
    cookies: httpx.Cookies,
    stop_at: float,
    seed: int,
    max_act: int,
    results: dict[str, list[float]],
    errors: dict[str, int],
) -> None:
    """One client: requests one after another until the time is up."""
    rng = random.Random(seed)
    routes = ("search", "record", "dashboard")
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=base, cookies=cookies, limits=limits, timeout=60
    ) as client:
        turn = seed
        while time.monotonic() < stop_at:
            route = routes[turn % len(routes)]
            turn += 1
            url = pick(route, rng, max_act)
            started = time.perf_counter()
            try:
                answer = await client.get(url)
                ok = answer.status_code in (200, 404)  # a deleted id is a fair answer
            except httpx.HTTPError:
                ok = False
            elapsed = time.perf_counter() - started
            if ok:
                results[route].append(elapsed)
            else:
                errors[route] += 1


def summary(samples: list[float], seconds: float) -> dict[str, Any]:
    """Count, requests per second and percentiles in milliseconds."""
    if not samples:
        return {"count": 0}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {
        "count": len(ordered),
        "rps": round(len(ordered) / seconds, 1),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "mean_ms": round(1000 * statistics.fmean(ordered), 1),
    }


async def run(
    base: str, clients: int, seconds: float, max_act: int, warm_seconds: float = 10.0
) -> dict[str, Any]:
    """Warm up, then run the clients and gather the figures.

    The warm-up is load too (its figures are dropped): with several workers, each computes the
    first dashboard of 100k acts itself and opens the users' archives from their sessions' rows
    at its first request of them, which is not what is measured.
    """
    sessions = [log_in(base, "owner") for _ in range(min(clients, 5))]
    async with httpx.AsyncClient(base_url=base, cookies=sessions[0], timeout=300) as warm:
        await warm.get("/dashboard")  # the first count of 100k acts is not what is measured
    if warm_seconds > 0:
        dropped: dict[str, list[float]] = {"search": [], "record": [], "dashboard": []}
        ignored = {route: 0 for route in dropped}
        until = time.monotonic() + warm_seconds
        await asyncio.gather(
            *(
                client_loop(base, sessions[i % len(sessions)], until, i, max_act, dropped, ignored)
                for i in range(clients)
            )
        )
    results: dict[str, list[float]] = {"search": [], "record": [], "dashboard": []}
    errors = {route: 0 for route in results}
    started = time.monotonic()
    await asyncio.gather(
        *(
            client_loop(
                base, sessions[i % len(sessions)], started + seconds, i, max_act, results, errors
            )
            for i in range(clients)
        )
    )
    elapsed = time.monotonic() - started
    total = sum(len(v) for v in results.values())
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": total,
        "rps": round(total / elapsed, 1),
        "errors": errors,
        "routes": {route: summary(samples, elapsed) for route, samples in results.items()},
    }


def profile(folder: Path, requests: int, max_act: int) -> dict[str, Any]:
    """Where one request's time goes: the application in this process (no HTTP server, no
    other clients), ``requests`` sequential requests per route under cProfile; the mean time
    per route and the functions with the most cumulative time, grouped by layer."""
    import pstats

    from fastapi.testclient import TestClient

    from sillok.web import WebSettings, create_app

    app = create_app(folder, WebSettings(passphrase=PASSPHRASE))
    client = TestClient(app)
    token = CSRF.search(client.get("/login").text)
    assert token, "no CSRF token on the login page"
    client.post(
        "/login", data={"username": "owner", "passphrase": PASSPHRASE, "csrf_token": token[1]}
    )
    rng = random.Random(7)
    out: dict[str, Any] = {}
    try:
        for route in ("search", "record", "dashboard"):
            client.get(pick(route, rng, max_act))  # the first one fills the caches
            # The application runs in threads the test client starts for each request (its
            # event loop, the thread pool of the routes): each new thread gets a profiler.
            profilers, start = _thread_profilers()
            threading.setprofile(start)
            started = time.perf_counter()
            for _ in range(requests):
                client.get(pick(route, rng, max_act))
            mean = 1000 * (time.perf_counter() - started) / requests
            threading.setprofile(None)
            for profiler in profilers:
                profiler.disable()
            stats = pstats.Stats(*profilers)
            rows = []
            table = stats.stats  # type: ignore[attr-defined]
            for (path, line, name), (_cc, _nc, _tt, cum, _callers) in table.items():
                if any(layer in path for layer in LAYERS):
                    where = path.split("site-packages/")[-1].split("wt-workers/")[-1]
                    rows.append((cum, f"{where}:{line} {name}"))
            rows.sort(reverse=True)
            out[route] = {
                "mean_ms": round(mean, 2),
                "top_cumulative_ms_per_request": [
                    [round(1000 * cum / requests, 2), where] for cum, where in rows[:25]
                ],
            }
    finally:
        app.state.web.close()
    return out


class StatementCounter:
    """Counts the SQL statements every engine of this process sends to its driver
    (SQLAlchemy's ``before_cursor_execute`` event), while entered."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def _seen(self, *_args: Any) -> None:
        with self._lock:
            self.count += 1

    def __enter__(self) -> StatementCounter:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.remove(Engine, "before_cursor_execute", self._seen)


async def page_urls(
    client: httpx.AsyncClient, rng: random.Random, max_act: int, n: int
) -> dict[str, list[str]]:
    """URLs of each page --profile-pages measures: record pages of acts that exist, of their
    victims and of their sources; searches; the dashboard."""
    acts: list[int] = []
    persons: list[int] = []
    sources: list[int] = []
    tries = 0
    while len(acts) < n and tries < 20 * n:
        tries += 1
        act = rng.randint(1, max_act)
        answer = await client.get(f"/api/records/act/{act}")
        if answer.status_code != 200:
            continue
        acts.append(act)
        links = answer.json()["links"]
        if "victim_id" in links:
            persons.append(links["victim_id"]["id"])
        sources.extend(s["id"] for s in answer.json()["lists"].get("sources", [])[:1])
    searches = [
        f"/search?q={q}" + "".join(f"&{k}={v}" for k, v in f.items())
        for q in QUERIES
        for f in FILTERS
    ]
    return {
        "record_act": [f"/records/act/{i}" for i in acts],
        "record_person": [f"/records/person/{i}" for i in persons or [1]],
        "record_source": [f"/records/source/{i}" for i in sources or [1]],
        "search_hit": ["/search?q=요덕&province=KP-09"],
        "search_miss": searches,
        "dashboard": ["/dashboard"],
        # the floor: a static file, through the same middleware and client, no session
        "static_file": ["/static/site.js"],
    }


async def _logged_in(app: Any) -> httpx.AsyncClient:
    """A client of the application in this process (httpx's ASGI transport), logged in."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web")
    token = CSRF.search((await client.get("/login")).text)
    assert token, "no CSRF token on the login page"
    await client.post(
        "/login", data={"username": "owner", "passphrase": PASSPHRASE, "csrf_token": token[1]}
    )
    return client


#: the rounds a page's requests are measured in: on a shared machine the least loaded round
#: (the lowest CPU per request) says more than the mean of all
ROUNDS = 5


async def _page_cost(
    app: Any, cookies: httpx.Cookies, page: str, cycle: list[str], requests: int
) -> dict[str, Any]:
    """Requests of one page, one at a time, in one event loop, in :data:`ROUNDS` rounds:
    statuses, SQL statements, CPU and wall time per request (the mean, and the least of the
    rounds' means)."""
    cache = app.state.web.cache
    statuses: dict[int, int] = {}
    rounds: list[tuple[float, float]] = []
    transport = httpx.ASGITransport(app=app)
    per_round = max(1, requests // ROUNDS)
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
        client.cookies = cookies
        with StatementCounter() as counter:
            for i in range(per_round * ROUNDS):
                if i % per_round == 0:
                    rounds.append((0.0, 0.0))
                if page == "search_miss":
                    cache.clear()  # every search computed afresh
                cpu_at, wall_at = time.process_time(), time.perf_counter()
                status = (await client.get(cycle[i % len(cycle)])).status_code
                cpu, wall = rounds[-1]
                rounds[-1] = (
                    cpu + time.process_time() - cpu_at,
                    wall + time.perf_counter() - wall_at,
                )
                statuses[status] = statuses.get(status, 0) + 1
    done = per_round * ROUNDS
    return {
        "requests": done,
        "statuses": statuses,
        "statements_per_request": round(counter.count / done, 2),
        "cpu_ms_per_request": round(1000 * sum(c for c, _w in rounds) / done, 2),
        "cpu_ms_per_request_best_round": round(1000 * min(c for c, _w in rounds) / per_round, 2),
        "wall_ms_per_request": round(1000 * sum(w for _c, w in rounds) / done, 2),
        "wall_ms_per_request_best_round": round(
            1000 * min(w for _c, w in rounds) / per_round, 2
        ),
    }


def profile_pages(
    folder: Path, requests: int, max_act: int, top: int, only: tuple[str, ...] = ()
) -> dict[str, Any]:
    """What each page costs in this process, one request at a time (httpx's ASGI transport:
    no HTTP server, no socket): SQL statements and CPU ms per request, and with ``top`` the
    functions with the most time of their own per request (cProfile, every thread)."""
    import pstats

    from sillok.web import WebSettings, create_app

    app = create_app(folder, WebSettings(passphrase=PASSPHRASE))

    async def prepare() -> tuple[httpx.Cookies, dict[str, list[str]]]:
        client = await _logged_in(app)
        try:
            urls = await page_urls(client, random.Random(7), max_act, min(requests, 50))
            for cycle in urls.values():
                for url in cycle[:3]:
                    await client.get(url)  # the first ones fill the caches, open connections
            return client.cookies, urls
        finally:
            await client.aclose()

    out: dict[str, Any] = {}
    try:
        cookies, urls = asyncio.run(prepare())
        for page, cycle in urls.items():
            if only and page not in only:
                continue
            # Each page in an event loop of its own: the routes' worker threads are new, and
            # each starts a profiler of its own.
            profilers, start = _thread_profilers()
            figures = asyncio.run(_page_cost(app, cookies, page, cycle, requests))
            if top:  # a second run under the profiler, whose figures are not kept
                threading.setprofile(start)
                start()
                asyncio.run(_page_cost(app, cookies, page, cycle, requests))
                threading.setprofile(None)
                for profiler in profilers:
                    profiler.disable()
                table = pstats.Stats(*profilers).stats  # type: ignore[attr-defined]
                rows = [
                    (own, f"{path.split('site-packages/')[-1]}:{line} {name}")
                    for (path, line, name), (_cc, _nc, own, _cum, _callers) in table.items()
                ]
                rows.sort(reverse=True)
                figures["top_own_ms_per_request"] = [
                    f"{1000 * own / requests:.3f} {where}" for own, where in rows[:top]
                ]
            out[page] = figures
    finally:
        app.state.web.close()
    return out


def measure(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    """One run against ``sillok serve --workers N``, with the load average around it."""
    port = free_port()
    server = start_server(args.archive, port, workers)
    try:
        before = os.getloadavg()
        figures = asyncio.run(
            run(f"http://127.0.0.1:{port}", args.clients, args.seconds, args.acts, args.warm)
        )
        after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=60)
    figures["workers"] = workers
    figures["load_average_before"] = [round(x, 2) for x in before]
    figures["load_average_after"] = [round(x, 2) for x in after]
    return figures


def ratios(first: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """``other`` over ``first``: throughput and each route's p50/p95."""
    out: dict[str, Any] = {"rps": round(other["rps"] / first["rps"], 2) if first["rps"] else None}
    for route, figures in first["routes"].items():
        theirs = other["routes"][route]
        out[route] = {
            q: round(theirs[q] / figures[q], 2)
            for q in ("p50_ms", "p95_ms")
            if figures.get(q) and theirs.get(q)
        }
    return out


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=Path("bench-web-archive"))
    parser.add_argument(
        "--acts",
        "--size",
        dest="acts",
        type=int,
        default=100_000,
        help="acts in a new demo archive (and the highest act id asked for)",
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warm", type=float, default=10.0, help="seconds of load not measured")
    parser.add_argument(
        "--workers", default="1", help="worker counts to run back to back, e.g. 1,2"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        help="instead of the load: N requests per route in this process under cProfile",
    )
    parser.add_argument(
        "--profile-pages",
        type=int,
        default=0,
        help="instead of the load: N requests of each page in this process, with SQL "
        "statements and CPU ms per request",
    )
    parser.add_argument(
        "--top", type=int, default=0, help="with --profile-pages: each page's cProfile top N"
    )
    parser.add_argument(
        "--pages", default="", help="with --profile-pages: only these pages (comma-separated)"
    )
    args = parser.parse_args()
    if args.profile_pages:
        ensure_archive(args.archive, args.acts)
        costs = {
            "archive_acts": args.acts,
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
            "pages": profile_pages(
                args.archive,
                args.profile_pages,
                args.acts,
                args.top,
                tuple(p for p in args.pages.split(",") if p),
            ),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(costs, indent=2, ensure_ascii=False))
        return
    if args.profile:
        ensure_archive(args.archive, args.acts)
        print(json.dumps(profile(args.archive, args.profile, args.acts), indent=2))
        return
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    ensure_archive(args.archive, args.acts)
    runs = [measure(args, n) for n in counts]
    report: dict[str, Any] = {
        "archive_acts": args.acts,
        "cpus": os.cpu_count(),
        "runs": runs,
    }
    if len(runs) > 1:
        report["ratios_to_first"] = {
            f"workers={r['workers']}": ratios(runs[0], r) for r in runs[1:]
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
