"""A local OpenAI-compatible chat server on 127.0.0.1 for tests (no network, no real LLM).

``ChatStub(answer)`` serves ``POST`` requests on a free port; ``answer(body, request)`` (``request.path``, ``request.headers``) returns
``(status, payload)`` or ``(status, payload, delay_s)``, where ``payload`` is a dict (sent as JSON), a
str or bytes (sent as they are: a malformed body is a valid test case). ``url`` is the ``/v1`` base URL.
Use it as a context manager, or call :meth:`close`.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def chat_completion(text: str, model: str = "stub") -> dict:
    """The body of a successful chat completion whose answer is ``text``."""
    return {"id": "x", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class ChatStub:
    def __init__(self, answer):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw) if raw else {}
                status, payload, *delay = answer(body, self)
                if delay and delay[0]:
                    time.sleep(delay[0])
                data = payload if isinstance(payload, bytes) else (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
