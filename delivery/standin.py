"""A local stand-in for Slack's Web API, for the tests and the demo (nothing else is reachable
from them): the few methods Pulse calls, answered as Slack documents them, every call recorded.

It is not Slack: it keeps its messages in memory, knows the people it is given, and can be told
to answer a method with 429 and a Retry-After, or to be slow, to test what the client does.
`manage.py chat_standin` runs one for the demo.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_TOKEN = "xoxb-standin-token"


@dataclass
class SlackStandIn:
    """The stand-in's state: who is in the workspace, what was posted, every call made."""

    users: dict[str, str] = field(default_factory=dict)  # e-mail -> user id
    client_id: str = "standin-client"
    client_secret: str = "standin-secret"
    team: tuple[str, str] = ("T0STANDIN", "Stand-in workspace")
    calls: list[tuple[str, dict]] = field(default_factory=list)
    posted: list[dict] = field(default_factory=list)
    throttle: dict[str, int] = field(default_factory=dict)  # method -> 429s still to give
    retry_after: int = 1
    delay: float = 0.0  # seconds each chat.postMessage takes, after it is recorded
    #: E-mail domains whose every address is someone of the workspace (the demo's people).
    domains: tuple[str, ...] = ()
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Any = field(default_factory=lambda: itertools.count(1))

    def user_add(self, email: str) -> str:
        user_id = f"U{len(self.users) + 1:06d}"
        self.users[email.lower()] = user_id
        return user_id

    def answer(self, method: str, params: dict, authorization: str) -> tuple[int, dict, dict]:
        with self.lock:
            self.calls.append((method, params))
            if self.throttle.get(method, 0) > 0:
                self.throttle[method] -= 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(self.retry_after)}
        if method == "oauth.v2.access":
            return 200, self._oauth(params, authorization), {}
        if authorization != f"Bearer {BOT_TOKEN}":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return 200, handler(params), {}

    def _oauth(self, params: dict, authorization: str) -> dict:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if authorization != f"Basic {expected}" and (params.get("client_id"), params.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return {"ok": False, "error": "invalid_client_id"}
        if params.get("code") != "standin-code":
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "access_token": BOT_TOKEN,
            "token_type": "bot",
            "scope": "chat:write,im:write,im:history,users:read,users:read.email",
            "bot_user_id": "B0STANDIN",
            "app_id": "A0STANDIN",
            "team": {"id": self.team[0], "name": self.team[1]},
        }

    def _users_lookupByEmail(self, params: dict) -> dict:
        email = str(params.get("email", "")).lower()
        with self.lock:
            if email not in self.users and email.rpartition("@")[2] in self.domains:
                self.user_add(email)
            user_id = self.users.get(email)
        if user_id is None:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "user": {"id": user_id, "deleted": False, "is_bot": False}}

    def _conversations_open(self, params: dict) -> dict:
        users = str(params.get("users", ""))
        if users not in self.users.values():
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + users[1:]}}

    def _chat_postMessage(self, params: dict) -> dict:
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        with self.lock:
            message = {
                "channel": params.get("channel"),
                "text": params.get("text"),
                "blocks": params.get("blocks"),
                "metadata": metadata,
                "ts": f"{int(time.time())}.{next(self._ts):06d}",
            }
            self.posted.append(message)
        if self.delay:
            time.sleep(self.delay)
        return {"ok": True, "channel": message["channel"], "ts": message["ts"]}

    def _conversations_history(self, params: dict) -> dict:
        channel = params.get("channel")
        with self.lock:
            found = [m for m in reversed(self.posted) if m["channel"] == channel]
        return {"ok": True, "messages": found[: int(params.get("limit", 100))], "has_more": False}


def _handler(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/outbox":
                with standin.lock:
                    people = {"D" + user_id[1:]: email for email, user_id in standin.users.items()}
                    posted = [{**m, "to": people.get(m["channel"], "")} for m in standin.posted]
                self._reply(200, {"messages": posted}, {})
                return
            if url.path == "/oauth/v2/authorize":  # the workspace admin approves at once
                query = dict(parse_qsl(url.query))
                back = f"{query.get('redirect_uri', '')}?code=standin-code&state={query.get('state', '')}"
                self.send_response(302)
                self.send_header("Location", back)
                self.end_headers()
                return
            self._api(url.path, dict(parse_qsl(url.query)))

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            params: dict = dict(parse_qsl(url.query))
            if "json" in (self.headers.get("Content-Type") or ""):
                params.update(json.loads(body or "{}"))
            else:
                params.update(parse_qsl(body))
            self._api(url.path, params)

        def _api(self, path: str, params: dict) -> None:
            method = path.rstrip("/").rsplit("/", 1)[-1]
            status, body, headers = standin.answer(method, params, self.headers.get("Authorization") or "")
            self._reply(status, body, headers)

        def _reply(self, status: int, body: dict, headers: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the calls are recorded

    return Handler


def standin_serve(standin: SlackStandIn, *, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Serve `standin` on a thread (port 0: any free port); `server.server_address` says where,
    `server.shutdown()` stops it."""
    server = ThreadingHTTPServer((host, port), _handler(standin))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
