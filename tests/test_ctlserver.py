"""The control socket's server side under use and abuse, with a tiny handler in its own process."""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from conftest import REPO
from toybox import ctlserver, protocol

# A daemon-shaped loop around ControlServer: one selector, timers for late replies.
SERVER = r"""
import os, selectors, sys, time, _signal
sys.path.insert(0, %(repo)r)
from toybox import ctlserver, protocol
protocol.SERVER_IDLE_TIMEOUT = float(os.environ.get("IDLE", "1.0"))  # keep the silent-client test short

path = sys.argv[1]
allowed = [int(u) for u in sys.argv[2].split(",")] if len(sys.argv) > 2 else None
timers = []

class Handler:
    def handle(self, req, reply):
        cmd = req["cmd"]
        if cmd == "echo":
            reply(protocol.reply_ok(echo=req))
        elif cmd == "later":
            timers.append((time.monotonic() + req.get("delay", 0.2), reply, req))
        elif cmd == "twice":
            reply(protocol.reply_ok(n=1))
            reply(protocol.reply_ok(n=2))
        elif cmd == "boom":
            raise RuntimeError("handler bug")
        elif cmd == "big":
            reply(protocol.reply_ok(data="x" * req["size"]))
        elif cmd == "count":
            reply(protocol.reply_ok(clients=len(server.clients), buffered=server.buffered))
        elif cmd == "reopen":
            server.reopen()
            reply(protocol.reply_ok())
        else:
            reply(protocol.reply_error("unknown command " + cmd, protocol.E_UNKNOWN_CMD))

sel = selectors.DefaultSelector()
try:
    server = ctlserver.ControlServer(path, sel, Handler(), allowed)
except ctlserver.ServerError as e:
    sys.stderr.write("server: %%s\n" %% e)
    sys.exit(1)
stop = []
_signal.signal(_signal.SIGTERM, lambda *a: stop.append(1))
print("ready", flush=True)
while not stop:
    now = time.monotonic()
    deadlines = [t[0] for t in timers]
    d = server.next_deadline()
    if d is not None:
        deadlines.append(d)
    timeout = max(0.0, min(deadlines) - now) if deadlines else 1.0
    for key, mask in sel.select(min(timeout, 1.0)):
        key.data(mask)
    now = time.monotonic()
    for t in [t for t in timers if t[0] <= now]:
        timers.remove(t)
        t[1](protocol.reply_ok(echo=t[2]))
    server.tick(now)
server.close()
"""


class Server:
    def __init__(self, tmp_path, allowed=None, idle=1.0):
        self.path = str(tmp_path / "ctl.sock")
        script = tmp_path / "server.py"
        script.write_text(SERVER % {"repo": REPO})
        argv = [sys.executable, "-S", str(script), self.path]
        if allowed is not None:
            argv.append(",".join(str(u) for u in allowed))
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=dict(os.environ, IDLE=str(idle)))
        line = self.proc.stdout.readline()
        if line != b"ready\n":
            self.proc.kill()
            raise AssertionError("server did not start: %r %r" % (line, self.proc.stderr.read()))

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop()


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    for _ in range(1000):
        try:
            s.connect(path)
            return s
        except BlockingIOError:     # the listen backlog is full: the server is accepting others
            time.sleep(0.01)
    raise AssertionError("could not connect to %s" % path)


def read_reply(s):
    buf = b""
    while b"\n" not in buf:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        buf += chunk
    assert buf.endswith(b"\n") and buf.count(b"\n") == 1, buf[:200]
    return json.loads(buf)


def exchange(path, raw):
    s = connect(path)
    try:
        try:
            s.sendall(raw)
        except BrokenPipeError:
            pass    # refused at once (busy) and closed: the reply is still there
        return read_reply(s)
    finally:
        s.close()


def ask(path, cmd, **args):
    return exchange(path, protocol.line(protocol.request(cmd, **args)))


def test_valid_request_gets_its_reply_on_a_0600_socket(server):
    assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o600
    r = ask(server.path, "echo", name="sshd", n=3)
    assert r == {"v": 1, "ok": True, "echo": {"v": 1, "cmd": "echo", "name": "sshd", "n": 3}}


