#!/usr/bin/env python3
"""Drive congvu's POP3 server with Python's standard poplib.

Run by TestPythonPoplib as:
    poplib_client.py HOST PLAIN_PORT TLS_PORT CA_FILE FIXTURE_JSON

FIXTURE_JSON holds {"user", "password", "messages": [...], "uidls": [...]}:
the messages exactly as stored (CRLF) and the expected unique-ids. The
script exits non-zero with a message on the first mismatch and prints "ok"
when everything matched.
"""
import json
import poplib
import ssl
import sys


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)


def expect_error(fn, code, what):
    try:
        resp = fn()
    except poplib.error_proto as e:
        text = e.args[0]
        expect(text.startswith(b"-ERR [" + code + b"]"), f"{what}: got {text!r}")
        return
    fail(f"{what}: succeeded with {resp!r}")


def main():
    host, plain_port, tls_port, ca_file, fixture = sys.argv[1:6]
    with open(fixture, encoding="utf-8") as f:
        fx = json.load(f)
    user, password = fx["user"], fx["password"]
    messages = [m.encode("utf-8") for m in fx["messages"]]
    ctx = ssl.create_default_context(cafile=ca_file)

    # Port 110: no login before STLS (RFC 2595).
    p = poplib.POP3(host, int(plain_port), timeout=10)
    caps = p.capa()
    expect("STLS" in caps, f"STLS not offered: {caps}")
    expect("USER" not in caps and "SASL" not in caps, f"login offered before TLS: {caps}")
    expect_error(lambda: p.user(user), b"AUTH", "USER before TLS")
    p.stls(context=ctx)
    caps = p.capa()
    expect("USER" in caps and caps.get("SASL") == ["PLAIN"], f"after STLS: {caps}")
    expect("STLS" not in caps, f"STLS offered twice: {caps}")
    for cap in ("TOP", "UIDL", "RESP-CODES", "PIPELINING"):
        expect(cap in caps, f"{cap} missing: {caps}")
    expect(caps.get("EXPIRE") == ["NEVER"], f"EXPIRE: {caps}")

    p.user(user)
    expect_error(lambda: p.pass_(password + "x"), b"AUTH", "wrong password")
    p.user(user)
    p.pass_(password)

    count, size = p.stat()
    expect(count == len(messages), f"STAT count {count}")
    expect(size == sum(len(m) for m in messages), f"STAT size {size}")
    _, listing, _ = p.list()
    want = [f"{i + 1} {len(m)}".encode() for i, m in enumerate(messages)]
    expect(listing == want, f"LIST {listing} != {want}")
    _, uidls, _ = p.uidl()
    want = [f"{i + 1} {u}".encode() for i, u in enumerate(fx["uidls"])]
    expect(uidls == want, f"UIDL {uidls} != {want}")

    for i, m in enumerate(messages):
        _, lines, _ = p.retr(i + 1)
        got = b"\r\n".join(lines) + b"\r\n"
        expect(got == m, f"RETR {i + 1}: {got!r} != {m!r}")
        _, lines, _ = p.top(i + 1, 0)
        header = m.split(b"\r\n\r\n", 1)[0]
        expect(b"\r\n".join(lines) == header + b"\r\n", f"TOP {i + 1} 0: {lines!r}")

    p.dele(1)
    expect(p.stat()[0] == len(messages) - 1, "STAT after DELE")
    p.rset()
    expect(p.stat()[0] == len(messages), "STAT after RSET")
    p.dele(1)
    p.quit()

    # Port 995: implicit TLS (RFC 8314); the DELE above was applied.
    p = poplib.POP3_SSL(host, int(tls_port), context=ctx, timeout=10)
    caps = p.capa()
    expect("USER" in caps and "STLS" not in caps, f"implicit TLS CAPA: {caps}")
    p.user(user)
    p.pass_(password)
    count, _ = p.stat()
    expect(count == len(messages) - 1, f"after DELE+QUIT: {count} messages")
    _, uidls, _ = p.uidl()
    expect(uidls[0].split()[1] == fx["uidls"][1].encode(), f"UIDL after DELE: {uidls}")

    # A second session is refused while the first holds the maildrop.
    q = poplib.POP3_SSL(host, int(tls_port), context=ctx, timeout=10)
    q.user(user)
    expect_error(lambda: q.pass_(password), b"IN-USE", "second session")
    q.quit()
    p.quit()
    print("ok")


if __name__ == "__main__":
    main()
