package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// imapSizes are the sizes of the IMAP part of a run.
type imapSizes struct {
	MailboxMessages int           // INBOX of each mixed-workload user
	Clients         []int         // mixed-workload client counts
	PointTime       time.Duration // per client count and target
	LargeMessages   int           // the large folder
	ImportMessages  int           // the maildir imported through congvu (0: the large folder is the import)
	IdleConns       int           // idle IMAP connections per target
	WebRequests     int           // GETs of each timed webmail list page
}

// imapResults is the IMAP part of the JSON.
type imapResults struct {
	MailboxMessages int              `json:"mailbox_messages"`
	Load            []imapLoadResult `json:"load"`
	LargeCorpus     maildirStats     `json:"large_corpus"`
	Large           []largeResult    `json:"large"`
	// LargeImport is `congvu storage import-maildir` of the large folder.
	LargeImport *importResult `json:"large_import,omitempty"`
	// Import is the separate big import (full mode: 200k messages).
	Import *importResult `json:"import,omitempty"`
	Idle   []idleResult  `json:"idle"`
	// Resync is a reconnecting client catching up with the large folder.
	Resync []resyncResult `json:"resync,omitempty"`
	// Webmail is congvu's message-list page of the large folder.
	Webmail *webmailResult `json:"webmail,omitempty"`
	// Roundcube is the reference: Roundcube's message list over Dovecot.
	Roundcube *webmailResult `json:"roundcube,omitempty"`
}