@pytest.mark.parametrize("raw, code, words", [
    (b"hello there\n", "bad-request", "not a JSON line"),
    (b"\xff\xfe\n", "bad-request", "not a JSON line"),
    (b"[1, 2]\n", "bad-request", "JSON object"),
    (b'{"v": 1}\n', "bad-request", '"cmd"'),
    (b'{"v": 1, "cmd": 7}\n', "bad-request", '"cmd"'),
    (b'{"cmd": "echo"}\n', "version", "protocol version missing, expected 1"),
    (b'{"v": 2, "cmd": "echo"}\n', "version", "protocol version 2, expected 1"),
    (b'{"v": true, "cmd": "echo"}\n', "version", "protocol version true, expected 1"),
    (b'{"v": 1.0, "cmd": "echo"}\n', "version", "protocol version 1.0, expected 1"),
    (b'{"v": "1", "cmd": "echo"}\n', "version", 'protocol version "1", expected 1'),
    (b'{"v": 1, "cmd": "log", "name": "x", "lines": true}\n', "bad-request",
     "log: lines is true, not an integer"),
    (b'{"v": 1, "cmd": "log", "name": "x", "lines": 5.0}\n', "bad-request",
     "log: lines is 5.0, not an integer"),
    (b'{"v": 1, "cmd": "signal", "name": "x", "signal": false}\n', "bad-request",
     "signal: signal is false, not a signal number or name"),
    (b'{"v": 1, "cmd": "stop", "name": "x", "force": 1}\n', "bad-request",
     "stop: force is 1, not true or false"),
    (b'{"v": 1, "cmd": "status"}\n', "bad-request", 'status: no "name"'),
    (b'{"v": 1, "cmd": "status", "name": ["x"]}\n', "bad-request",
     'status: name is ["x"], not a string'),
    (b'{"v": 1, "cmd": "echo"} trailing\n', "bad-request", "extra data"),
])
def test_malformed_requests_get_an_error_reply(server, raw, code, words):
    r = exchange(server.path, raw)
    assert r["ok"] is False and r["code"] == code and words in r["error"], r
    assert ask(server.path, "echo")["ok"] is True


def test_handler_exception_is_an_error_reply_not_a_crash(server):
    r = ask(server.path, "boom")
    assert r["ok"] is False and "internal error" in r["error"] and "handler bug" in r["error"]
    assert server.alive() and ask(server.path, "echo")["ok"] is True


def test_a_second_reply_is_ignored(server):
    assert ask(server.path, "twice") == {"v": 1, "ok": True, "n": 1}


def test_late_reply_to_a_client_that_left_is_harmless(server):
    s = connect(server.path)
    s.sendall(protocol.line(protocol.request("later", delay=0.3)))
    s.close()
    time.sleep(0.6)
    assert server.alive() and ask(server.path, "echo")["ok"] is True


def test_oversized_lines_are_refused_and_memory_stays_bounded(server):
    before = server.rss_kb()
    results = []

    def flood():
        s = connect(server.path)
        try:
            try:
                s.sendall(b"x" * (10 * 1024 * 1024))
            except (BrokenPipeError, ConnectionResetError):
                pass
            results.append(read_reply(s))
        finally:
            s.close()

    threads = [threading.Thread(target=flood) for _ in range(4)]
    for t in threads:
        t.start()
    # Served while the floods are in progress.
    assert ask(server.path, "echo")["ok"] is True
    for t in threads:
        t.join(60)
    assert len(results) == 4
    for r in results:
        assert r["ok"] is False and r["code"] == "bad-request"
        assert "longer than %d bytes" % protocol.MAX_LINE in r["error"]
    # Four unbounded buffers would hold 40 MB.
    assert server.rss_kb() - before < 12 * 1024
    assert ask(server.path, "echo")["ok"] is True


def test_a_line_just_under_the_limit_is_read(server):
    pad = "y" * (protocol.MAX_LINE - 100)
    r = ask(server.path, "echo", pad=pad)
    assert r["ok"] is True and r["echo"]["pad"] == pad


def test_silent_and_slow_clients_are_dropped_and_others_served(server):
    silent = connect(server.path)
    slow = connect(server.path)
    slow.sendall(b'{"v": 1, ')
    assert ask(server.path, "echo")["ok"] is True
    # The test server's idle timeout is 1 s: both see end-of-file, with no reply.
    for s in (silent, slow):
        s.settimeout(10)
        assert s.recv(100) == b""
        s.close()


