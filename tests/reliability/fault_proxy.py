"""A small fault-injecting HTTP proxy in front of a real OpenAI-compatible server.

Every POST (a completion request) takes the next action of ``plan`` (cycled), or ``outage`` when
``down_for(body)`` says the server is down for that request (the test picks requests by what they
ask, e.g. one shard's problems, so a retried or slow request does not move the outage to others);
GETs (``/v1/models``) always pass. Actions:

* ``pass``      forward to the server and relay its answer
* ``500``/``429`` answer that status without asking the server (429 with ``Retry-After: 0``)
* ``drop``      close the connection without a reply (a crashed or restarted server)
* ``truncate``  answer 200 with the full Content-Length of a completion but half its body, and close
                (without asking the server, so the fault does not wait on the server's speed)
* ``timeout``   read the request and say nothing for ``stall`` seconds (longer than the client's timeout)
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACTIONS = ("pass", "500", "429", "drop", "truncate", "timeout")


class FaultProxy:
    def __init__(self, upstream: str, plan: list[str] | None = None, stall: float = 3.0) -> None:
        self.upstream = upstream.rstrip("/")  # http://127.0.0.1:PORT (no /v1)
        self.plan = plan or ["pass"]
        self.stall = stall
        self.down_for: Callable[[bytes], bool] | None = None  # POSTs it is true for get ``outage``
        self.outage = "500"
        self.posts = 0
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy._forward(self, b"", "pass")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy._forward(self, body, proxy._next_action(body))

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def reset(self, plan: list[str], down_for: Callable[[bytes], bool] | None = None, outage: str = "500") -> None:
        with self._lock:
            self.plan, self.down_for, self.outage, self.posts = plan, down_for, outage, 0
            self.injected = Counter()

    def _next_action(self, body: bytes) -> str:
        with self._lock:
            n = self.posts
            self.posts += 1
            if self.down_for is not None and self.down_for(body):
                action = self.outage
            else:
                action = self.plan[n % len(self.plan)]
            if action != "pass":
                self.injected[action] += 1
            return action

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes, action: str) -> None:
        if action in ("500", "429"):
            payload = f'{{"error": "injected HTTP {action}"}}'.encode()
            handler.send_response(int(action))
            if action == "429":
                handler.send_header("Retry-After", "0")
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return
        if action == "drop":
            handler.close_connection = True
            handler.connection.close()
            return
        if action == "timeout":
            time.sleep(self.stall)
            handler.close_connection = True
            handler.connection.close()
            return
        if action == "truncate":
            choice = {"text": " 42", "index": 0, "finish_reason": "stop"}
            payload = json.dumps({"object": "text_completion", "choices": [choice], "usage": {}}).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload[: len(payload) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.close()
            return
        request = urllib.request.Request(
            self.upstream + handler.path,
            data=body or None,
            method=handler.command,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as resp:
                status, payload = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
