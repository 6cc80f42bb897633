"""Attack suite: connections. One address holding its connection cap does not deny a client at
another address; the keep-alive idle timeout is separate from the header timeout."""
import select
import socket
import time

from conftest import Gateway, envelope

REQUEST = envelope("<tds:GetSystemDateAndTime/>").encode()


def post(sock: socket.socket, host: str = "x") -> None:
    sock.sendall(
        b"POST /onvif/device_service HTTP/1.1\r\nHost: " + host.encode()
        + b"\r\nContent-Type: application/soap+xml\r\nContent-Length: "
        + str(len(REQUEST)).encode() + b"\r\n\r\n" + REQUEST
    )


def response(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """One whole response (head and Content-Length body)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def connect_from(source: str, port: int) -> socket.socket:
    s = socket.socket()
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def test_one_address_at_its_cap_does_not_deny_another(tmp_path):
    # Default connection limits (1024 in all, 512 per address); a long header timeout keeps the
    # flood's idle sockets open for the whole test.
    g = Gateway(tmp_path, config="server:\n  header_timeout_secs: 120\n").start()
    flood: list[socket.socket] = []
    try:
        for _ in range(520):
            flood.append(connect_from("127.0.0.1", g.port))
        # The 8 over the cap are answered 503 and closed; the 512 admitted stay silent.
        refused, deadline = set(), time.monotonic() + 20
        while time.monotonic() < deadline and len(refused) < 8:
            readable, _, _ = select.select([s for s in flood if s not in refused], [], [], 0.5)
            for s in readable:
                assert s.recv(1024).startswith(b"HTTP/1.1 503"), "over the cap: 503, then closed"
                refused.add(s)
        assert len(refused) == 8, f"{len(refused)} connections refused, expected 8"
        readable, _, _ = select.select([s for s in flood if s not in refused], [], [], 1.0)
        assert readable == [], "the admitted connections are held, not closed"

        # Another address is served at once, and more than once.
        for _ in range(3):
            other = connect_from("127.0.0.2", g.port)
            post(other)
            assert response(other).startswith(b"HTTP/1.1 200"), "a client at another address is served"
            other.close()
        # The flooding address itself gets 503 for a new connection...
        more = connect_from("127.0.0.1", g.port)
        more.settimeout(10)
        assert more.recv(1024).startswith(b"HTTP/1.1 503")
        more.close()
        # ...until it closes some of its own.
        for s in flood[:10]:
            s.close()
        deadline = time.monotonic() + 10
        while True:
            again = connect_from("127.0.0.1", g.port)
            post(again)
            got = response(again)
            again.close()
            if got.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert got.startswith(b"HTTP/1.1 200"), got[:80]
        log = g.log()
        assert log.count("client at its connection cap") <= 2, "refusals are summarised, not logged one by one"
        assert "refused=" in log
    finally:
        for s in flood:
            s.close()
        assert g.stop() == 0, g.log()


def test_keep_alive_idle_timeout_is_separate_from_the_header_timeout(tmp_path):
    g = Gateway(tmp_path, config="server:\n  header_timeout_secs: 1\n  idle_timeout_secs: 4\n").start()
    try:
        conn = connect_from("127.0.0.1", g.port)
        post(conn)
        assert response(conn).startswith(b"HTTP/1.1 200")
        # Idle past the header timeout but within the idle timeout: the connection is reused.
        time.sleep(2.0)
        post(conn)
        assert response(conn).startswith(b"HTTP/1.1 200"), "keep-alive connection still open after 2 s idle"
        # Idle past the idle timeout: closed by the gateway.
        conn.settimeout(15)
        t0 = time.monotonic()
        assert conn.recv(1024) == b"", "closed once idle longer than idle_timeout_secs"
        assert time.monotonic() - t0 > 2.5, "not closed by the 1 s header timeout"
        conn.close()

        # After a response, the first byte of a new head starts the header timeout again.
        slow = connect_from("127.0.0.1", g.port)
        post(slow)
        assert response(slow).startswith(b"HTTP/1.1 200")
        slow.sendall(b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\n")
        slow.settimeout(15)
        t0 = time.monotonic()
        assert slow.recv(1024) == b"", "a head left unfinished is cut off"
        assert time.monotonic() - t0 < 3.5, "by the header timeout, not the idle timeout"
        slow.close()
    finally:
        assert g.stop() == 0, g.log()
