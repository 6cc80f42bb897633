"""Attack suite: authentication state is per principal. A User-level account flooding fresh
UsernameTokens or Digest logins, or a NAT neighbour guessing one account's password, never
makes an Administrator's valid login fail; replays and far-future Created stay refused; a
flood of refusals does not flood the log."""
import datetime as dt
import http.client
import re
import threading
import time

from conftest import ADMIN, OPERATOR, USER, Gateway, add_users, challenges, digest_authorization, envelope, \
    fault_codes, soap, username_token

INFO = "<tds:GetDeviceInformation/>"
PATH = "/onvif/device_service"


class Conn:
    """One keep-alive connection (http.client: fast enough to flood from a test)."""

    def __init__(self, port: int):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, header: str = "", authorization: str | None = None) -> tuple[int, dict, bytes]:
        headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
        if authorization:
            headers["Authorization"] = authorization
        self.c.request("POST", PATH, body=envelope(INFO, header).encode(), headers=headers)
        r = self.c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()

    def challenge(self) -> dict:
        status, headers, _ = self.post()
        assert status == 401
        value = headers["www-authenticate"]
        return dict((k, a or b) for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value))

    def close(self):
        self.c.close()


def digest_login(conn: Conn, who: tuple[str, str]) -> int:
    ch = conn.challenge()
    ch["algorithm"] = "MD5"
    status, _, _ = conn.post(authorization=digest_authorization(ch, *who, uri=PATH))
    return status


def admin_logins(port: int) -> tuple[int, int]:
    """One Administrator login by each scheme; the two statuses."""
    c = Conn(port)
    try:
        token, _, _ = c.post(username_token(*ADMIN))
        return token, digest_login(c, ADMIN)
    finally:
        c.close()


def flood(port: int, threads: int, per_thread: int, make) -> dict[int, int]:
    """`threads` connections each sending `per_thread` requests made by `make(conn)`; counts
    of each HTTP status."""
    counts: dict[int, int] = {}
    lock = threading.Lock()

    def run():
        c = Conn(port)
        local: dict[int, int] = {}
        try:
            for _ in range(per_thread):
                s = make(c)
                local[s] = local.get(s, 0) + 1
        finally:
            c.close()
        with lock:
            for k, v in local.items():
                counts[k] = counts.get(k, 0) + v

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return counts


def warn_lines(log: str) -> int:
    return sum(1 for line in log.splitlines() if " WARN " in line)


def test_user_token_flood_then_the_administrator_logs_in_by_both_schemes(tmp_path):
    # Small bounds so a Python flooder exceeds them: a share of 100 nonces and 50 logins/s
    # (burst 100) per user.
    g = Gateway(tmp_path, config=(
        "security:\n  replay_cache_size: 100\n  auth_rate_per_user: 50\n  auth_burst_per_user: 100\n"
    )).start()
    try:
        add_users(g)
        during: list[tuple[int, int]] = []
        stop = threading.Event()

        def administrator():
            # A few logins a second: the administrator is held to the same (small) rate.
            while not stop.wait(0.1):
                during.append(admin_logins(g.port))

        admin = threading.Thread(target=administrator)
        admin.start()
        try:
            counts = flood(g.port, 4, 500, lambda c: c.post(username_token(*USER))[0])
        finally:
            stop.set()
            admin.join()
        assert sum(counts.values()) == 2000
        assert counts.get(429, 0) > 1000, f"the flooder is held to its rate: {counts}"
        assert set(counts) <= {200, 429, 400}, counts
        assert during, "the administrator logged in during the flood"
        assert all(s == (200, 200) for s in during), f"every admin login succeeded: {during}"
        assert admin_logins(g.port) == (200, 200)
        # The flooder, refused for its rate, is not locked out: it gets through at its rate.
        c = Conn(g.port)
        assert c.post(username_token(*USER))[0] in (200, 429)
        c.close()
        # The flood's refusals are summarised, not logged one by one.
        refused = counts.get(429, 0) + counts.get(400, 0)
        log = g.log()
        assert warn_lines(log) < refused / 20, f"{warn_lines(log)} WARN lines for {refused} refusals"
    finally:
        assert g.stop() == 0, g.log()


def test_user_token_flood_with_the_rate_off_fills_only_its_own_share(tmp_path):
    g = Gateway(tmp_path, config="security:\n  replay_cache_size: 100\n  auth_rate_per_user: 0\n").start()
    try:
        add_users(g)
        # Every flooder token carries the same Created (one second), so the share drops
        # tokens as old as the ones it admits: refused beyond 100.
        created = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        counts = flood(g.port, 2, 300, lambda c: c.post(username_token(*USER, created=created))[0])
        assert counts.get(200, 0) == 100 and counts.get(400, 0) == 500, counts
        assert admin_logins(g.port) == (200, 200)
        # The operator too: another principal's share is untouched.
        c = Conn(g.port)
        assert c.post(username_token(*OPERATOR, created=created))[0] == 200
        c.close()
    finally:
        assert g.stop() == 0, g.log()


