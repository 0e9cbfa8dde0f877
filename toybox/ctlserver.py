"""svinit's end of the control socket: framing, credentials, limits (toybox.protocol).

ControlServer owns the listening socket and every client connection, inside the
daemon's one event loop: it registers its sockets in the caller's selector with
`key.data` a callable taking the event mask, and never blocks. It answers
everything that is not a well-formed request itself (garbage, oversized lines,
other protocol versions, users that may not talk to svinit, clients that say
nothing) and hands each valid request to `handler.handle(request, reply)`.

Limits, so that no client can stall svinit or grow its memory: a request line of
at most protocol.MAX_LINE bytes, protocol.SERVER_IDLE_TIMEOUT seconds to send it
(and, later, to read the reply), at most MAX_CLIENTS connections at once, one
reply of at most protocol.MAX_REPLY bytes per connection, and replies waiting to be
read of at most MAX_BUFFERED bytes for all clients together (a reply of more than
SMALL_REPLY bytes that would pass it is replaced by a `busy` error). One request per
connection: the connection closes once its reply is sent.

End of file from a client means it sends nothing more, not that it is gone: `nc -N`
and socat shut down their writing side after the request and wait for the reply. A
client that closed its socket altogether (poll's HUP) is gone, and dropped at once.
"""
from toybox import sysos as os     # posix, and os's helpers without its import
import select
import sys
import time

import _socket

from toybox import fs, lib, protocol
from toybox.poller import EVENT_READ, EVENT_WRITE

MAX_CLIENTS = 256       # connections beyond this get a "busy" reply and are closed
BACKLOG = 128           # listen(2) queue: ctl retries connect(2) while it is full
ACCEPT_BATCH = 64       # connections accepted per wake-up, so a flood can't starve the loop
# Out of file descriptors (or memory), accept(2) fails and the connection stays queued: the
# listener, still readable, would wake the loop at once for good. It is left unwatched this
# long (nginx and libevent pause the same way), and the failure said once until an accept
# works again.
ACCEPT_PAUSE = 0.5
_RECV = 65536
# Replies held until their clients have read them, all together: clients that ask for big
# replies (`log`, `list` of thousands) and never read them must not grow svinit without
# bound (256 unread 1 MB replies held 256 MB). Small replies are always taken, so that
# status and errors get through meanwhile; MAX_CLIENTS of them are 16 MiB at most.
MAX_BUFFERED = 32 * 1024 * 1024
SMALL_REPLY = 64 * 1024


class ServerError(Exception):
    """The control socket can't be set up (the message names its path)."""


def peer_credentials(sock):
    """(pid, uid, gid) of the process at the other end of a Unix socket (SO_PEERCRED)."""
    raw = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    order = sys.byteorder
    return (int.from_bytes(raw[0:4], order, signed=True),
            int.from_bytes(raw[4:8], order), int.from_bytes(raw[8:12], order))


def answers(path):
    """True when something accepts connections on the Unix socket at `path`."""
    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        probe.setblocking(False)
        probe.connect(path)
        return True
    except BlockingIOError:
        return True     # listening, its backlog full: alive
    except OSError:
        return False
    finally:
        probe.close()