// importResult is one `congvu storage import-maildir` run.
type importResult struct {
	Messages  int     `json:"messages"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	MaxRSSKiB int64   `json:"max_rss_kib"`
	PerS      float64 `json:"msgs_per_s"`
}

// imapEnv is what the IMAP part needs from the run.
type imapEnv struct {
	tmp       string
	congvuBin string
	sizes     imapSizes
	notes     map[string]string // NotMeasured
	cleanups  *[]func()
}

const (
	targetDovecot = "dovecot"
)

// runIMAPPart runs the mixed workload, the large mailbox, the import and the
// idle connections on congvu, then on Dovecot with the same users and the
// same mailboxes.
func runIMAPPart(env imapEnv) (*imapResults, error) {
	sz := env.sizes
	out := &imapResults{MailboxMessages: sz.MailboxMessages}
	corpusDir := filepath.Join(env.tmp, "corpus")

	logf("IMAP: creating a fresh congvu demo")
	cvDir := filepath.Join(env.tmp, "congvu-imap")
	cv, err := startCongvu(env.congvuBin, cvDir)
	if err != nil {
		return nil, err
	}
	cv.proc.stop()
	maxClients := 0
	for _, c := range sz.Clients {
		maxClients = max(maxClients, c)
	}
	if len(cv.users) < maxClients+2 {
		return nil, fmt.Errorf("demo has %d officials, need %d", len(cv.users), maxClients+2)
	}
	loadUsers := cv.users[:maxClients]
	largeUser := cv.users[maxClients]
	importUser := cv.users[maxClients+1]
	_, domain, _ := strings.Cut(largeUser.Address, "@")
	people := make([]string, 0, len(cv.users))
	for _, u := range cv.users {
		people = append(people, u.Address)
	}

	logf("IMAP: generating a %d-message INBOX and a %d-message folder", sz.MailboxMessages, sz.LargeMessages)
	now := time.Now().UTC().Truncate(24 * time.Hour)
	mixedDir := filepath.Join(corpusDir, "mixed")
	if _, err := writeMaildir(mixedDir, &corpus{seed: 1, domain: domain, people: people}, sz.MailboxMessages,
		now.AddDate(0, -6, 0), now.Add(-time.Hour)); err != nil {
		return nil, err
	}
	largeDir := filepath.Join(corpusDir, "large")
	out.LargeCorpus, err = writeMaildir(largeDir, &corpus{seed: 2, domain: domain, people: people, rareEvery: max(sz.LargeMessages/3, 1)},
		sz.LargeMessages, now.AddDate(-3, 0, 0), now.Add(-time.Hour))
	if err != nil {
		return nil, err
	}

	importLog := filepath.Join(env.tmp, "congvu-import.log")
	logf("IMAP: importing the INBOX of %d users into congvu", len(loadUsers))
	for _, u := range loadUsers {
		if _, err := runMeasured(importLog, env.congvuBin, "storage", "import-maildir", "--config", cv.config(), "--user", u.Address, mixedDir); err != nil {
			return nil, err
		}
	}
	logf("IMAP: importing the %d-message folder into congvu", sz.LargeMessages)
	r, err := runMeasured(importLog, env.congvuBin, "storage", "import-maildir", "--config", cv.config(), "--user", largeUser.Address, largeDir)
	if err != nil {
		return nil, err
	}
	out.LargeImport = &importResult{Messages: sz.LargeMessages, Bytes: out.LargeCorpus.Bytes, Seconds: r.Seconds, MaxRSSKiB: r.MaxRSSKiB,
		PerS: float64(sz.LargeMessages) / r.Seconds}
	if sz.ImportMessages > 0 {
		logf("IMAP: generating and importing a %d-message Maildir", sz.ImportMessages)
		bigDir := filepath.Join(corpusDir, "import")
		st, err := writeMaildir(bigDir, &corpus{seed: 3, domain: domain, people: people}, sz.ImportMessages,
			now.AddDate(-5, 0, 0), now.Add(-time.Hour))
		if err != nil {
			return nil, err
		}
		r, err := runMeasured(importLog, env.congvuBin, "storage", "import-maildir", "--config", cv.config(), "--user", importUser.Address, bigDir)
		if err != nil {
			return nil, err
		}
		out.Import = &importResult{Messages: sz.ImportMessages, Bytes: st.Bytes, Seconds: r.Seconds, MaxRSSKiB: r.MaxRSSKiB,
			PerS: float64(sz.ImportMessages) / r.Seconds}
		os.RemoveAll(bigDir)
	}

	logf("IMAP: congvu")
	cv, err = startCongvu(env.congvuBin, cvDir)
	if err != nil {
		return nil, err
	}
	*env.cleanups = append(*env.cleanups, cv.proc.stop)
	cvTarget := imapTarget{Name: targetCongvu, Addr: cv.addrs["imaps"], Users: loadUsers}
	runTarget := func(t imapTarget, pid int, measure, metricsURL string) {
		for _, c := range sz.Clients {
			logf("IMAP %s: mixed workload, %d clients", t.Name, c)
			cpu := treeCPU(pid)
			res := runIMAPLoad(t, c, sz.PointTime, uint64(c))
			res.CPUSeconds = treeCPU(pid) - cpu
			out.Load = append(out.Load, res)
		}
		logf("IMAP %s: large mailbox", t.Name)
		out.Large = append(out.Large, measureLarge(t.Name, t.Addr, largeUser, out.LargeCorpus.Since))
		if t.Name == targetCongvu {
			// After the IMAP figures: signing in to the web for the first
			// time changes the large user's password on congvu.
			logf("webmail %s: message list of the large folder", t.Name)
			w := measureWebmail(cv.addrs["https"], largeUser, sz.WebRequests)
			w.Messages = sz.LargeMessages
			out.Webmail = &w
		}
		if t.Name == targetDovecot && out.Webmail != nil && out.Webmail.Err == "" {
			logf("webmail: Roundcube over %s, message list of the large folder", t.Name)
			// Roundcube sends through Debian's Postfix (delivering to its own
			// Dovecot over LMTP), the reference of the SMTP rows.
			smtpAddr := ""
			pf, err := startPostfixDovecot(filepath.Join(env.tmp, "roundcube-postfix"), domain, []string{largeUser.Address}, nil)
			if err != nil {
				env.notes["roundcube-send"] = "Roundcube's send not measured: " + firstLine(err.Error())
			} else {
				*env.cleanups = append(*env.cleanups, pf.stop)
				smtpAddr = pf.smtpAddr
			}
			if rc, err := startRoundcube(filepath.Join(env.tmp, "roundcube"), t.Addr, smtpAddr); err != nil {
				env.notes["roundcube"] = firstLine(err.Error())
			} else {
				*env.cleanups = append(*env.cleanups, rc.proc.stop)
				w := measureRoundcube(rc, t.Addr, largeUser, sz.WebRequests, out.Webmail.Pages, smtpAddr != "")
				w.Messages = sz.LargeMessages
				out.Roundcube = &w
				rc.proc.stop()
			}
			pf.stop()
		}
		// After the large-folder and webmail figures: it expunges.
		logf("IMAP %s: QRESYNC reconnect vs full resync", t.Name)
		resyncUser := largeUser
		if t.Name == targetCongvu && out.Webmail != nil && out.Webmail.NewPassword != "" {
			resyncUser.Password = out.Webmail.NewPassword
		}
		out.Resync = append(out.Resync, measureResync(t.Name, t.Addr, resyncUser))
		logf("IMAP %s: %d idle connections", t.Name, sz.IdleConns)
		out.Idle = append(out.Idle, measureIdle(t.Name, t.Addr, loadUsers, sz.IdleConns, pid, measure, metricsURL))
	}
	runTarget(cvTarget, cv.pid(), "RSS", "http://"+cv.addrs["admin"]+"/metrics")
	cv.proc.stop()

	logf("IMAP: starting a private Dovecot with the same users and mailboxes")
	dv, err := prepareDovecot(filepath.Join(env.tmp, "dovecot-imap"), cv.users, dovecotOptions{MaxClients: max(sz.IdleConns, maxClients) + 50})
	if err == nil {
		for _, u := range loadUsers {
			if err = linkMaildir(mixedDir, dv.maildirOf(u.Address)); err != nil {
				break
			}
		}
	}
	if err == nil {
		// Dovecot takes the large folder as it is: Maildir is its format.
		if err = os.MkdirAll(dv.homeOf(largeUser.Address), 0o755); err == nil {
			err = os.Rename(largeDir, dv.maildirOf(largeUser.Address))
		}
	}
	if err == nil {
		err = dv.start()
	}
	if err != nil {
		env.notes[targetDovecot] = firstLine(err.Error())
		fmt.Fprintln(os.Stderr, "Dovecot not started:", err)
		return out, nil
	}
	*env.cleanups = append(*env.cleanups, dv.stop)
	runTarget(imapTarget{Name: targetDovecot, Addr: dv.addr, Users: loadUsers}, dv.pid(), "PSS", "")
	dv.stop()
	return out, nil
}
