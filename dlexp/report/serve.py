"""``dlexp serve``: the report's page served on this machine, kept up to date while a
search runs (new trials appear, a running one shows its latest epoch, without a reload).

Built on the standard library's ``http.server.ThreadingHTTPServer``: no new dependency,
and a few routes are all it needs. It answers GET and HEAD only (any other method: 405):

- ``/`` and the page's files: ``index.html`` and what :func:`dlexp.report.write_html`
  writes beside it (``live=True``, no still pictures), in a temporary folder the server
  owns and removes when it stops;
- ``/api/rows``: the page's data (:func:`dlexp.report.explore.page_data`) as JSON, from
  a report rebuilt in the background while someone asks, at most once a second (and
  never more than half the time: a report that takes 10 s to read is read every 20 s);
- ``/detail/<name>.js``: a row's detail script, its pictures drawn when it is first
  asked for and again only once its run has changed;
- ``/runs/<path>``: a file under RUNS_DIR, and none outside it, whatever the URL says
  (``..``, an encoded one, a symbolic link that leads out, a NUL).

It reads RUNS_DIR and never writes there. Bound to a loopback address (the default) it
also answers only requests that name this machine in their Host header, so a web page
elsewhere cannot read the runs through a DNS name that points here. There is no
authentication: bound to another address, anyone who can reach it reads the runs.
"""

from __future__ import annotations

import errno
import ipaddress
import mimetypes
import os
import shutil
import socket
import socketserver
import sys
import tempfile
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dlexp.core.errors import ConfigError
from dlexp.report.live import INTERVAL_S, LiveReport

__all__ = ["Server", "is_loopback", "safe_file"]

LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
TYPES = {  # what a browser shows rather than downloads
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".json": "application/json",
    ".yaml": "text/plain",
    ".yml": "text/plain",
    ".csv": "text/plain",
    ".txt": "text/plain",
    ".log": "text/plain",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address only this machine can reach (127.0.0.1, ::1,
    localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def safe_file(base: Path, relative: str) -> Path | None:
    """The file ``relative`` (a URL's path, percent-decoded, after its prefix) names
    under the folder ``base`` (resolved), or None: for a name with a NUL, a backslash, a
    ``..`` or ``.`` part or a leading ``/``, for a folder, for what does not exist, and
    for whatever resolves outside ``base`` (a symbolic link that leads out)."""
    if not relative or "\x00" in relative or "\\" in relative or relative.startswith("/"):
        return None
    if any(part in ("..", ".") for part in relative.split("/")):
        return None
    try:
        path = (base / relative).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, a link loop, a name too long
        return None
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "dlexp-serve"
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str):
        # http.server looks up do_<METHOD>: every method but GET and HEAD is refused
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self.close_connection = True  # its body, if any, is never read
        self._send(
            HTTPStatus.METHOD_NOT_ALLOWED, b"only GET and HEAD\n", extra={"Allow": "GET, HEAD"}
        )

    def do_HEAD(self) -> None:
        self.do_GET(body=False)

    def do_GET(self, body: bool = True) -> None:
        self._body = body
        if not self._host_allowed():
            self._send(HTTPStatus.FORBIDDEN, b"this server answers only to this machine's names\n")
            return
        target = self.path if self.path.startswith("/") else urlsplit(self.path).path
        try:  # decoded once: %2e%2e is '..' (refused), %252e%252e a name of that text
            path = unquote(target.partition("?")[0].partition("#")[0], errors="strict")
        except UnicodeDecodeError:
            self._not_found()
            return
        live = self.server.live
        try:
            if path in ("/", "/index.html"):
                self._file(self.server.page / "index.html")
            elif path == "/api/rows":
                rows, etag = live.ask()
                if etag and self.headers.get("If-None-Match") == etag:
                    self._send(HTTPStatus.NOT_MODIFIED, b"", extra={"ETag": etag})
                else:
                    self._send(HTTPStatus.OK, rows, "application/json", {"ETag": etag})
            elif path.startswith("/detail/") and "/" not in path[8:]:
                script = live.detail(path[8:])
                if script is None:
                    self._not_found()
                else:
                    self._send(HTTPStatus.OK, script, TYPES[".js"])
            elif path.startswith("/runs/"):
                self._file(safe_file(self.server.runs_dir, path[6:]))
            elif path.startswith("/api/"):
                self._not_found()
            else:
                self._file(safe_file(self.server.page, path[1:]))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away
        except Exception as exc:
            self.log_error("%s: %s", self.path, exc)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, f"{exc}\n".encode())

    def _host_allowed(self) -> bool:
        if not is_loopback(self.server.host):
            return True  # reachable by name from elsewhere: the warning said so
        host = (self.headers.get("Host") or "").strip().lower()
        if host.startswith("["):
            host = host[1:].partition("]")[0]
        elif host.count(":") == 1:
            host = host.partition(":")[0]
        return host in LOCAL_NAMES or host == self.server.host

    def _file(self, path: Path | None) -> None:
        if path is None:
            self._not_found()
            return
        try:
            f = open(path, "rb")
        except OSError:
            self._not_found()
            return
        with f:
            size = os.fstat(f.fileno()).st_size
            kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
            self._headers(HTTPStatus.OK, size, kind or "application/octet-stream")
            if self._body:
                shutil.copyfileobj(f, self.wfile)

    def _not_found(self) -> None:
        self._send(HTTPStatus.NOT_FOUND, b"not found\n")

    def _send(
        self, status, data: bytes, kind: str = "text/plain; charset=utf-8", extra=None
    ) -> None:
        self._headers(status, len(data), kind, extra)
        if getattr(self, "_body", True) and status != HTTPStatus.NOT_MODIFIED:
            self.wfile.write(data)

    def _headers(self, status, length: int, kind: str, extra=None) -> None:
        self.send_response(status)
        if kind.startswith("text/") and "charset" not in kind:
            kind += "; charset=utf-8"
        self.send_header("Content-Type", kind)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
        pass  # a line per request would bury the URL and the warnings

    def log_error(self, format: str, *args) -> None:  # noqa: A002
        print("warning: " + format % args, file=sys.stderr)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    live: LiveReport
    page: Path
    runs_dir: Path
    host: str

    def __init__(self, *args, **kwargs):
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End the connections kept open (HTTP/1.1 keeps them alive): a browser's next
        request then finds no server, rather than a thread still answering."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return  # a browser that went away, mid-request or between two
        print(f"warning: a request from {client_address[0]} failed: {error!r}", file=sys.stderr)

    def server_bind(self) -> None:
        # HTTPServer's asks the DNS for the host's full name (socket.getfqdn), which
        # can take seconds on a machine without one; the URL printed uses the host given
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class Server:
    """The page of RUNS_DIR served at ``http://HOST:PORT/``: builds the report, writes
    the page into a temporary folder and binds the port (``port=0``: a free one).
    ``serve_forever`` answers until ``shutdown``; ``close`` (or leaving a ``with``
    block) releases the port and removes the folder.

    Raises:
        ConfigError: RUNS_DIR cannot be read, the port is in use (or not ours to
            take), or the host is not an address of this machine.
    """

    def __init__(
        self, runs_dir: str | Path, host: str = "127.0.0.1", port: int = 0, *, interval=INTERVAL_S
    ):
        from dlexp.report.html import write_html

        runs_dir = Path(runs_dir)
        if not runs_dir.is_dir():
            raise ConfigError(f"no such folder {str(runs_dir)!r}", "RUNS_DIR")
        self.runs_dir = runs_dir.resolve()
        self.host = host
        self.page = Path(tempfile.mkdtemp(prefix="dlexp-serve-")).resolve()
        try:
            self.live = LiveReport(self.runs_dir, self.page, interval)
            report = self.live.refresh()
            write_html(report, self.page, live=True, pictures=False)
            self.httpd = _bind(host, port)
        except BaseException:
            shutil.rmtree(self.page, ignore_errors=True)
            raise
        self.httpd.live, self.httpd.page = self.live, self.page
        self.httpd.runs_dir, self.httpd.host = self.runs_dir, host
        self.port = self.httpd.server_address[1]
        self._closed = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve_forever(self) -> None:
        """Answer requests until ``shutdown`` (from another thread) or Ctrl-C."""
        self.live.start()
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        """Stop ``serve_forever`` (call it from another thread than the one serving)."""
        self.httpd.shutdown()

    def close(self) -> None:
        """Release the port, stop rebuilding and remove the page's folder."""
        if self._closed:
            return
        self._closed = True
        self.live.stop()
        self.httpd.server_close()
        self.httpd.close_connections()
        shutil.rmtree(self.page, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _bind(host: str, port: int) -> _HTTPServer:
    """The server bound to (host, port), or a ConfigError that names them."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    cls = type("_Server", (_HTTPServer,), {"address_family": family})
    try:
        return cls((host.strip("[]"), port), _Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is in use (another dlexp serve?): choose another, "
                "or --port 0 for a free one",
                "--port",
            ) from None
        if exc.errno == errno.EACCES:
            raise ConfigError(
                f"port {port} needs root here: choose one from 1024, or --port 0", "--port"
            ) from None
        if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(
                f"{host!r} is not an address of this machine ({exc.strerror or exc})", "--host"
            ) from None
        raise
