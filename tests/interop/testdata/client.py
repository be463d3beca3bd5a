#!/usr/bin/env python3
"""Python standard-library clients (smtplib, imaplib, poplib) for the interop
tests. Each subcommand prints a JSON result on stdout and exits non-zero with
the server's answer on failure, so the Go test can assert what a user sees."""

import argparse
import base64
import imaplib
import json
import poplib
import smtplib
import ssl
import sys


def ctx(args):
    c = ssl.create_default_context(cafile=args.cafile)
    c.minimum_version = ssl.TLSVersion.TLSv1_2
    return c


def split(addr):
    host, port = addr.rsplit(":", 1)
    return host, int(port)


def out(obj):
    json.dump(obj, sys.stdout)
    sys.stdout.write("\n")


def smtp_send(args):
    host, port = split(args.addr)
    msg = sys.stdin.buffer.read()
    if args.implicit_tls:
        s = smtplib.SMTP_SSL(host, port, context=ctx(args), timeout=30)
    else:
        s = smtplib.SMTP(host, port, timeout=30)
        s.ehlo()
        if args.starttls:
            s.starttls(context=ctx(args))
            s.ehlo()
    try:
        if args.user:
            s.login(args.user, args.password)
        refused = s.sendmail(args.sender, args.rcpt, msg)
        out({"refused": {k: [v[0], v[1].decode()] for k, v in refused.items()}})
    except smtplib.SMTPResponseException as e:
        out({"code": e.smtp_code, "error": e.smtp_error.decode(errors="replace")})
        sys.exit(3)
    except smtplib.SMTPRecipientsRefused as e:
        out({"refused": {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}})
        sys.exit(3)
    finally:
        try:
            s.quit()
        except Exception:
            pass


def smtp_compose(args):
    """Composes a message the way a Python program would (email.message,
    policy default: RFC 2047 subject, RFC 2231 file name) with a text and
    an HTML version and one attachment, and submits it over STARTTLS."""
    from email.message import EmailMessage
    from email.headerregistry import Address

    m = EmailMessage()
    m["From"] = Address(args.from_name, addr_spec=args.sender)
    m["To"] = args.rcpt
    m["Subject"] = args.subject
    m.set_content(args.text)
    with open(args.html, encoding="utf-8") as f:
        m.add_alternative(f.read(), subtype="html")
    with open(args.attach, "rb") as f:
        m.add_attachment(f.read(), maintype="application", subtype="pdf", filename=args.attach_name)
    host, port = split(args.addr)
    s = smtplib.SMTP(host, port, timeout=30)
    try:
        s.starttls(context=ctx(args))
        s.login(args.user, args.password)
        refused = s.send_message(m)
        out({"refused": {k: [v[0], v[1].decode()] for k, v in refused.items()}})
    except smtplib.SMTPResponseException as e:
        out({"code": e.smtp_code, "error": e.smtp_error.decode(errors="replace")})
        sys.exit(3)
    finally:
        try:
            s.quit()
        except Exception:
            pass


def smtp_auth_plain_without_tls(args):
    """Tries AUTH on a plain connection; prints EHLO features and the answer."""
    host, port = split(args.addr)
    s = smtplib.SMTP(host, port, timeout=30)
    s.ehlo()
    feats = sorted(s.esmtp_features.keys())
    creds = base64.b64encode(b"\0" + args.user.encode() + b"\0" + args.password.encode()).decode()
    code, resp = s.docmd("AUTH", "PLAIN " + creds)
    out({"features": feats, "code": code, "resp": resp.decode(errors="replace")})
    s.close()


def imap_connect(args):
    host, port = split(args.addr)
    if args.starttls:
        m = imaplib.IMAP4(host, port, timeout=30)
        m.starttls(ssl_context=ctx(args))
    else:
        m = imaplib.IMAP4_SSL(host, port, ssl_context=ctx(args), timeout=30)
    m.login(args.user, args.password)
    return m


def imap_fetch_all(args):
    """Prints every message of a folder: uid, flags and the raw bytes (base64)."""
    m = imap_connect(args)
    typ, _ = m.select(args.folder, readonly=True)
    if typ != "OK":
        sys.exit("select failed")
    typ, data = m.uid("SEARCH", None, "ALL")
    uids = data[0].split()
    msgs = []
    for uid in uids:
        typ, data = m.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
        raw = None
        meta = b""
        for part in data:
            if isinstance(part, tuple):
                meta, raw = part[0], part[1]
        flags = [f.decode() for f in imaplib.ParseFlags(meta)]
        msgs.append({"uid": int(uid), "flags": flags, "raw": base64.b64encode(raw).decode()})
    m.logout()
    out({"messages": msgs})


