"""svinit's poller: select.epoll behind the part of the `selectors` interface svinit uses.

Why not `selectors` itself: importing it pulls in collections, math and more, which
costs every start of svinit milliseconds on a PC and tens of them under emulation
(an image's boot). The interface is the same (register/modify/unregister/get_key/
select, keys with fileobj, fd, events, data; EVENT_READ and EVENT_WRITE have the same
values), so a `selectors` selector can stand in for a Poller (the tests do).
"""
import select

EVENT_READ = 1
EVENT_WRITE = 2

_EPOLLIN = select.EPOLLIN
_EPOLLOUT = select.EPOLLOUT


class Key:
    __slots__ = ("fileobj", "fd", "events", "data")

    def __init__(self, fileobj, fd, events, data):
        self.fileobj = fileobj
        self.fd = fd
        self.events = events
        self.data = data


def _fd(fileobj):
    fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
    if fd < 0:
        raise ValueError("invalid file descriptor: %r" % (fileobj,))
    return fd


def _epoll_mask(events):
    if not events or events & ~(EVENT_READ | EVENT_WRITE):
        raise ValueError("invalid events: %r" % (events,))
    return (_EPOLLIN if events & EVENT_READ else 0) | (_EPOLLOUT if events & EVENT_WRITE else 0)


class Poller:
    def __init__(self):
        self._epoll = select.epoll()        # close-on-exec
        self._keys = {}

    def register(self, fileobj, events, data=None):
        fd = _fd(fileobj)
        if fd in self._keys:
            raise KeyError("%r (fd %d) is already registered" % (fileobj, fd))
        mask = _epoll_mask(events)
        key = Key(fileobj, fd, events, data)
        self._epoll.register(fd, mask)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj):
        key = self._keys.pop(self._lookup(fileobj))
        try:
            self._epoll.unregister(key.fd)
        except OSError:
            pass        # closed already: the kernel dropped it
        return key

    def modify(self, fileobj, events, data=None):
        """A new key (as selectors does): a callback of the batch in progress that holds
        the old one can tell."""
        fd = self._lookup(fileobj)
        mask = _epoll_mask(events)
        if events != self._keys[fd].events:
            self._epoll.modify(fd, mask)
        key = self._keys[fd] = Key(fileobj, fd, events, data)
        return key

    def get_key(self, fileobj):
        return self._keys[self._lookup(fileobj)]

    def _lookup(self, fileobj):
        """The fd fileobj is registered under (KeyError if none), also for a closed file."""
        try:
            fd = _fd(fileobj)
        except ValueError:
            fd = -1
        if fd in self._keys:
            return fd
        for key in self._keys.values():     # a closed socket's fileno() is -1
            if key.fileobj is fileobj:
                return key.fd
        raise KeyError("%r is not registered" % (fileobj,))

    def select(self, timeout=None):
        """[(key, events)] ready within timeout seconds (None: wait)."""
        if timeout is None:
            timeout = -1
        elif timeout < 0:
            timeout = 0
        ready = self._epoll.poll(timeout, max(len(self._keys), 1))
        out = []
        keys = self._keys
        for fd, ev in ready:
            key = keys.get(fd)
            if key is None:
                continue
            # As selectors: an error or hang-up wakes both a reader and a writer.
            events = (EVENT_WRITE if ev & ~_EPOLLIN else 0) | (EVENT_READ if ev & ~_EPOLLOUT else 0)
            events &= key.events
            if events:
                out.append((key, events))
        return out

    def close(self):
        self._epoll.close()
        self._keys.clear()
