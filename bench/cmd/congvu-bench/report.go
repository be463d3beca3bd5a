package main

import (
	"fmt"
	"io"
	"sort"
)

// printReport writes the Markdown table: measure | congvu | reference | ratio.
// Ratio is always congvu ÷ reference for rates (higher is better for congvu)
// and reference ÷ congvu for latencies, so > 1 means congvu is ahead.
func printReport(w io.Writer, r *results, points []loadPoint) {
	m := r.Machine
	fmt.Fprintf(w, "## congvu-bench (%s mode, %s)\n\n", r.Mode, r.Started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "Machine: %d CPUs, kernel %s, temp dir filesystem %s; %s; Postfix %s; Dovecot %s; congvu %s.\n\n",
		m.CPUs, m.Kernel, m.Filesystem, m.Go, m.Postfix, m.Dovecot, m.Congvu)
	fmt.Fprintln(w, "| measure | congvu | reference | ratio |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")

	find := func(target string, p loadPoint) *loadResult {
		for i := range r.SMTP {
			if r.SMTP[i].Target == target && r.SMTP[i].Point == p {
				return &r.SMTP[i]
			}
		}
		return nil
	}
	rate := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	ms := func(v float64) string { return fmt.Sprintf("%.1f ms", v) }
	ratio := func(a, b float64) string {
		if a == 0 || b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	row := func(measure, cv, ref, rat string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", measure, cv, ref, rat)
	}

	for _, p := range points {
		c := find(targetCongvu, p)
		if c == nil {
			continue
		}
		if pf := find(targetPostfix, p); pf != nil {
			row(fmt.Sprintf("SMTP %v: msgs/s accepted (250), vs Postfix", p), rate(c.MsgsPerS), rate(pf.MsgsPerS), ratio(c.MsgsPerS, pf.MsgsPerS))
			// congvu replies 250 only after the message is fsynced in the
			// mailbox, so its accepted rate is its durable delivery rate.
			row(fmt.Sprintf("SMTP %v: msgs/s durably in mailbox, vs Postfix→Dovecot LMTP→Maildir", p), rate(c.MsgsPerS), rate(pf.DeliveredPerS), ratio(c.MsgsPerS, pf.DeliveredPerS))
			row(fmt.Sprintf("SMTP %v: p50 latency per message, vs Postfix", p), ms(c.P50Ms), ms(pf.P50Ms), ratio(pf.P50Ms, c.P50Ms))
			row(fmt.Sprintf("SMTP %v: p99 latency per message, vs Postfix", p), ms(c.P99Ms), ms(pf.P99Ms), ratio(pf.P99Ms, c.P99Ms))
		} else {
			row(fmt.Sprintf("SMTP %v: msgs/s accepted (250)", p), rate(c.MsgsPerS), "not measured", "–")
			row(fmt.Sprintf("SMTP %v: p50 / p99 latency", p), ms(c.P50Ms)+" / "+ms(c.P99Ms), "not measured", "–")
		}
		if c.CPUMsPerMsg > 0 {
			row(fmt.Sprintf("SMTP %v: congvu server CPU (user+system) per accepted message", p), fmt.Sprintf("%.2f ms", c.CPUMsPerMsg), "–", "–")
		}
		if s := find(targetSink, p); s != nil {
			row(fmt.Sprintf("SMTP %v: msgs/s, vs smtp-sink (protocol only, no storage)", p), rate(c.MsgsPerS), rate(s.MsgsPerS), ratio(c.MsgsPerS, s.MsgsPerS))
		}
	}

	// The disk ceiling against congvu's best durable 10 KB rate.
	best := 0.0
	for _, l := range r.SMTP {
		if l.Target == targetCongvu && l.Point.SizeBytes == 10<<10 && l.MsgsPerS > best {
			best = l.MsgsPerS
		}
	}
	for _, d := range r.Disk {
		label := "one dir fsync per file"
		if d.Batch > 1 {
			label = fmt.Sprintf("one dir fsync per %d files", d.Batch)
		}
		row(fmt.Sprintf("best 10KB durable msgs/s, vs disk ceiling: 10 KB write+fsync+rename+dir-fsync files/s, %s", label),
			rate(best), rate(d.FilesPer), ratio(best, d.FilesPer))
	}
	for _, tr := range append(append(imapRows(r), ldapRows(r)...), nginxRows(r)...) {
		row(tr.measure, tr.congvu, tr.reference, tr.ratio)
	}
	for _, tr := range webmailRows(r) {
		row(tr.measure, tr.congvu, tr.reference, tr.ratio)
	}
	smimeRows(r, row)
	mimeRows(r, row)
	fmt.Fprintln(w)

	var notes []string
	for _, l := range append(append([]loadResult{}, r.SMTP...), r.SMIME...) {
		if l.Failed > 0 || l.FirstErr != "" {
			notes = append(notes, fmt.Sprintf("- %s %v: %d of %d transactions failed; first error: %s", l.Target, l.Point, l.Failed, l.Attempted, l.FirstErr))
		}
	}
	notes = append(notes, imapNotes(r)...)
	notes = append(notes, ldapNotes(r)...)
	notes = append(notes, webmailNotes(r)...)
	var skipped []string
	for t := range r.NotMeasured {
		skipped = append(skipped, t)
	}
	sort.Strings(skipped)
	for _, t := range skipped {
		notes = append(notes, fmt.Sprintf("- reference not measured: %s: %s", t, r.NotMeasured[t]))
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "Notes:")
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Ratios: > 1 means congvu is ahead (rates congvu ÷ reference, times reference ÷ congvu).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "- SMTP: each point sends one message per transaction to one existing local recipient, sessions kept open, MAIL, RCPT and DATA pipelined (RFC 2920) as Postfix's own client does; "+
		"congvu answers 250 only after the message is fsynced, Postfix after its queue file is fsynced "+
		"(delivery to Dovecot follows, and the durable row waits for the last file in the Maildirs).")
	if r.IMAP != nil {
		fmt.Fprintln(w, "- IMAP: both servers over implicit TLS (ECDSA P-256 certificate, X25519), the same users and the same imported "+
			"mailboxes, and the same argon2id cost per LOGIN (m=19 MiB, t=1, p=1), paid once per user in 5 minutes: both remember "+
			"a verified password (congvu's keyed-hash cache, Dovecot's auth_cache). Each client logs in as its own user and repeats: "+
			"LIST, STATUS, SELECT, FETCH of the latest 50 (flags, size, envelope, header fields), FETCH of one whole message, "+
			"STORE ±\\Flagged, SEARCH (SUBJECT or UNSEEN), APPEND 10 KB, STORE \\Deleted, UID EXPUNGE, IDLE+DONE; it reconnects "+
			"every 5 rounds. congvu fsyncs every change (flags included); Dovecot runs with its default mail_fsync=optimized. "+
			"Large-folder times are medians of 3 on one connection. The QRESYNC row: a client remembers UIDVALIDITY and "+
			"HIGHESTMODSEQ, another flags and expunges scattered messages of the large folder, then the first reconnects; "+
			"bytes the server sends for SELECT (QRESYNC) vs for SELECT and UID FETCH 1:* (FLAGS). Idle memory is read once it stopped shrinking: RSS of "+
			"congvu's one process, PSS summed over Dovecot's processes.")
	}
	if r.IMAP != nil && r.IMAP.Webmail != nil {
		fmt.Fprintln(w, "- Webmail: one signed-in session asks for the same list page again and again, one request at a time "+
			"(50 messages a page, newest first). congvu: GET of the whole page (folders with unread counts, 50 rows) over HTTPS. "+
			"Roundcube (Debian's package, default settings, PHP's built-in web server with opcache, plain HTTP on loopback): "+
			"the list request its page makes when a folder is opened or a page turned (_action=list); as Roundcube does, every "+
			"request logs in to Dovecot over IMAPS again, with the bench's argon2id password hash.")
	}
	if len(r.SMIME) == 2 {
		fmt.Fprintln(w, "- S/MIME: 10 KB messages on the MX listener at c=20, unsigned, then clear-signed with RSASSA-PSS/SHA-256 "+
			"(RSA 2048 signer, 3072-bit root and intermediate trusted through signing.trust_dir); each signed message is "+
			"verified (signature, chain, key usage, address) and stamped smime=pass before the fsync and the 250.")
	}
	if r.LDAP != nil {
		fmt.Fprintln(w, "- Directory: one private slapd (deploy/ldap/start-slapd.sh, argon2 password hashes) for all three; cold = "+
			"slapd and the server just restarted, warm = the same users again. congvu's RCPT check also opens the "+
			"recipient's mailbox index (quota), the first time since the restart.")
	}
}
