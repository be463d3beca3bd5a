"""The shared văn thư mailbox of issue 12 with Python's imaplib and
smtplib: mail to a unit arrives in its shared mailbox; the unit's
administrator makes a second official a clerk (SETACL); each clerk keeps
their own read state; the second clerk, idling, sees the first one file a
message away; the leader reads but cannot delete; the unit mailbox has no
login of its own. Prints one JSON object; exits non-zero with the reason.

Usage: vanthu.py --cafile F --imaps HOST:PORT --smtp HOST:PORT --dir QUICKSTART_DIR
"""
import argparse
import csv
import imaplib
import json
import smtplib
import sqlite3
import ssl
import sys
from email.message import EmailMessage


def fail(msg):
    sys.exit(msg)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cafile", required=True)
    p.add_argument("--imaps", required=True)
    p.add_argument("--smtp", required=True)
    p.add_argument("--submissions", required=True)
    p.add_argument("--dir", required=True)
    args = p.parse_args()

    with open(f"{args.dir}/demo-accounts.csv", newline="") as f:
        pw = {r["address"]: r["password"] for r in csv.DictReader(f)}
    db = sqlite3.connect(f"file:{args.dir}/directory.db?mode=ro", uri=True)
    unit_code, unit_addr = db.execute("SELECT code, address FROM units WHERE abbr = 'skhcn'").fetchone()
    accts = db.execute("SELECT address, role, title FROM accounts WHERE unit_code = ? ORDER BY address", (unit_code,)).fetchall()
    clerk = next(a for a, r, t in accts if r == "clerk")
    leader = next(a for a, r, t in accts if t == "Giám đốc")
    # The unit's other official (its deputy in the quickstart) becomes a clerk.
    second = next(a for a, r, t in accts if r == "official" and a != leader)
    admin = next(a for a, r, t in accts if r == "unitadmin")
    name = "Shared/" + unit_addr.split("@")[0]

    # Two documents arrive for the unit from another ministry.
    host, port = args.smtp.rsplit(":", 1)
    for i in (1, 2):
        m = EmailMessage()
        m["From"] = "vanthu@bocongan.gov.vn"
        m["To"] = unit_addr
        m["Subject"] = f"Công văn đến số {i}"
        m.set_content(f"Nội dung công văn {i}.")
        with smtplib.SMTP(host, int(port), timeout=30) as s:
            s.send_message(m)

    ctx = ssl.create_default_context(cafile=args.cafile)
    ihost, iport = args.imaps.rsplit(":", 1)

    def login(addr):
        c = imaplib.IMAP4_SSL(ihost, int(iport), ssl_context=ctx, timeout=30)
        c.login(addr, pw[addr])
        return c

    def ok(resp, what):
        if resp[0] != "OK":
            fail(f"{what}: {resp}")
        return resp[1]

    # The unit mailbox cannot be logged in to any more.
    try:
        login(unit_addr)
        fail("login as the unit mailbox accepted")
    except imaplib.IMAP4.error as e:
        if "AUTHORIZATIONFAILED" not in str(e):
            fail(f"unit login: {e}")

    # The administrator makes the second official a clerk.
    a = login(admin)
    ok(a._simple_command("SETACL", name, second, "lrswipkxtecda"), "SETACL")
    a.logout()

    c1 = login(clerk)
    folders = ok(c1.list('""', "Shared/*"), "LIST")
    if not any(name.encode() in f for f in folders):
        fail(f"clerk's LIST: {folders}")
    typ, data = c1._simple_command("NAMESPACE")
    ns = c1.untagged_responses.pop("NAMESPACE", [b""])[0]
    if b'"Shared/"' not in ns:
        fail(f"NAMESPACE: {ns}")
    ok(c1.select(name), "clerk SELECT")
    ok(c1.fetch("1", "(BODY[])"), "clerk FETCH")  # marks it read for clerk 1 only

    c2 = login(second)
    st = ok(c2.status(name, "(MESSAGES UNSEEN)"), "second clerk STATUS")[0].decode()
    if "MESSAGES 2" not in st or "UNSEEN 2" not in st:
        fail(f"second clerk's read state: {st}")
    st = ok(c1.status(name, "(UNSEEN)"), "clerk STATUS")[0].decode()
    if "UNSEEN 1" not in st:
        fail(f"first clerk's read state: {st}")

    # The second clerk idles; the first files message 1 in the Archive.
    ok(c2.select(name), "second clerk SELECT")
    tag = c2._new_tag().decode()
    c2.send(f"{tag} IDLE\r\n".encode())
    if not c2.readline().startswith(b"+"):
        fail("IDLE not accepted")
    ok(c1._simple_command("MOVE", "1", name + "/Archive"), "clerk MOVE")
    pushed = c2.readline().decode().strip()
    c2.send(b"DONE\r\n")
    while not c2.readline().startswith(tag.encode()):
        pass
    if pushed != "* 1 EXPUNGE":
        fail(f"second clerk while idling got {pushed!r}")

    # The leader reads, and cannot delete.
    ld = login(leader)
    rights = ld._simple_command("MYRIGHTS", name)
    my = ld.untagged_responses.pop("MYRIGHTS", [b""])[0].decode()
    if not my.endswith(" lrs"):
        fail(f"leader MYRIGHTS: {my}")
    ok(ld.select(name), "leader SELECT")
    body = ok(ld.fetch("1", "(BODY[TEXT])"), "leader FETCH")
    typ, data = ld.store("1", "+FLAGS", r"(\Deleted)")
    if typ != "NO" or b"NOPERM" not in data[0]:
        fail(f"leader STORE \\Deleted: {typ} {data}")
    for c in (c1, c2, ld):
        c.logout()

    # A clerk answers for the unit: From the unit's address, recorded in
    # Sender; the leader may not.
    shost, sport = args.submissions.rsplit(":", 1)
    def send_as(who):
        m = EmailMessage()
        m["From"] = unit_addr
        m["To"] = leader
        m["Subject"] = "Công văn đi"
        m.set_content("Kính gửi.")
        with smtplib.SMTP_SSL(shost, int(sport), context=ctx, timeout=30) as s:
            s.login(who, pw[who])
            s.send_message(m)
    send_as(clerk)
    try:
        send_as(leader)
        fail("the leader sent as the unit")
    except smtplib.SMTPSenderRefused as e:
        if e.smtp_code != 553:
            fail(f"leader send-as: {e}")
    print(json.dumps({"result": "VANTHU OK", "unit": unit_addr, "clerks": [clerk, second], "leader": leader, "admin": admin}))


if __name__ == "__main__":
    main()
