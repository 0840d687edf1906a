"""A small threaded HTTP proxy on 127.0.0.1 that adds a fixed delay to every request (to stand in for
AWS's latency) and counts the API calls it forwards, by X-Amz-Target or by the query protocol's Action.

    python benchmarks/latency_proxy.py --upstream http://127.0.0.1:PORT [--delay 0.02] [--port 0]

Prints one JSON line {"endpoint_url": ...} when it listens, then serves until SIGTERM/SIGINT.
Two paths are answered by the proxy itself, without delay and without being counted:
GET /__proxy__/stats (JSON: {"total": N, "by_action": {...}}) and POST /__proxy__/reset.

Only loopback: it binds 127.0.0.1 and refuses an upstream that is not on 127.0.0.0/8 or localhost.
Run it in its own process, so that its work does not share the benchmark's GIL.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import signal
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length",
}


def _action(headers: object, body: bytes) -> str:
    target = headers.get("X-Amz-Target")  # type: ignore[attr-defined]
    if target:
        return target.rsplit(".", 1)[-1]
    if body:
        try:
            action = parse_qs(body.decode("ascii", "replace")).get("Action")
        except ValueError:
            action = None
        if action:
            return action[0]
    return "other"


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, action: str) -> None:
        with self._lock:
            self._counts[action] += 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"total": sum(self._counts.values()), "by_action": dict(sorted(self._counts.items()))}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def make_handler(upstream: tuple[str, int], delay: float, stats: Stats) -> type[BaseHTTPRequestHandler]:
    local = threading.local()

    def connection(fresh: bool = False) -> http.client.HTTPConnection:
        conn = getattr(local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = local.conn = http.client.HTTPConnection(*upstream, timeout=60)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm holds the
        # body until the client's delayed ACK (~40 ms on Linux), which would swamp the 20 ms we add.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

        def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _own(self) -> bool:
            if not self.path.startswith("/__proxy__/"):
                return False
            if self.path == "/__proxy__/reset":
                stats.reset()
            body = json.dumps(stats.snapshot()).encode()
            self._reply(200, [("Content-Type", "application/json")], body)
            return True

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self._own():
                return
            stats.add(_action(self.headers, body))
            time.sleep(delay)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            for attempt in (0, 1):
                conn = connection(fresh=attempt == 1)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    break
                except (http.client.HTTPException, OSError):
                    if attempt == 1:
                        self._reply(502, [("Content-Type", "text/plain")], b"proxy: upstream failed")
                        return
            self._reply(response.status, response.getheaders(), payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen() backlog: a burst of new connections must not be refused


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--delay", type=float, default=0.020, help="seconds added to every request (0.020)")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    upstream = urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname or not _loopback(upstream.hostname):
        parser.error("--upstream must be an http:// address on the loopback interface")

    stats = Stats()
    handler = make_handler((upstream.hostname, upstream.port or 80), args.delay, stats)
    server = _Server(("127.0.0.1", args.port), handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(json.dumps({"endpoint_url": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