def test_user_digest_flood_then_the_administrator_digest_login(tmp_path):
    g = Gateway(tmp_path, config="security:\n  digest_nonces_per_user: 16\n  auth_rate_per_user: 0\n").start()
    try:
        add_users(g)
        # The administrator starts using a nonce before the flood.
        c = Conn(g.port)
        ch = c.challenge()
        ch["algorithm"] = "MD5"
        assert c.post(authorization=digest_authorization(ch, *ADMIN, uri=PATH, nc=1))[0] == 200
        # The User makes 600 Digest logins, each on a fresh nonce (a challenge each).
        counts = flood(g.port, 3, 200, lambda conn: digest_login(conn, USER))
        assert sum(counts.values()) == 600 and set(counts) <= {200, 401}, counts
        assert counts.get(200, 0) >= 16
        # The administrator's nonce still counts, and a fresh Digest login works.
        assert c.post(authorization=digest_authorization(ch, *ADMIN, uri=PATH, nc=2))[0] == 200
        assert digest_login(c, ADMIN) == 200
        # A User nonce dropped from its table is answered stale (the client re-challenges).
        time.sleep(1.1)  # a nonce issued after every flood nonce the table dropped
        first = c.challenge()
        first["algorithm"] = "MD5"
        assert c.post(authorization=digest_authorization(first, *USER, uri=PATH, nc=1))[0] == 200
        for _ in range(24):
            assert digest_login(c, USER) in (200, 401)
        status, headers, _ = c.post(authorization=digest_authorization(first, *USER, uri=PATH, nc=2))
        assert status == 401 and "stale=true" in headers["www-authenticate"]
        c.close()
    finally:
        assert g.stop() == 0, g.log()


def test_nat_neighbour_guessing_does_not_lock_the_administrator_out(tmp_path):
    g = Gateway(tmp_path).start()
    try:
        add_users(g)
        c = Conn(g.port)
        statuses = [c.post(username_token(USER[0], "wrong-guess"))[0] for _ in range(8)]
        assert statuses[:5] == [400] * 5 and statuses[5:] == [429] * 3, statuses
        # The guessed account is locked at this address, even with its right password ...
        status, headers, _ = c.post(username_token(*USER))
        assert status == 429 and int(headers["retry-after"]) >= 1
        c.close()
        # ... while the administrator's correct login from the same address works.
        assert admin_logins(g.port) == (200, 200)
        assert soap(g.url, INFO, auth=OPERATOR).status_code == 200
        # Digest guesses count per user as well.
        c = Conn(g.port)
        for _ in range(6):
            ch = c.challenge()
            ch["algorithm"] = "MD5"
            c.post(authorization=digest_authorization(ch, OPERATOR[0], "wrong-guess", uri=PATH))
        ch = c.challenge()
        ch["algorithm"] = "MD5"
        assert c.post(authorization=digest_authorization(ch, *OPERATOR, uri=PATH))[0] == 429
        c.close()
        assert admin_logins(g.port) == (200, 200)
    finally:
        assert g.stop() == 0, g.log()


def test_spraying_many_names_from_one_address_is_locked(tmp_path):
    g = Gateway(tmp_path, config="security:\n  lockout_address_failures: 20\n").start()
    try:
        c = Conn(g.port)
        statuses = [c.post(username_token(f"name{i}", "guess"))[0] for i in range(25)]
        assert statuses[:20] == [400] * 20 and statuses[20:] == [429] * 5, statuses
        assert c.post(username_token(*ADMIN))[0] == 429, "the whole address is locked"
        c.close()
    finally:
        assert g.stop() == 0, g.log()


def test_created_in_the_future_and_replays_are_refused(gateway):
    now = dt.datetime.now(dt.timezone.utc)
    ahead = (now + dt.timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = soap(gateway.url, INFO, header=username_token(*ADMIN, created=ahead))
    assert r.status_code == 400 and fault_codes(r)[-1] == "ter:NotAuthorized"
    # A clock a little ahead (within max_clock_skew_secs, 5 s) is fine.
    slightly = (now + dt.timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert soap(gateway.url, INFO, header=username_token(*ADMIN, created=slightly)).status_code == 200
    token = username_token(*USER)
    assert soap(gateway.url, INFO, header=token).status_code == 200
    replay = soap(gateway.url, INFO, header=token)
    assert replay.status_code == 400 and fault_codes(replay)[-1] == "ter:NotAuthorized"
    assert challenges(soap(gateway.url, INFO))


def test_default_config_serves_a_fleet_on_one_account(tmp_path):
    # 20 VMS clients sharing one account, each at 10 req/s for 3 s, half of them by Digest:
    # every request accepted under the default per-user limits.
    g = Gateway(tmp_path).start()
    try:
        add_users(g)
        results: list[int] = []
        lock = threading.Lock()

        def client(i: int):
            c = Conn(g.port)
            mine = []
            try:
                t0 = time.monotonic()
                for k in range(30):
                    time.sleep(max(0.0, t0 + k * 0.1 - time.monotonic()))
                    if i % 2:
                        mine.append(digest_login(c, OPERATOR))
                    else:
                        mine.append(c.post(username_token(*OPERATOR))[0])
            finally:
                c.close()
            with lock:
                results.extend(mine)

        ts = [threading.Thread(target=client, args=(i,)) for i in range(20)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert len(results) == 600
        assert results.count(200) == 600, {s: results.count(s) for s in set(results)}
    finally:
        assert g.stop() == 0, g.log()