class ControlServer:
    def __init__(self, path, selector, handler, allowed_uids=None):
        self.path = path
        self.selector = selector
        self.handler = handler
        if allowed_uids is None:
            allowed_uids = (0, os.geteuid())
        self.allowed_uids = frozenset(allowed_uids)
        self.clients = set()
        self.accept_paused = None   # time.monotonic() when to watch the listener again
        self.accept_failed = False  # said so since the last accept that worked
        self.buffered = 0        # bytes of the replies held for clients until they are sent
        self.listener = None
        self._ident = None       # (st_dev, st_ino) of the socket file we made
        self._open()

    # -- the listening socket --------------------------------------------------

    def _open(self):
        path = self.path
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        except OSError as e:
            raise ServerError("control socket %s: %s" % (path, lib.strerror(e))) from None
        if st is not None:
            import stat
            if not stat.S_ISSOCK(st.st_mode):
                raise ServerError("control socket %s: exists and is not a socket; not replacing it"
                                  % path)
            if answers(path):
                raise ServerError("control socket %s: another svinit answers there" % path)
        # Bound under a temporary name and renamed into place, so the path never
        # names a socket with the umask's mode, and a stale one is replaced atomically.
        tmp = "%s.%d.new" % (path, os.getpid())
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        try:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            sock.bind(tmp)
            try:
                os.chmod(tmp, 0o600)
                sock.listen(BACKLOG)
                os.rename(tmp, path)
            except BaseException:
                _unlink_quietly(tmp)
                raise
            st = os.lstat(path)
        except OSError as e:
            sock.close()
            raise ServerError("control socket %s: %s" % (path, lib.strerror(e))) from None
        sock.setblocking(False)
        self._ident = (st.st_dev, st.st_ino)
        self.listener = sock
        self.selector.register(sock, EVENT_READ, self._on_listener)

    def _close_listener(self):
        if self.listener is None:
            return
        try:
            self.selector.unregister(self.listener)
        except (KeyError, ValueError):
            pass
        self.accept_paused = None
        self.listener.close()
        self.listener = None

    def reopen(self):
        """Make the socket file again: after a file system was mounted over its directory.

        Connections in progress are kept, and those waiting to be accepted are taken
        first: closed with the old socket, they would be reset (a `ctl` typed as a boot
        mounts /run). The old file (hidden under the mount, or gone) is left alone."""
        if self.listener is not None and self.accept_paused is None:
            self._on_listener(0)
        self._close_listener()
        self._ident = None
        self._open()

    def hidden(self):
        """True when the path no longer names the socket made here: a file system mounted
        over its directory hides it (or someone removed or replaced it)."""
        return fs.replaced(self.path, self._ident)

    def close(self):
        """Stop listening, remove the socket file if it is still ours, drop every client."""
        self._close_listener()
        if self._ident is not None:
            try:
                st = os.lstat(self.path)
                if (st.st_dev, st.st_ino) == self._ident:
                    os.unlink(self.path)
            except OSError:
                pass
            self._ident = None
        for client in list(self.clients):
            client.drop()

    def _on_listener(self, mask):
        for _ in range(ACCEPT_BATCH):
            try:
                fd, _addr = self.listener._accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if not self.accept_failed:
                    self.accept_failed = True
                    lib.warn("control socket %s: accept: %s (connections wait; trying again "
                             "every %gs)" % (self.path, lib.strerror(e), ACCEPT_PAUSE))
                self.selector.unregister(self.listener)
                self.accept_paused = time.monotonic() + ACCEPT_PAUSE
                return
            self.accept_failed = False
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM, 0, fd)
            sock.setblocking(False)
            self._welcome(sock)

    def _welcome(self, sock):
        client = Client(self, sock)
        if len(self.clients) >= MAX_CLIENTS:
            client.refuse(protocol.reply_error(
                "svinit is busy: %d control connections open" % MAX_CLIENTS, protocol.E_BUSY))
            return
        try:
            _pid, uid, _gid = peer_credentials(sock)
        except OSError as e:
            client.refuse(protocol.reply_error("can't read peer credentials: %s" % lib.strerror(e),
                                               protocol.E_DENIED))
            return
        if uid not in self.allowed_uids:
            client.refuse(protocol.reply_error(
                "permission denied: uid %d may not control svinit (root only)" % uid
                if self.allowed_uids == {0} else
                "permission denied: uid %d may not control svinit (allowed: %s)"
                % (uid, ", ".join("uid %d" % u for u in sorted(self.allowed_uids))),
                protocol.E_DENIED))
            return
        self.clients.add(client)
        client.start()

    # -- time ------------------------------------------------------------------

    def next_deadline(self):
        """time.monotonic() when tick() next has something to expire, or None."""
        deadlines = [c.deadline for c in self.clients if c.deadline is not None]
        if self.accept_paused is not None:
            deadlines.append(self.accept_paused)
        return min(deadlines) if deadlines else None

    def tick(self, now=None):
        """Drop the connections whose time ran out (now: time.monotonic())."""
        if now is None:
            now = time.monotonic()
        for client in [c for c in self.clients if c.deadline is not None and c.deadline <= now]:
            client.drop()
        if self.accept_paused is not None and self.accept_paused <= now:
            self.accept_paused = None
            self.selector.register(self.listener, EVENT_READ, self._on_listener)

    def _dispatch(self, client, request):
        reply = client.reply_once
        try:
            self.handler.handle(request, reply)
        except Exception as e:
            # The handler's bug must not become svinit's death, nor the client's hang.
            lib.warn("control request %r: internal error: %s: %s"
                     % (request.get("cmd"), type(e).__name__, e))
            reply(protocol.reply_error("internal error in svinit: %s" % e, protocol.E_FAILED))