def test_200_concurrent_clients_each_get_their_own_reply(server):
    socks = [connect(server.path) for _ in range(200)]
    # Half a request from everyone first, so all 200 are open and unanswered at once.
    for i, s in enumerate(socks):
        s.sendall(b'{"v": 1, "cmd": "later", "delay": 0.2, ')
    for i, s in enumerate(socks):
        s.sendall(b'"id": %d}\n' % i)
    for i, s in enumerate(socks):
        r = read_reply(s)
        assert r["ok"] is True and r["echo"]["id"] == i
        s.close()
    assert server.alive()


def test_connections_beyond_the_limit_get_busy(server):
    held = [connect(server.path) for _ in range(ctlserver.MAX_CLIENTS)]
    try:
        # Let the server accept them all before the extra one arrives.
        assert ask(server.path, "echo")["code"] == "busy"
        extra = connect(server.path)
        r = read_reply(extra)
        extra.close()
        assert r["ok"] is False and r["code"] == "busy"
    finally:
        for s in held:
            s.close()
    for _ in range(50):
        r = ask(server.path, "echo")
        if r["ok"]:
            break
        time.sleep(0.1)
    assert r["ok"] is True


def test_a_reply_larger_than_the_socket_buffer_is_written_in_pieces(server):
    s = connect(server.path)
    s.sendall(protocol.line(protocol.request("big", size=3 * 1024 * 1024)))
    time.sleep(0.2)     # let the server fill the socket buffer and wait for writability
    r = read_reply(s)
    s.close()
    assert r["ok"] is True and len(r["data"]) == 3 * 1024 * 1024


@pytest.mark.parametrize("raw", [
    protocol.line(protocol.request("echo", n=1)),
    protocol.line(protocol.request("later", delay=0.3)),       # answered after the EOF
    protocol.line(protocol.request("echo", n=1))[:-1],         # its newline never comes
])
def test_a_client_that_shuts_down_its_writing_side_gets_its_reply(server, raw):
    # As `nc -N` and socat do once their input ends.
    s = connect(server.path)
    s.sendall(raw)
    s.shutdown(socket.SHUT_WR)
    r = read_reply(s)
    assert s.recv(100) == b""       # and then the connection closes
    s.close()
    assert r["ok"] is True and r["echo"] == json.loads(raw)


def test_a_client_that_shuts_down_having_asked_nothing_is_closed(server):
    s = connect(server.path)
    s.shutdown(socket.SHUT_WR)
    assert s.recv(100) == b""
    s.close()


def test_a_client_that_closes_while_waiting_is_dropped_at_once(server):
    s = connect(server.path)
    s.sendall(protocol.line(protocol.request("later", delay=30)))
    time.sleep(0.1)
    s.close()
    for _ in range(100):
        if ask(server.path, "count")["clients"] == 1:      # the asking one alone
            break
        time.sleep(0.05)
    assert ask(server.path, "count")["clients"] == 1


def test_replies_nobody_reads_are_bounded_in_total_and_others_are_served(tmp_path):
    server = Server(tmp_path, idle=60)
    size = 2 * 1024 * 1024
    readers = []
    try:
        # 24 clients ask for 2 MiB each and never read: 48 MiB if all were kept.
        for _ in range(24):
            s = connect(server.path)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(protocol.line(protocol.request("big", size=size)))
            readers.append(s)
            # What the reply begins with, once it does.
            start = s.recv(64, socket.MSG_PEEK | socket.MSG_WAITALL)
            assert start.startswith((b'{"v": 1, "ok": true', b'{"v": 1, "ok": false')), start
        heads = [s.recv(64, socket.MSG_PEEK) for s in readers]
        kept = [h for h in heads if b'"ok": true' in h]
        busy = [s for s, h in zip(readers, heads) if b'"ok": false' in h]
        assert len(kept) >= 10 and len(busy) >= 4
        assert ask(server.path, "count")["buffered"] <= ctlserver.MAX_BUFFERED
        r = read_reply(busy[0])
        assert r["code"] == "busy" and r["error"].startswith("svinit is busy: ")
        assert "try again" in r["error"]
        # Small replies still go; a big one is refused while the others hold the room...
        assert ask(server.path, "echo", n=1)["ok"] is True
        assert ask(server.path, "big", size=size)["code"] == "busy"
        # ...and is answered once they are gone.
        for s in readers:
            s.close()
        readers = []
        for _ in range(100):
            if ask(server.path, "count")["buffered"] == 0:
                break
            time.sleep(0.05)
        r = ask(server.path, "big", size=size)
        assert r["ok"] is True and len(r["data"]) == size
        assert server.alive()
    finally:
        for s in readers:
            s.close()
        server.stop()


