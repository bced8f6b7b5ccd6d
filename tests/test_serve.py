"""dlexp serve: a real server on a free port (in a thread, or the command in a
subprocess), asked over HTTP; the live page in a real browser. No training."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlexp.cli import cli
from dlexp.report.serve import Server, safe_file

ROOT = Path(__file__).resolve().parents[1]
SECRET = "not for the browser"
HALFWAY = "20260101-000004-halfway-eeeeee"


@pytest.fixture
def served(runs_dir):
    server = Server(runs_dir, port=0, interval=0.1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(timeout=10)
    server.close()


def request(server, path, method="GET", headers=None, body=None):
    """(status, headers, body) of one raw request, the path sent exactly as given."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for key, value in {"Host": f"127.0.0.1:{server.port}", **(headers or {})}.items():
            conn.putheader(key, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    finally:
        conn.close()


def rows(server) -> dict:
    status, _, body = request(server, "/api/rows")
    assert status == 200
    return json.loads(body)


def wait_for(check, timeout=20.0):
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > end:
            return value
        time.sleep(0.1)


def snapshot(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): (p.stat(follow_symlinks=False).st_mtime_ns, p.lstat().st_size)
        for p in sorted(folder.rglob("*"))
    }


def add_trial(runs_dir: Path, source="t003", new="t004"):
    """A trial more in the fixtures' search, as a search adds one (a folder renamed in)."""
    trials = runs_dir / "tinygrid" / "trials"
    for repeat in ("r0", "r1"):
        shutil.copytree(trials / f"{source}-{repeat}", trials / f".{new}-{repeat}.tmp")
        (trials / f".{new}-{repeat}.tmp").rename(trials / f"{new}-{repeat}")


def add_epoch(runs_dir: Path):
    """The running run writes its third epoch."""
    with open(runs_dir / HALFWAY / "history.csv", "a") as f:
        f.write("3,0.45,0.85,0.38,0.93,0.03,0.0031\n")


# --- paths -------------------------------------------------------------------------------


HOSTILE = [
    "/runs/../secret.txt",
    "/runs/%2e%2e/secret.txt",
    "/runs/%2E%2E/secret.txt",
    "/runs/..%2fsecret.txt",
    "/runs/%2e%2e%2fsecret.txt",
    "/runs/tinygrid/../../secret.txt",
    "/runs/tinygrid/%2e%2e/%2e%2e/secret.txt",
    "/runs/%252e%252e/secret.txt",
    "/runs/..%5csecret.txt",
    "/runs/%5c..%5csecret.txt",
    "/runs/%c0%ae%c0%ae/secret.txt",
    "/runs/%2fetc%2fpasswd",
    "/runs//etc/passwd",
    "/runs/SECRET_ABS",
    "/runs/link-out",
    "/runs/dir-out/secret.txt",
    "/runs/tinygrid/search.yaml%00.png",
    "/runs/%00",
    "/runs/",
    "/runs/tinygrid",
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/etc/passwd",
    "/detail/..%2f..%2fsecret.txt",
    "/detail/../index.html",
    "/api/../../secret.txt",
    "http://127.0.0.1/runs/../secret.txt",
    "/runs/.",
    "/runs/./tinygrid/search.yaml",
]


def test_only_the_page_and_files_under_runs_dir_are_served(runs_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    (runs_dir / "link-out").symlink_to(secret)
    (runs_dir / "dir-out").symlink_to(tmp_path, target_is_directory=True)
    (runs_dir / "link-in").symlink_to(runs_dir / "tinygrid" / "search.yaml")
    server = Server(runs_dir, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        up = os.path.relpath(secret, server.page)  # ../../pytest-…/secret.txt
        for path in [*HOSTILE, "/" + up, "/runs/" + os.path.relpath(secret, runs_dir)]:
            path = path.replace("SECRET_ABS", str(secret).lstrip("/"))
            status, _, body = request(server, path)
            assert status == 404, (path, status)
            assert SECRET.encode() not in body and b"root:" not in body, path
        search_yaml = (runs_dir / "tinygrid" / "search.yaml").read_bytes()
        for path in ("/runs/tinygrid/search.yaml", "/runs/link-in", "/runs/tinygrid/%73earch.yaml"):
            status, headers, body = request(server, path)
            assert (status, body) == (200, search_yaml), path
            assert headers["Content-Type"] == "text/plain; charset=utf-8"
        status, headers, body = request(server, "/")
        assert status == 200 and body.startswith(b"<!DOCTYPE html>") and b"live.js" in body
        assert request(server, "/live.js")[0] == request(server, "/index.html")[0] == 200
    finally:
        server.shutdown()
        thread.join()
        server.close()
    assert not server.page.exists()  # the page's folder goes with the server


def test_safe_file_refuses_what_leaves_the_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.txt").write_text("x")
    base = tmp_path / "a"
    assert safe_file(base, "f.txt") == base / "f.txt"
    for bad in ("", "/f.txt", "../a/f.txt", "./f.txt", "f.txt\x00", "..\\a\\f.txt", "nope", "."):
        assert safe_file(base, bad) is None, bad


def test_get_and_head_only(served, runs_dir):
    before = snapshot(runs_dir)
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW"):
        for path in ("/", "/api/rows", "/runs/tinygrid/search.yaml"):
            status, headers, _ = request(served, path, method, body=b"{}")
            assert status == 405 and headers["Allow"] == "GET, HEAD", (method, path)
    status, headers, body = request(served, "/api/rows", "HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 100
    assert snapshot(runs_dir) == before


def test_a_page_elsewhere_cannot_read_the_runs_through_a_name_that_points_here(served):
    assert request(served, "/api/rows", headers={"Host": "attacker.example"})[0] == 403
    assert request(served, "/", headers={"Host": f"localhost:{served.port}"})[0] == 200
    assert request(served, "/", headers={"Host": f"[::1]:{served.port}"})[0] == 200


# --- what the page is given ----------------------------------------------------------------


def test_rows_follow_the_runs_and_the_runs_are_never_written(served, runs_dir):
    before = snapshot(runs_dir)
    data = rows(served)
    ids = [r["id"] for r in data["rows"]]
    assert "tinygrid/t003" in ids and "tinygrid/t004" not in ids
    running = next(r for r in data["rows"] if r["id"] == HALFWAY)
    assert running["status"] == "running" and running["epoch"] == 2
    status, headers, _ = request(served, "/api/rows")
    etag = headers["ETag"]
    assert request(served, "/api/rows", headers={"If-None-Match": etag})[0] == 304
    for row in data["rows"]:  # every row's detail, its pictures drawn on the way
        status, headers, body = request(served, "/" + row["detail"])
        assert status == 200 and body.startswith(b"window.dlexpDetail({"), row["id"]
        for picture in json.loads(body[len("window.dlexpDetail(") : -3])["pictures"]:
            if picture["src"]:
                assert request(served, "/" + picture["src"])[0] == 200, picture
    assert list((served.page / "img").glob("*.png"))  # drawn beside the page
    for path in ("/runs/tinygrid/results.csv", "/runs/" + HALFWAY + "/run.json"):
        assert request(served, path)[0] == 200
    assert snapshot(runs_dir) == before  # nothing written there

    add_trial(runs_dir)
    add_epoch(runs_dir)

    def fresh():
        d = rows(served)
        got = {r["id"]: r for r in d["rows"]}
        return "tinygrid/t004" in got and got[HALFWAY]["epoch"] == 3 and d

    data = wait_for(fresh)
    assert data, rows(served)
    assert request(served, "/api/rows", headers={"If-None-Match": etag})[0] == 200


def test_a_detail_is_drawn_again_only_when_its_run_changed(served, runs_dir):
    name = next(r["detail"] for r in rows(served)["rows"] if r["id"] == HALFWAY)
    first = request(served, "/" + name)[2]
    assert request(served, "/" + name)[2] == first  # kept: nothing changed
    history = len(json.loads(first[len("window.dlexpDetail(") : -3])["history"])
    add_epoch(runs_dir)
    time.sleep(0.05)

    def redrawn():
        body = request(served, "/" + name)[2]
        return len(json.loads(body[len("window.dlexpDetail(") : -3])["history"]) == history + 1

    assert wait_for(redrawn)
    assert request(served, "/detail/nobody-0123456789.js")[0] == 404


# --- the command ---------------------------------------------------------------------------


def _start(runs_dir, tmp_path, *args):
    """`dlexp serve` in a subprocess, its temporary folders in tmp_path/tmp; returns the
    process and the URL it printed."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlexp.cli", "serve", str(runs_dir), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    assert "Serving" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, line.split(" at ")[1].split()[0]


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_it_cleanly(runs_dir, tmp_path, how):
    proc, url = _start(runs_dir, tmp_path)
    try:
        host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
        assert len(list((tmp_path / "tmp").iterdir())) == 1  # the page's folder
        proc.send_signal(how)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err and "authentication" not in err, (out, err)
    assert not list((tmp_path / "tmp").iterdir())  # its folder removed


def test_another_host_is_served_with_a_warning(runs_dir, tmp_path):
    proc, url = _start(runs_dir, tmp_path, "--host", "0.0.0.0")
    try:
        assert url.startswith("http://0.0.0.0:")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "no authentication" in err and "0.0.0.0" in err
    assert proc.returncode == 0


def test_a_port_in_use_and_other_mistakes_exit_2(runs_dir, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = CliRunner().invoke(cli, ["serve", str(runs_dir), "--port", str(port)])
    finally:
        taken.close()
    assert result.exit_code == 2, result.output
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "--port 0" in result.stderr and "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such folder" in result.stderr
    result = CliRunner().invoke(cli, ["serve", str(runs_dir), "--port", "70000"])
    assert result.exit_code == 2
    assert not list(tmp_path.glob("dlexp-serve-*"))


def test_serve_never_imports_tensorflow(runs_dir):
    code = (
        "import sys, threading, urllib.request, json\n"
        "from dlexp.cli import serve\n"
        "from dlexp.report.serve import Server\n"
        f"s = Server({str(runs_dir)!r}, port=0)\n"
        "threading.Thread(target=s.serve_forever, daemon=True).start()\n"
        "rows = json.load(urllib.request.urlopen(s.url + 'api/rows'))['rows']\n"
        "urllib.request.urlopen(s.url + rows[0]['detail']).read()\n"
        "s.shutdown(); s.close()\n"
        "print('HEAVY', [m for m in ('tensorflow', 'keras', 'jax', 'keras_tuner')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


# --- the live page in a real browser ---------------------------------------------------------


def test_the_served_page_follows_a_search_without_a_reload(served, runs_dir):
    from test_report import _browser

    browser, why = _browser()
    if browser is None:
        if os.environ.get("DLEXP_REQUIRE_BROWSER"):
            pytest.fail(f"the browser test must run here: {why}")
        pytest.skip(why)
    row = "return Array.from(document.querySelectorAll('tr[data-id]')).map(r => r.dataset.id)"
    status = (
        f"var r = document.querySelector(\"tr[data-id='{HALFWAY}']\"); return r && r.textContent"
    )
    badge = (
        "var b = document.getElementById('dlexp-live');return b && [b.dataset.state, b.textContent]"
    )
    try:
        browser.get(served.url)
        ids = wait_for(lambda: browser.execute_script(row))
        assert "tinygrid/t003" in ids and "tinygrid/t004" not in ids
        assert "epoch 2" in browser.execute_script(status)
        assert wait_for(lambda: (browser.execute_script(badge) or [""])[0] == "live")
        browser.execute_script("window.notReloaded = true")

        add_trial(runs_dir)
        add_epoch(runs_dir)
        assert wait_for(lambda: "tinygrid/t004" in browser.execute_script(row)), (
            browser.execute_script(badge)
        )
        assert wait_for(lambda: "epoch 3" in browser.execute_script(status))
        assert browser.execute_script("return window.notReloaded") is True
        assert "updated" in browser.execute_script(badge)[1]

        # a reply that is not the rows: the rows shown are kept, and it asks again
        browser.execute_script(
            "window.realFetch = window.fetch;"
            "window.fetch = () => Promise.resolve(new Response('{\"rows\": [', {status: 200}));"
        )
        assert wait_for(lambda: browser.execute_script(badge)[0] == "stale")
        assert "tinygrid/t004" in browser.execute_script(row)
        browser.execute_script("window.fetch = window.realFetch")
        assert wait_for(lambda: browser.execute_script(badge)[0] == "live")

        served.shutdown()
        served.close()
        assert wait_for(lambda: browser.execute_script(badge)[0] == "stopped", timeout=15)
        assert "server stopped" in browser.execute_script(badge)[1]
        assert "tinygrid/t004" in browser.execute_script(row)  # the last rows are kept
    finally:
        browser.quit()


@pytest.mark.slow
def test_a_real_search_adds_rows_to_the_served_page(tmp_path):
    from helpers import SMALL
    from test_report import _browser

    browser, why = _browser()
    if browser is None:
        if os.environ.get("DLEXP_REQUIRE_BROWSER"):
            pytest.fail(f"the browser test must run here: {why}")
        pytest.skip(why)
    grid = tmp_path / "small.yaml"
    grid.write_text(SMALL.replace("epochs: 2", "epochs: 30"))
    (tmp_path / "runs").mkdir()
    server = Server(tmp_path / "runs", port=0, interval=0.2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    search = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dlexp.cli",
            "search",
            str(grid),
            "--runs-dir",
            str(tmp_path / "runs"),
            "-q",
            "--stack",
            "1",  # one trial at a time, each published as it ends
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    row = "return Array.from(document.querySelectorAll('tr[data-id]')).map(r => r.textContent)"
    seen = set()
    try:
        browser.get(server.url)
        browser.execute_script("window.notReloaded = true")
        end = time.monotonic() + 600
        while time.monotonic() < end:
            done = search.poll() is not None
            shown = browser.execute_script(row)
            seen.add(len(shown))
            if done:
                break
            time.sleep(0.3)
        out = search.communicate(timeout=600)[0]
        assert search.returncode == 0, out
        assert wait_for(lambda: len(browser.execute_script(row)) == 6, timeout=30)
        assert wait_for(lambda: all("completed" in r for r in browser.execute_script(row)))
        assert browser.execute_script("return window.notReloaded") is True
        assert len(seen) >= 3, seen  # rows appeared one after another, while served
    finally:
        search.kill()
        browser.quit()
        server.shutdown()
        server.close()
