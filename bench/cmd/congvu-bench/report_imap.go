package main

import (
	"fmt"
	"strings"
)

// tableRow is one line of the Markdown table.
type tableRow struct{ measure, congvu, reference, ratio string }

// ratioStr formats a ratio where > 1 means congvu is ahead.
func ratioStr(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func fmtMs(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.1f s", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	default:
		return fmt.Sprintf("%.1f ms", v)
	}
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// imapRows are the IMAP lines of the table: reference is Dovecot.
func imapRows(r *results) []tableRow {
	im := r.IMAP
	if im == nil {
		return nil
	}
	var rows []tableRow
	load := func(target string, clients int) *imapLoadResult {
		for i := range im.Load {
			if im.Load[i].Target == target && im.Load[i].Clients == clients {
				return &im.Load[i]
			}
		}
		return nil
	}
	var clients []int
	for _, l := range im.Load {
		if l.Target == targetCongvu {
			clients = append(clients, l.Clients)
		}
	}
	for _, c := range clients {
		cv, dv := load(targetCongvu, c), load(targetDovecot, c)
		ref, rat := "not measured", "–"
		if dv != nil {
			ref, rat = fmt.Sprintf("%.0f", dv.OpsPerS), ratioStr(cv.OpsPerS, dv.OpsPerS)
		}
		rows = append(rows, tableRow{fmt.Sprintf("IMAP mixed workload, %d clients (%d-message INBOX each): commands/s", c, im.MailboxMessages),
			fmt.Sprintf("%.0f", cv.OpsPerS), ref, rat})
		if cv.CPUSeconds > 0 && cv.Ops > 0 {
			// Lower is better: the ratio is Dovecot's ÷ congvu's.
			perCmd := func(l *imapLoadResult) float64 { return l.CPUSeconds * 1000 / float64(l.Ops) }
			ref, rat := "not measured", "–"
			if dv != nil && dv.CPUSeconds > 0 && dv.Ops > 0 {
				ref, rat = fmt.Sprintf("%.2f ms", perCmd(dv)), ratioStr(perCmd(dv), perCmd(cv))
			}
			rows = append(rows, tableRow{fmt.Sprintf("IMAP %d clients: server CPU per command (whole process tree)", c),
				fmt.Sprintf("%.2f ms", perCmd(cv)), ref, rat})
		}
		for _, op := range imapOps {
			cs := cv.PerOp[op]
			if cs.Count == 0 {
				continue
			}
			ref, rat := "not measured", "–"
			if dv != nil {
				ds := dv.PerOp[op]
				ref = fmt.Sprintf("%s (%.0f/s)", fmtMs(ds.P99Ms), ds.PerS)
				rat = ratioStr(ds.P99Ms, cs.P99Ms)
			}
			rows = append(rows, tableRow{fmt.Sprintf("IMAP %d clients: %s p99 (rate)", c, op),
				fmt.Sprintf("%s (%.0f/s)", fmtMs(cs.P99Ms), cs.PerS), ref, rat})
		}
	}

	var cvL, dvL *largeResult
	for i := range im.Large {
		switch im.Large[i].Target {
		case targetCongvu:
			cvL = &im.Large[i]
		case targetDovecot:
			dvL = &im.Large[i]
		}
	}
	if cvL != nil && cvL.Err == "" {
		size := thousands(im.LargeCorpus.Messages) + " messages"
		if r.Mode == "quick" {
			size += ", quick mode (full: 100,000)"
		}
		type lr struct {
			name string
			get  func(*largeResult) (float64, string)
		}
		hits := func(ms float64, n uint32) (float64, string) { return ms, fmt.Sprintf("%s, %d hits", fmtMs(ms), n) }
		for _, x := range []lr{
			{"first SELECT after start (Dovecot indexes the Maildir)", func(l *largeResult) (float64, string) { return l.FirstSelectMs, fmtMs(l.FirstSelectMs) }},
			{"SELECT", func(l *largeResult) (float64, string) { return l.SelectMs, fmtMs(l.SelectMs) }},
			{"FETCH latest 100 ENVELOPE", func(l *largeResult) (float64, string) { return l.FetchEnvMs, fmtMs(l.FetchEnvMs) }},
			{"SEARCH BODY rare word", func(l *largeResult) (float64, string) { return hits(l.SearchBodyMs, l.BodyHits) }},
			{"SEARCH TEXT rare word", func(l *largeResult) (float64, string) { return hits(l.SearchTextMs, l.TextHits) }},
			{"SEARCH SINCE (last 5%)", func(l *largeResult) (float64, string) { return hits(l.SearchSinceMs, l.SinceHits) }},
		} {
			cms, cs := x.get(cvL)
			ref, rat := "not measured", "–"
			if dvL != nil && dvL.Err == "" {
				dms, ds := x.get(dvL)
				ref, rat = ds, ratioStr(dms, cms)
			}
			rows = append(rows, tableRow{fmt.Sprintf("Large folder (%s): %s", size, x.name), cs, ref, rat})
		}
	}
	var cvR, dvR *resyncResult
	for i := range im.Resync {
		switch im.Resync[i].Target {
		case targetCongvu:
			cvR = &im.Resync[i]
		case targetDovecot:
			dvR = &im.Resync[i]
		}
	}
	if cvR != nil && cvR.Err == "" {
		cell := func(x *resyncResult) string {
			return fmt.Sprintf("%.1f%% (%s of %s bytes; %s vs %s)", 100*float64(x.QresyncBytes)/float64(max(x.FullBytes, 1)),
				thousands(int(x.QresyncBytes)), thousands(int(x.FullBytes)), fmtMs(x.QresyncMs), fmtMs(x.FullMs))
		}
		ref, rat := "not measured", "–"
		if dvR != nil && dvR.Err == "" {
			ref, rat = cell(dvR), ratioStr(float64(dvR.QresyncBytes), float64(cvR.QresyncBytes))
		}
		rows = append(rows, tableRow{fmt.Sprintf("Reconnect to the large folder after %d flag changes and %d expunges: QRESYNC SELECT bytes as a share of SELECT + UID FETCH 1:* (FLAGS) (times)",
			cvR.Changes, cvR.Expunges), cell(cvR), ref, rat})
	}
	imp := func(label string, ir *importResult) {
		if ir == nil {
			return
		}
		rows = append(rows, tableRow{fmt.Sprintf("`congvu storage import-maildir` of %s messages (%.0f MB): time, peak RSS", thousands(ir.Messages), float64(ir.Bytes)/1e6) + label,
			fmt.Sprintf("%.0f s (%.0f msgs/s), %.0f MiB", ir.Seconds, ir.PerS, float64(ir.MaxRSSKiB)/1024), "Dovecot reads Maildir in place", "–"})
	}
	imp(" (the large folder)", im.LargeImport)
	imp("", im.Import)

	var cvI, dvI *idleResult
	for i := range im.Idle {
		switch im.Idle[i].Target {
		case targetCongvu:
			cvI = &im.Idle[i]
		case targetDovecot:
			dvI = &im.Idle[i]
		}
	}
	if cvI != nil {
		cell := func(x *idleResult) string {
			if x.PerGiB == 0 {
				// Fewer connections than the server's memory noise.
				return fmt.Sprintf("%s held; %s did not grow measurably", thousands(x.Held), x.Measure)
			}
			s := fmt.Sprintf("%s per GiB (%s held, %.0f KiB each, %s", thousands(int(x.PerGiB)), thousands(x.Held), x.KiBPerCon, x.Measure)
			if x.HeapKiBPerConn > 0 {
				s += fmt.Sprintf("; Go live heap ≈%.0f + stacks %.0f KiB, %.1f goroutines each", x.HeapKiBPerConn, x.StackKiBPerConn, x.GoroutinesPer)
			}
			return s + ")"
		}
		ref, rat := "not measured", "–"
		if dvI != nil {
			ref, rat = cell(dvI), ratioStr(cvI.PerGiB, dvI.PerGiB)
		}
		rows = append(rows, tableRow{"Idle IMAP connections (TLS, LOGIN, SELECT INBOX, IDLE) per GiB of server memory", cell(cvI), ref, rat})
	}
	return rows
}

// imapNotes explains failures of the IMAP part.
func imapNotes(r *results) []string {
	im := r.IMAP
	if im == nil {
		return nil
	}
	var notes []string
	for _, l := range im.Load {
		if l.Errors > 0 {
			notes = append(notes, fmt.Sprintf("- IMAP %s, %d clients: %d commands failed; first: %s", l.Target, l.Clients, l.Errors, l.FirstErr))
		}
	}
	for _, l := range im.Large {
		if l.Err != "" {
			notes = append(notes, fmt.Sprintf("- large folder on %s: %s", l.Target, l.Err))
		}
	}
	for _, x := range im.Resync {
		if x.Err != "" {
			notes = append(notes, fmt.Sprintf("- QRESYNC reconnect on %s: %s", x.Target, x.Err))
		}
	}
	for _, x := range im.Idle {
		if x.Held < x.Wanted || x.Checked == 0 || x.FirstErr != "" {
			notes = append(notes, fmt.Sprintf("- idle on %s: %d of %d connections held, %d of a sample answered DONE; first error: %s",
				x.Target, x.Held, x.Wanted, x.Checked, x.FirstErr))
		}
	}
	return notes
}

// ldapRows are the directory lines: logins against Dovecot's LDAP passdb,
// recipient lookups against Postfix's ldap: table, same slapd.
func ldapRows(r *results) []tableRow {
	ld := r.LDAP
	if ld == nil {
		return nil
	}
	var rows []tableRow
	rows = append(rows, tableRow{fmt.Sprintf("Directory: %s officials imported into slapd with `congvu directory import`", thousands(ld.Accounts)),
		fmt.Sprintf("%.0f s (%.0f accounts/s)", ld.ImportSeconds, float64(ld.Accounts)/ld.ImportSeconds), "–", "–"})
	login := func(target, cache string) *loginResult {
		for i := range ld.Logins {
			if ld.Logins[i].Target == target && ld.Logins[i].Cache == cache {
				return &ld.Logins[i]
			}
		}
		return nil
	}
	rcpt := func(target, cache string) *rcptResult {
		for i := range ld.Rcpt {
			if ld.Rcpt[i].Target == target && ld.Rcpt[i].Cache == cache {
				return &ld.Rcpt[i]
			}
		}
		return nil
	}
	for _, cache := range []string{"cold", "warm"} {
		c := login(targetCongvu, cache)
		if c == nil {
			continue
		}
		ref, rat := "not measured", "–"
		if d := login(targetDovecot, cache); d != nil {
			ref = fmt.Sprintf("%.0f/s, p99 %s", d.PerS, fmtMs(d.P99Ms))
			rat = ratioStr(c.PerS, d.PerS)
		}
		rows = append(rows, tableRow{fmt.Sprintf("Directory: IMAP LOGIN through LDAP, %s, %d clients, %s distinct users (vs Dovecot LDAP passdb, auth_bind)", cache, c.Clients, thousands(c.Logins+c.Failed)),
			fmt.Sprintf("%.0f/s, p99 %s", c.PerS, fmtMs(c.P99Ms)), ref, rat})
	}
	for _, cache := range []string{"cold", "warm"} {
		c := rcpt(targetCongvu, cache)
		if c == nil {
			continue
		}
		ref, rat := "not measured", "–"
		if d := rcpt(targetPostfixLDAP, cache); d != nil {
			ref = fmt.Sprintf("%.0f/s, p99 %s", d.PerS, fmtMs(d.P99Ms))
			rat = ratioStr(c.PerS, d.PerS)
		}
		rows = append(rows, tableRow{fmt.Sprintf("Directory: SMTP RCPT TO lookups, %s, %d sessions, %s distinct recipients (vs Postfix ldap: table)", cache, c.Sessions, thousands(c.Rcpts+c.Failed)),
			fmt.Sprintf("%.0f/s, p99 %s", c.PerS, fmtMs(c.P99Ms)), ref, rat})
	}
	return rows
}

func ldapNotes(r *results) []string {
	if r.LDAP == nil {
		return nil
	}
	var notes []string
	for _, l := range r.LDAP.Logins {
		if l.Failed > 0 {
			notes = append(notes, fmt.Sprintf("- LDAP logins on %s (%s): %d failed; first: %s", l.Target, l.Cache, l.Failed, l.FirstErr))
		}
	}
	for _, l := range r.LDAP.Rcpt {
		if l.Failed > 0 || l.FirstErr != "" {
			notes = append(notes, fmt.Sprintf("- RCPT lookups on %s (%s): %d failed; first: %s", l.Target, l.Cache, l.Failed, l.FirstErr))
		}
	}
	return notes
}