def run_as_nobody(path, raw):
    """Send `raw` on `path` as uid/gid 65534 (nobody) from a forked child; its reply or errno."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                s = connect(path)
                try:
                    s.sendall(raw)
                except BrokenPipeError:
                    pass    # refused and closed before reading: the reply is still there
                out = json.dumps(read_reply(s)).encode()
            except OSError as e:
                out = ("errno %d" % e.errno).encode()
            os.write(w, out)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read()
    os.waitpid(pid, 0)
    return out.decode()


@pytest.fixture
def open_dir():
    """A directory other users may traverse (pytest's own are 0700)."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="ctlserver-")
    os.chmod(d, 0o711)
    yield d
    shutil.rmtree(d)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become nobody")
def test_other_users_are_refused(open_dir):
    import pathlib
    server = Server(pathlib.Path(open_dir))
    try:
        check_refused(server)
    finally:
        server.stop()


def check_refused(server):
    req = protocol.line(protocol.request("echo"))
    # The 0600 file keeps them out at connect(2) ...
    assert run_as_nobody(server.path, req) == "errno 13"
    # ... and SO_PEERCRED does, should the file's mode let them in.
    os.chmod(server.path, 0o666)
    r = json.loads(run_as_nobody(server.path, req))
    assert r["ok"] is False and r["code"] == "denied" and "uid 65534" in r["error"]
    assert ask(server.path, "echo")["ok"] is True


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become nobody")
def test_allowed_uids_admit_another_user(open_dir):
    import pathlib
    s = Server(pathlib.Path(open_dir), allowed=[0, 65534])
    try:
        os.chmod(s.path, 0o666)
        r = json.loads(run_as_nobody(s.path, protocol.line(protocol.request("echo"))))
        assert r["ok"] is True
    finally:
        s.stop()


def test_stale_socket_is_replaced(tmp_path):
    path = tmp_path / "ctl.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()
    s = Server(tmp_path)
    try:
        assert ask(s.path, "echo")["ok"] is True
    finally:
        s.stop()


def test_a_live_server_is_not_replaced(server, tmp_path):
    p = subprocess.run([sys.executable, "-S", str(tmp_path / "server.py"), server.path],
                       capture_output=True, timeout=30)
    assert p.returncode == 1
    assert p.stderr.decode() == "server: control socket %s: another svinit answers there\n" % server.path
    assert ask(server.path, "echo")["ok"] is True


def test_a_file_that_is_not_a_socket_is_left_alone(tmp_path):
    path = tmp_path / "ctl.sock"
    path.write_text("precious\n")
    with pytest.raises(AssertionError, match="exists and is not a socket"):
        Server(tmp_path)
    assert path.read_text() == "precious\n"


def test_missing_directory_is_reported_with_the_path(tmp_path):
    import selectors
    path = str(tmp_path / "nodir" / "ctl.sock")
    with pytest.raises(ctlserver.ServerError, match="control socket %s: No such file" % path):
        ctlserver.ControlServer(path, selectors.DefaultSelector(), None)


def test_close_removes_the_socket_file(tmp_path):
    s = Server(tmp_path)
    s.stop()
    assert s.proc.returncode == 0
    assert not os.path.exists(s.path)
    assert os.listdir(tmp_path) == ["server.py"]


def test_reopen_keeps_serving(server):
    s = connect(server.path)
    os.unlink(server.path)
    s.sendall(protocol.line(protocol.request("reopen")))
    assert read_reply(s)["ok"] is True
    s.close()
    assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o600
    assert ask(server.path, "echo")["ok"] is True


def test_reopen_serves_the_connections_waiting_to_be_accepted(server):
    # A ctl that connects just as a boot mounts /run (starts-rwfs): its connection waits in
    # the old socket's queue, and must be served, not reset with it.
    a = connect(server.path)
    time.sleep(0.3)                         # accepted by now
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        a.sendall(protocol.line(protocol.request("reopen")))
        b = connect(server.path)            # queued: the server is stopped
        b.sendall(protocol.line(protocol.request("echo")))
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    assert read_reply(a)["ok"] is True
    assert read_reply(b)["ok"] is True
    a.close()
    b.close()
