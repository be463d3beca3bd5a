"""IMAP extension flows of issue 12 driven with Python's imaplib, the way
Thunderbird and phone clients use them. Prints one JSON object; exits
non-zero with the reason on failure.

Usage: imap_ext.py --cafile F --addr HOST:PORT --user U --password P qresync
"""
import argparse
import imaplib
import json
import re
import ssl
import sys


def connect(args):
    host, port = args.addr.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=args.cafile)
    m = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx, timeout=30)
    m.login(args.user, args.password)
    return m


def ok(resp, what):
    typ, data = resp
    if typ != "OK":
        sys.exit(f"{what}: {typ} {data}")
    return data


def command(m, name, *args):
    """Runs a command imaplib has no method for; returns its untagged data."""
    typ, data = m._simple_command(name, *args)
    if typ != "OK":
        sys.exit(f"{name} {args}: {typ} {data}")
    if name in ("SELECT", "EXAMINE"):
        m.state = "SELECTED"  # imaplib only tracks its own select()
    return m.untagged_responses


def take(m, key):
    return [x.decode() if isinstance(x, bytes) else x for x in m.untagged_responses.pop(key, [])]


def qresync(args):
    """RFC 7162: a client records UIDVALIDITY and HIGHESTMODSEQ, another
    session flags and expunges, the client comes back with ENABLE QRESYNC
    and SELECT (QRESYNC ...) and learns exactly what changed."""
    m = connect(args)
    msg = b"From: a@khanhhoa.gov.vn\r\nSubject: qresync\r\n\r\nx\r\n"
    for _ in range(5):
        ok(m.append("INBOX", None, None, msg), "APPEND")
    command(m, "SELECT", "INBOX", "(CONDSTORE)")
    uidvalidity = int(take(m, "UIDVALIDITY")[0])
    modseq = int(take(m, "HIGHESTMODSEQ")[0])
    typ, data = m.uid("SEARCH", None, "ALL")
    uids = [int(u) for u in data[0].split()][-5:]
    m.logout()

    other = connect(args)
    ok(other.select("INBOX"), "SELECT")
    ok(other.uid("STORE", str(uids[1]), "+FLAGS", r"(\Flagged)"), "STORE")
    ok(other.uid("STORE", "%d:%d" % (uids[2], uids[3]), "+FLAGS", r"(\Deleted)"), "STORE")
    ok(other.expunge(), "EXPUNGE")
    other.logout()

    m = connect(args)
    enabled = command(m, "ENABLE", "QRESYNC")
    known = "%d:%d" % (uids[0], uids[-1])
    command(m, "SELECT", "INBOX", "(QRESYNC (%d %d %s))" % (uidvalidity, modseq, known))
    vanished = take(m, "VANISHED")
    fetches = take(m, "FETCH")
    want = "(EARLIER) %d:%d" % (uids[2], uids[3])
    if vanished != [want]:
        sys.exit(f"SELECT QRESYNC: VANISHED {vanished}, want [{want!r}]")
    if len(fetches) != 1 or f"UID {uids[1]} " not in fetches[0] or r"\Flagged" not in fetches[0] or "MODSEQ" not in fetches[0]:
        sys.exit(f"SELECT QRESYNC: FETCH {fetches}")
    # A later resync in the same session: UID FETCH (CHANGEDSINCE VANISHED).
    typ, data = m._simple_command("UID", "FETCH", "1:*", "(FLAGS)", "(CHANGEDSINCE %d VANISHED)" % modseq)
    if typ != "OK":
        sys.exit(f"UID FETCH CHANGEDSINCE: {typ} {data}")
    vanished2 = take(m, "VANISHED")
    if vanished2 != [want]:
        sys.exit(f"UID FETCH VANISHED: {vanished2}")
    m.logout()
    print(json.dumps({"result": "QRESYNC OK", "enabled": str(enabled.get("ENABLED")), "vanished": vanished, "fetch": fetches}))


def quota(args):
    """RFC 9208: the client reads its quota; an APPEND past it is refused
    with NO [OVERQUOTA] and the session goes on. The caller has set the
    account's quota to --quota-kib KiB in the directory."""
    m = connect(args)
    typ, data = m.getquotaroot("INBOX")
    if typ != "OK":
        sys.exit(f"GETQUOTAROOT: {typ} {data}")
    roots, quotas = data
    line = quotas[0].decode()
    mt = re.search(r"STORAGE (\d+) (\d+) MESSAGE (\d+) (\d+)", line)
    if roots[0].decode() != 'INBOX ""' or not mt or int(mt.group(2)) != args.quota_kib:
        sys.exit(f"GETQUOTAROOT: {data}")
    room = (int(mt.group(2)) - int(mt.group(1))) * 1024
    big = b"Subject: qua han muc\r\n\r\n" + b"x" * (room + 4096) + b"\r\n"
    typ, data = m.append("INBOX", None, None, big)
    if typ != "NO" or b"[OVERQUOTA]" not in data[0]:
        sys.exit(f"APPEND past the quota: {typ} {data}")
    ok(m.append("INBOX", None, None, b"Subject: nho\r\n\r\nx\r\n"), "small APPEND after")
    m.logout()
    print(json.dumps({"result": "QUOTA OK", "quota": line}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cafile", required=True)
    p.add_argument("--addr", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--quota-kib", type=int, default=0)
    p.add_argument("flow", choices=["qresync", "quota"])
    args = p.parse_args()
    {"qresync": qresync, "quota": quota}[args.flow](args)


if __name__ == "__main__":
    main()