def imap_login_plain(args):
    """Tries LOGIN without TLS; prints capabilities and the answer."""
    host, port = split(args.addr)
    m = imaplib.IMAP4(host, port, timeout=30)
    caps = list(m.capabilities)
    try:
        m.login(args.user, args.password)
        res = "OK"
    except imaplib.IMAP4.error as e:
        res = str(e)
    out({"capabilities": caps, "result": res})


def imap_login(args):
    """Logs in over TLS; prints OK or the server's refusal."""
    try:
        m = imap_connect(args)
        m.logout()
        res = "OK"
    except imaplib.IMAP4.error as e:
        res = str(e)
    out({"result": res})


def imap_list(args):
    m = imap_connect(args)
    typ, data = m.list()
    m.logout()
    out({"list": [d.decode() for d in data]})


def pop3(args):
    """STLS or implicit TLS, STAT/UIDL/RETR all, DELE the given numbers, QUIT."""
    host, port = split(args.addr)
    if args.implicit_tls:
        p = poplib.POP3_SSL(host, port, context=ctx(args), timeout=30)
    else:
        p = poplib.POP3(host, port, timeout=30)
        caps_before = p.capa()
        p.stls(context=ctx(args))
    p.user(args.user)
    p.pass_(args.password)
    count, size = p.stat()
    uidl = [line.decode() for line in p.uidl()[1]]
    msgs = []
    for i in range(1, count + 1):
        resp, lines, octets = p.retr(i)
        msgs.append(base64.b64encode(b"\r\n".join(lines) + b"\r\n").decode())
    for n in args.dele or []:
        p.dele(n)
    p.quit()
    out({"count": count, "size": size, "uidl": uidl, "messages": msgs})


def imap_wrong_logins(args):
    """Tries LOGIN with a wrong password --count times on one connection;
    prints every answer."""
    host, port = split(args.addr)
    m = imaplib.IMAP4_SSL(host, port, ssl_context=ctx(args), timeout=60)
    answers = []
    for i in range(args.count):
        try:
            m.login(args.user, "%s-wrong-%d" % (args.password, i))
            answers.append("OK")
        except imaplib.IMAP4.error as e:
            answers.append(str(e))
    m.logout()
    out({"answers": answers})


def pop3_login(args):
    """USER/PASS over implicit TLS; prints OK or the server's -ERR line."""
    host, port = split(args.addr)
    p = poplib.POP3_SSL(host, port, context=ctx(args), timeout=30)
    try:
        p.user(args.user)
        p.pass_(args.password)
        res = "OK"
    except poplib.error_proto as e:
        res = e.args[0].decode(errors="replace")
    p.quit()
    out({"result": res})


def smtp_login(args):
    """AUTH over implicit TLS (smtplib picks PLAIN or LOGIN); prints the code."""
    host, port = split(args.addr)
    s = smtplib.SMTP_SSL(host, port, context=ctx(args), timeout=30)
    try:
        s.login(args.user, args.password)
        res = {"code": 235}
    except smtplib.SMTPAuthenticationError as e:
        res = {"code": e.smtp_code, "error": e.smtp_error.decode(errors="replace")}
    s.quit()
    out(res)


def smtp_burst(args):
    """One AUTH session over implicit TLS sending --count messages, each to
    the next --rcpt in turn; prints every message's final reply code."""
    host, port = split(args.addr)
    s = smtplib.SMTP_SSL(host, port, context=ctx(args), timeout=60)
    s.login(args.user, args.password)
    codes = []
    for i in range(args.count):
        rcpt = args.rcpt[i % len(args.rcpt)]
        msg = ("From: %s\r\nTo: %s\r\nSubject: Cong van so %d\r\n\r\nNoi dung %d\r\n"
               % (args.user, rcpt, i + 1, i + 1)).encode()
        try:
            s.sendmail(args.user, [rcpt], msg)
            codes.append({"code": 250})
        except smtplib.SMTPResponseException as e:
            codes.append({"code": e.smtp_code, "error": e.smtp_error.decode(errors="replace")})
            s.rset()
        except smtplib.SMTPRecipientsRefused as e:
            code, text = list(e.recipients.values())[0]
            codes.append({"code": code, "error": text.decode(errors="replace")})
            s.rset()
    s.quit()
    out({"results": codes})


def hold_sessions(args):
    """Signs in over IMAPS (SELECT INBOX, IDLE-free) and POP3S (STAT),
    prints {"ready": true}, waits for a line on stdin, then tries the
    sessions again: IMAP NOOP and FETCH, POP3 STAT. Prints what each
    answered (OK, or the exception the server's words caused)."""
    host, iport = split(args.imap)
    m = imaplib.IMAP4_SSL(host, iport, ssl_context=ctx(args), timeout=30)
    m.login(args.user, args.password)
    m.select("INBOX")
    host, pport = split(args.pop3)
    p = poplib.POP3_SSL(host, pport, context=ctx(args), timeout=30)
    p.user(args.user)
    p.pass_(args.password)
    p.stat()
    out({"ready": True})
    sys.stdout.flush()
    sys.stdin.readline()
    res = {}
    try:
        typ, data = m.noop()
        res["imap_noop"] = typ + " " + repr(m.untagged_responses.get("BYE"))
        typ, data = m.fetch("1:*", "(FLAGS)")
        res["imap_fetch"] = typ
    except (imaplib.IMAP4.error, OSError) as e:
        res["imap_error"] = str(e)
    try:
        p.stat()
        res["pop3_stat"] = "OK"
    except (poplib.error_proto, OSError) as e:
        res["pop3_error"] = e.args[0].decode(errors="replace") if e.args and isinstance(e.args[0], bytes) else str(e)
    out(res)


def imap_inspect(args):
    """For every INBOX message: ENVELOPE and BODYSTRUCTURE (the parsed
    structure an IMAP client shows), then SEARCH TEXT for each --marker.
    Prints the server's answers; any NO/BAD is reported, never hidden."""
    m = imap_connect(args)
    m.select("INBOX", readonly=True)
    typ, data = m.uid("SEARCH", None, "ALL")
    uids = data[0].split()
    res = {"count": len(uids), "fetch": [], "search": {}}
    for uid in uids:
        typ, data = m.uid("FETCH", uid, "(ENVELOPE BODYSTRUCTURE RFC822.SIZE)")
        res["fetch"].append({"uid": int(uid), "status": typ,
                             "data": b" ".join(d if isinstance(d, bytes) else d[0] for d in data if d).decode(errors="replace")})
    for marker in args.marker or []:
        typ, data = m.uid("SEARCH", "CHARSET", "UTF-8", "TEXT", marker)
        res["search"][marker] = {"status": typ, "uids": data[0].decode().split() if data and data[0] else []}
    m.logout()
    out(res)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cafile", required=True)
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("smtp-send")
    s.add_argument("--addr", required=True)
    s.add_argument("--starttls", action="store_true")
    s.add_argument("--implicit-tls", action="store_true")
    s.add_argument("--user")
    s.add_argument("--password")
    s.add_argument("--sender", required=True)
    s.add_argument("--rcpt", action="append", required=True)
    s.set_defaults(fn=smtp_send)

    s = sub.add_parser("smtp-compose")
    for a in ("--addr", "--user", "--password", "--sender", "--from-name", "--rcpt", "--subject", "--text",
              "--html", "--attach", "--attach-name"):
        s.add_argument(a, required=True)
    s.set_defaults(fn=smtp_compose)

    s = sub.add_parser("smtp-auth-plaintext")
    s.add_argument("--addr", required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--password", required=True)
    s.set_defaults(fn=smtp_auth_plain_without_tls)

    for name, fn in (("imap-fetch-all", imap_fetch_all), ("imap-list", imap_list), ("imap-login", imap_login)):
        s = sub.add_parser(name)
        s.add_argument("--addr", required=True)
        s.add_argument("--starttls", action="store_true")
        s.add_argument("--user", required=True)
        s.add_argument("--password", required=True)
        s.add_argument("--folder", default="INBOX")
        s.set_defaults(fn=fn)

    s = sub.add_parser("imap-wrong-logins")
    s.add_argument("--addr", required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--password", required=True)
    s.add_argument("--count", type=int, required=True)
    s.set_defaults(fn=imap_wrong_logins)

    for name, fn in (("pop3-login", pop3_login), ("smtp-login", smtp_login)):
        s = sub.add_parser(name)
        s.add_argument("--addr", required=True)
        s.add_argument("--user", required=True)
        s.add_argument("--password", required=True)
        s.set_defaults(fn=fn)

    s = sub.add_parser("smtp-burst")
    s.add_argument("--addr", required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--password", required=True)
    s.add_argument("--rcpt", action="append", required=True)
    s.add_argument("--count", type=int, required=True)
    s.set_defaults(fn=smtp_burst)

    s = sub.add_parser("imap-login-plaintext")
    s.add_argument("--addr", required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--password", required=True)
    s.set_defaults(fn=imap_login_plain)

    s = sub.add_parser("pop3")
    s.add_argument("--addr", required=True)
    s.add_argument("--implicit-tls", action="store_true")
    s.add_argument("--user", required=True)
    s.add_argument("--password", required=True)
    s.add_argument("--dele", type=int, action="append")
    s.set_defaults(fn=pop3)

    s = sub.add_parser("imap-inspect")
    for a in ("--addr", "--user", "--password"):
        s.add_argument(a, required=True)
    s.add_argument("--starttls", action="store_true")
    s.add_argument("--marker", action="append")
    s.set_defaults(fn=imap_inspect)

    s = sub.add_parser("hold-sessions")
    for a in ("--imap", "--pop3", "--user", "--password"):
        s.add_argument(a, required=True)
    s.set_defaults(fn=hold_sessions)

    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