class Client:
    """One control connection: read one request line, hand it on, write one reply, close."""

    __slots__ = ("server", "sock", "inbuf", "outbuf", "deadline", "replied", "closed",
                 "events", "reading", "eof", "held")

    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.inbuf = bytearray()
        self.outbuf = b""
        self.deadline = None
        self.replied = False
        self.closed = False
        self.events = 0
        self.reading = True
        self.eof = False        # the client sends no more
        self.held = 0           # bytes of its reply held (outbuf is a view of them)

    def start(self):
        self.deadline = time.monotonic() + protocol.SERVER_IDLE_TIMEOUT
        self._watch(EVENT_READ)

    def refuse(self, msg):
        """Reply and close without reading a request (the reply fits the empty socket buffer)."""
        try:
            self.sock.send(protocol.line(msg), _socket.MSG_NOSIGNAL)
        except OSError:
            pass
        self.sock.close()
        self.closed = True

    def _watch(self, events):
        if events == self.events:
            return
        sel = self.server.selector
        if not events:
            sel.unregister(self.sock)
        elif not self.events:
            sel.register(self.sock, events, self._on_event)
        else:
            sel.modify(self.sock, events, self._on_event)
        self.events = events

    def _on_event(self, mask):
        if self.closed:
            return
        if mask & EVENT_READ:
            self._on_readable()
        if mask & EVENT_WRITE and not self.closed:
            self._flush()

    def _on_readable(self):
        try:
            data = self.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.drop()
            return
        if not data:
            self._on_eof()
            return
        if not self.reading:
            return          # one request per connection: the rest is ignored
        self.inbuf += data
        nl = self.inbuf.find(b"\n")
        if nl < 0:
            if len(self.inbuf) > protocol.MAX_LINE:
                self._fail_request("request longer than %d bytes" % protocol.MAX_LINE)
            return
        self._take_request(bytes(self.inbuf[:nl]))

    def _on_eof(self):
        """The client sends no more: answer what it asked (a last line without its
        newline is a request too), unless it asked nothing or is gone altogether."""
        self.eof = True
        if self.reading and self.inbuf:
            self._take_request(bytes(self.inbuf))
            if self.closed:
                return
        if self.reading or _hung_up(self.sock):
            self.drop()
            return
        # End of file stays readable: watching for it again would wake the loop for good.
        self._watch(EVENT_WRITE if self.outbuf else 0)

    def _take_request(self, raw):
        self.inbuf = bytearray()
        self.reading = False
        try:
            request = protocol.check_request(protocol.parse_message(raw))
        except protocol.ProtocolError as e:
            self.reply_once(protocol.reply_error(str(e), e.code))
            return
        # The handler may take its time (start waits for the service): no deadline
        # until a reply is being written; a client that hangs up is noticed by EOF
        # (one that only shut down its writing side, when its reply is written).
        self.deadline = None
        self.server._dispatch(self, request)

    def _fail_request(self, error):
        self.reading = False
        self.inbuf = bytearray()
        self.reply_once(protocol.reply_error(error, protocol.E_BAD_REQUEST))

    def reply_once(self, obj):
        """Send the reply `obj`; later calls, and calls after the client left, do nothing."""
        if self.replied or self.closed:
            return
        self.replied = True
        self.reading = False
        try:
            data = protocol.line(obj)
        except (TypeError, ValueError) as e:
            data = protocol.line(protocol.reply_error("svinit made a bad reply: %s" % e))
        server = self.server
        if len(data) > protocol.MAX_REPLY:
            data = protocol.line(protocol.reply_error(
                "reply longer than %d bytes" % protocol.MAX_REPLY, protocol.E_FAILED))
        elif len(data) > SMALL_REPLY and server.buffered + len(data) > MAX_BUFFERED:
            data = protocol.line(protocol.reply_error(
                "svinit is busy: %d KiB of replies wait for other control clients to read "
                "them (at most %d KiB); try again" % (server.buffered >> 10, MAX_BUFFERED >> 10),
                protocol.E_BUSY))
        self.outbuf = memoryview(data)
        self.held = len(data)
        server.buffered += self.held
        self.deadline = time.monotonic() + protocol.SERVER_IDLE_TIMEOUT
        self._flush()

    def _flush(self):
        while self.outbuf:
            try:
                n = self.sock.send(self.outbuf[:_RECV * 4], _socket.MSG_NOSIGNAL)
            except (BlockingIOError, InterruptedError):
                self._compact()
                # Keep reading too, to notice a client that hangs up instead of reading.
                self._watch(EVENT_WRITE if self.eof else EVENT_READ | EVENT_WRITE)
                return
            except OSError:
                self.drop()
                return
            self.outbuf = self.outbuf[n:]
        self.drop()

    def _compact(self):
        """Let go of the part of the reply the kernel took, once it is most of what is held:
        a copy of the rest, which costs at most the reply's size over all the sends, where
        a copy after each partial send cost that much each time."""
        if len(self.outbuf) * 2 < self.held:
            rest = bytes(self.outbuf)
            self.outbuf = memoryview(rest)
            self.server.buffered -= self.held - len(rest)
            self.held = len(rest)

    def drop(self):
        if self.closed:
            return
        self.closed = True
        self.server.clients.discard(self)
        self.server.buffered -= self.held
        self.held = 0
        self.outbuf = b""
        self.inbuf = bytearray()
        self.deadline = None
        if self.events:
            try:
                self.server.selector.unregister(self.sock)
            except (KeyError, ValueError):
                pass
            self.events = 0
        self.sock.close()


def _hung_up(sock):
    """Whether the peer closed its socket (HUP), rather than only shut down its writing
    side (which a read sees as the same end of file)."""
    p = select.poll()
    p.register(sock.fileno(), 0)
    return any(ev & (select.POLLHUP | select.POLLERR) for _fd, ev in p.poll(0))


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass
