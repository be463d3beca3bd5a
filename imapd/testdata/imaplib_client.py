"""Interop check of congvu imapd with Python's imaplib.

Usage: imaplib_client.py HOST TLS_PORT PLAIN_PORT CAFILE USER PASSWORD
Run by TestPythonImaplib; prints ALL OK on success, raises otherwise.
"""
import imaplib
import ssl
import sys
import time

host, tls_port, plain_port, cafile, user, password = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2


def ok(resp, what):
    typ, data = resp
    if typ != "OK":
        raise SystemExit(f"{what}: {typ} {data}")
    return data


# Port 143 semantics: LOGINDISABLED until STARTTLS.
m = imaplib.IMAP4(host, int(plain_port))
assert "LOGINDISABLED" in m.capabilities, m.capabilities
try:
    m.login(user, "not-sent-in-clear")
    raise SystemExit("login before STARTTLS accepted")
except imaplib.IMAP4.error:
    pass
ok(m.starttls(ssl_context=ctx), "STARTTLS")


def plain(_challenge):
    # imaplib's LOGIN only sends ASCII; AUTHENTICATE PLAIN carries UTF-8.
    return ("\0" + user + "\0" + password).encode("utf-8")


ok(m.authenticate("PLAIN", plain), "AUTHENTICATE PLAIN after STARTTLS")
m.logout()

# Port 993.
m = imaplib.IMAP4_SSL(host, int(tls_port), ssl_context=ctx)
try:
    m.login(user, "wrong password")
    raise SystemExit("wrong password accepted")
except imaplib.IMAP4.error as e:
    assert "AUTHENTICATIONFAILED" in str(e), e
ok(m.authenticate("PLAIN", plain), "AUTHENTICATE PLAIN")
folders = ok(m.list(), "LIST")
assert any(b"\\Sent" in f and b"Sent" in f for f in folders), folders

n = int(ok(m.select("INBOX"), "SELECT")[0])
assert n == 1, n
msg = (
    "From: Phòng Tổng hợp <tonghop@sokhcn.gov.vn>\r\n"
    f"To: {user}\r\n"
    "Subject: =?utf-8?b?QsOhbyBjw6FvIHR14bqnbg==?=\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Nội dung báo cáo tuần.\r\n"
).encode("utf-8")
data = ok(m.append("INBOX", "(\\Flagged)", imaplib.Time2Internaldate(time.time()), msg), "APPEND")
assert b"APPENDUID" in data[0], data
ok(m.noop(), "NOOP")

typ, data = m.search(None, "FLAGGED")
assert data[0].split() == [b"2"], data
m.literal = "báo cáo tuần".encode("utf-8")
typ, data = m.uid("SEARCH", "CHARSET", "UTF-8", "BODY")
assert typ == "OK" and data[0].split() == [b"2"], (typ, data)

typ, data = m.fetch("2", "(RFC822.SIZE BODY.PEEK[])")
assert typ == "OK" and data[0][1] == msg, data
typ, data = m.fetch("2", "(FLAGS)")
assert b"\\Seen" not in data[0], data
ok(m.store("2", "+FLAGS", "(\\Seen)"), "STORE")

ok(m.copy("1:2", "Archive"), "COPY")
typ, data = m.uid("MOVE", "1", "Trash")
assert typ == "OK", (typ, data)
st = ok(m.status("Trash", "(MESSAGES UIDNEXT)"), "STATUS")
assert b"MESSAGES 1" in st[0], st
ok(m.store("1", "+FLAGS", "(\\Deleted)"), "STORE \\Deleted")
data = ok(m.expunge(), "EXPUNGE")
assert data[-1] == b"1", data  # imaplib also keeps the EXPUNGE of UID MOVE
ok(m.close(), "CLOSE")
m.logout()
print("ALL OK")
