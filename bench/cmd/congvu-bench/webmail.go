package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// webmailResult is the message-list page of the large folder (issue 4
// item 6): one signed-in browser session over HTTPS asking for the newest
// page and for the oldest (deepest) page, one request at a time.
type webmailResult struct {
	Target     string  `json:"target"`
	Messages   int     `json:"messages"`
	Requests   int     `json:"requests_per_page"`
	Pages      int     `json:"pages"`
	FirstP50Ms float64 `json:"first_page_p50_ms"`
	FirstP95Ms float64 `json:"first_page_p95_ms"`
	DeepP50Ms  float64 `json:"deep_page_p50_ms"`
	DeepP95Ms  float64 `json:"deep_page_p95_ms"`
	// AfterRead*: the newest page again right after opening one of its
	// messages (which marks it \Seen, a change to the folder).
	AfterReadP50Ms float64 `json:"after_read_p50_ms"`
	AfterReadP95Ms float64 `json:"after_read_p95_ms"`
	RowsPerPage    int     `json:"rows_per_page"`
	// NewPassword is the password the first sign-in chose, if it asked.
	NewPassword string `json:"-"`
	// Search*: the search page over the whole large folder, for the rare
	// word (a few hits in the text) and for an accent-free phrase of one
	// subject in twelve (congvu: its newest 200; Roundcube: every match).
	SearchRareP50Ms   float64 `json:"search_rare_p50_ms,omitempty"`
	SearchRareP95Ms   float64 `json:"search_rare_p95_ms,omitempty"`
	SearchRareHits    int     `json:"search_rare_hits,omitempty"`
	SearchPhraseP50Ms float64 `json:"search_phrase_p50_ms,omitempty"`
	SearchPhraseP95Ms float64 `json:"search_phrase_p95_ms,omitempty"`
	// Send*: compose-and-send of a short message to a colleague, to the
	// answer that the message is stored (the 303 after the POST).
	SendP50Ms float64 `json:"send_p50_ms,omitempty"`
	SendP95Ms float64 `json:"send_p95_ms,omitempty"`
	// IMAPLoginP50Ms (Roundcube only): a new IMAPS connection and LOGIN
	// to Dovecot on its own, which each Roundcube request includes.
	IMAPLoginP50Ms float64 `json:"imap_login_p50_ms,omitempty"`
	Err            string  `json:"error,omitempty"`
}

var (
	csrfField  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	pagesField = regexp.MustCompile(`Trang 1 / (\d+)`)
	rowField   = regexp.MustCompile(`data-uid="(\d+)"`)
)

// measureWebmail signs u in on the HTTPS listener (making the forced
// first-login password change if asked) and times GET of the list pages.
func measureWebmail(httpsAddr string, u benchUser, requests int) webmailResult {
	res := webmailResult{Target: targetCongvu, Requests: requests}
	if err := measureWebmailInto(&res, httpsAddr, u, requests); err != nil {
		res.Err = err.Error()
	}
	return res
}

func measureWebmailInto(res *webmailResult, httpsAddr string, u benchUser, requests int) error {
	if httpsAddr == "" {
		return fmt.Errorf("congvu has no HTTPS listener")
	}
	base := "https://" + httpsAddr
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 60 * time.Second,
		Transport: &http.Transport{TLSClientConfig: clientTLS(), MaxIdleConnsPerHost: 1}}
	get := func(path string) (string, *http.Response, error) {
		r, err := c.Get(base + path)
		if err != nil {
			return "", nil, err
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		if err == nil && r.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s", path, r.Status)
		}
		return string(b), r, err
	}
	post := func(page, path string, form url.Values) (string, *http.Response, error) {
		m := csrfField.FindStringSubmatch(page)
		if m == nil {
			return "", nil, fmt.Errorf("no form token on the page before POST %s", path)
		}
		form.Set("csrf", m[1])
		r, err := c.PostForm(base+path, form)
		if err != nil {
			return "", nil, err
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		if err == nil && r.StatusCode != http.StatusOK {
			err = fmt.Errorf("POST %s: %s", path, r.Status)
		}
		return string(b), r, err
	}

	page, _, err := get("/login")
	if err != nil {
		return err
	}
	page, r, err := post(page, "/login", url.Values{"login": {u.Address}, "password": {u.Password}})
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	if r.Request.URL.Path == "/password" {
		// First sign-in of a demo account: choose a password (upper,
		// lower, digit, special character; not the account name).
		next := "Bench-" + strings.ToLower(rand.Text()[:6]) + rand.Text()[:6] + "#9"
		if _, r, err = post(page, "/password", url.Values{"current": {u.Password}, "new": {next}, "confirm": {next}}); err != nil {
			return fmt.Errorf("forced password change: %w", err)
		}
		res.NewPassword = next
		if r.Request.URL.Path != "/" {
			return fmt.Errorf("forced password change ended on %s", r.Request.URL.Path)
		}
	} else if r.Request.URL.Path != "/" {
		return fmt.Errorf("sign in ended on %s", r.Request.URL.Path)
	}

	first, _, err := get("/mail?folder=INBOX")
	if err != nil {
		return err
	}
	m := pagesField.FindStringSubmatch(first)
	if m == nil {
		return fmt.Errorf("the list page shows no page count")
	}
	res.Pages, _ = strconv.Atoi(m[1])
	res.RowsPerPage = len(rowField.FindAllString(first, -1))
	if res.RowsPerPage == 0 {
		return fmt.Errorf("the list page shows no messages")
	}
	time1 := func(path string, rows int) ([]time.Duration, error) {
		var lat []time.Duration
		for range requests {
			t0 := time.Now()
			body, _, err := get(path)
			if err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(t0))
			if n := len(rowField.FindAllString(body, -1)); rows > 0 && n != rows {
				return nil, fmt.Errorf("GET %s: %d rows, want %d", path, n, rows)
			}
		}
		return lat, nil
	}
	lat, err := time1("/mail?folder=INBOX", res.RowsPerPage)
	if err != nil {
		return err
	}
	res.FirstP50Ms, res.FirstP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)
	if lat, err = time1(fmt.Sprintf("/mail?folder=INBOX&page=%d", res.Pages), 0); err != nil {
		return err
	}
	res.DeepP50Ms, res.DeepP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)
	var uids []string
	for _, m := range rowField.FindAllStringSubmatch(first, afterReads) {
		uids = append(uids, m[1])
	}
	lat = lat[:0]
	for _, uid := range uids {
		if _, _, err := get("/mail/msg?folder=INBOX&uid=" + uid); err != nil {
			return err
		}
		t0 := time.Now()
		if _, _, err := get("/mail?folder=INBOX"); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
	}
	res.AfterReadP50Ms, res.AfterReadP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)

	searches := max(requests/4, 10)
	search := func(q url.Values) ([]time.Duration, int, error) {
		var lat []time.Duration
		hits := 0
		for range searches {
			t0 := time.Now()
			body, _, err := get("/mail/search?" + q.Encode())
			if err != nil {
				return nil, 0, err
			}
			lat = append(lat, time.Since(t0))
			hits = len(rowField.FindAllString(body, -1))
		}
		return lat, hits, nil
	}
	if lat, res.SearchRareHits, err = search(url.Values{"folder": {"INBOX"}, "q": {rareWord}}); err != nil {
		return err
	}
	if res.SearchRareHits == 0 {
		return fmt.Errorf("search for %s found nothing", rareWord)
	}
	res.SearchRareP50Ms, res.SearchRareP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)
	lat, hits, err := search(url.Values{"folder": {"INBOX"}, "q": {searchPhrase}})
	if err != nil {
		return err
	}
	if hits == 0 {
		return fmt.Errorf("search for %q found nothing", searchPhrase)
	}
	res.SearchPhraseP50Ms, res.SearchPhraseP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)

	lat, err = measureSend(c, base, u.Address, max(requests/4, 10))
	if err != nil {
		return err
	}
	res.SendP50Ms, res.SendP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)
	return nil
}

// searchPhrase is typed without marks, as on a phone: it must find
// "Kế hoạch cải cách hành chính năm 2026", one subject in twelve.
const searchPhrase = "ke hoach cai cach"

// measureSend times compose-and-send: the multipart POST of the compose
// form (its CSRF token first) to the 303 that follows a stored message.
func measureSend(c *http.Client, base, to string, n int) ([]time.Duration, error) {
	nofollow := *c
	nofollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var lat []time.Duration
	for i := range n {
		r, err := c.Get(base + "/mail/compose")
		if err != nil {
			return nil, err
		}
		page, _ := io.ReadAll(r.Body)
		r.Body.Close()
		m := csrfField.FindSubmatch(page)
		if m == nil {
			return nil, fmt.Errorf("the compose page has no form token")
		}
		var body strings.Builder
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf", string(m[1]))
		mw.WriteField("action", "send")
		mw.WriteField("to", to)
		mw.WriteField("subject", fmt.Sprintf("Đo thời gian gửi thư %d", i))
		mw.WriteField("body", "Kính gửi anh,\nĐây là thư đo thời gian gửi trên web.\nTrân trọng.")
		mw.Close()
		req, _ := http.NewRequest("POST", base+"/mail/compose", strings.NewReader(body.String()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Origin", base)
		t0 := time.Now()
		res, err := nofollow.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		lat = append(lat, time.Since(t0))
		if res.StatusCode != http.StatusSeeOther || strings.Contains(res.Header.Get("Location"), "/mail/compose") {
			return nil, fmt.Errorf("send from the web: %s to %s", res.Status, res.Header.Get("Location"))
		}
	}
	return lat, nil
}

// afterReads is how many messages are opened for the after-read figure.
const afterReads = 20

// webmailRows are the table lines of the webmail, against Roundcube over
// Dovecot when both ran.
func webmailRows(r *results) []tableRow {
	var w, rc *webmailResult
	if r.IMAP != nil {
		w, rc = r.IMAP.Webmail, r.IMAP.Roundcube
	}
	if w == nil {
		return []tableRow{{"Webmail: message-list page p50/p95, large folder", "not measured (IMAP part not run)", "–", "–"}}
	}
	size := thousands(r.IMAP.LargeCorpus.Messages) + " messages"
	if r.Mode == "quick" {
		size += ", quick mode (full: 100,000)"
	}
	if w.Err != "" {
		return []tableRow{{fmt.Sprintf("Webmail: message-list page p50/p95, large folder (%s)", size), "failed: " + firstLine(w.Err), "–", "–"}}
	}
	cell := func(p50, p95 float64) string { return fmtMs(p50) + " / " + fmtMs(p95) }
	ref := func(p50, p95 func(*webmailResult) float64) (string, string) {
		switch {
		case rc == nil:
			return "not measured (Roundcube or Dovecot not run)", "–"
		case rc.Err != "":
			return "failed: " + firstLine(rc.Err), "–"
		}
		return cell(p50(rc), p95(rc)), ratioStr(p50(rc), p50(w))
	}
	fref, frat := ref(func(x *webmailResult) float64 { return x.FirstP50Ms }, func(x *webmailResult) float64 { return x.FirstP95Ms })
	dref, drat := ref(func(x *webmailResult) float64 { return x.DeepP50Ms }, func(x *webmailResult) float64 { return x.DeepP95Ms })
	aref, arat := ref(func(x *webmailResult) float64 { return x.AfterReadP50Ms }, func(x *webmailResult) float64 { return x.AfterReadP95Ms })
	sref, srat := ref(func(x *webmailResult) float64 { return x.SearchRareP50Ms }, func(x *webmailResult) float64 { return x.SearchRareP95Ms })
	snd, sndRatio := ref(func(x *webmailResult) float64 { return x.SendP50Ms }, func(x *webmailResult) float64 { return x.SendP95Ms })
	if rc != nil && rc.Err == "" && rc.SendP50Ms == 0 {
		snd, sndRatio = "not measured (Postfix for Roundcube not started)", "–"
	}
	pref, prat := ref(func(x *webmailResult) float64 { return x.SearchPhraseP50Ms }, func(x *webmailResult) float64 { return x.SearchPhraseP95Ms })
	return []tableRow{
		{fmt.Sprintf("Webmail: message-list page p50/p95 (ratio of p50s), large folder (%s), newest page, vs Roundcube over Dovecot", size),
			cell(w.FirstP50Ms, w.FirstP95Ms), fref, frat},
		{fmt.Sprintf("Webmail: message-list page p50/p95 (ratio of p50s), large folder (%s), oldest page (%d of %d), vs Roundcube over Dovecot", size, w.Pages, w.Pages),
			cell(w.DeepP50Ms, w.DeepP95Ms), dref, drat},
		{fmt.Sprintf("Webmail: message-list page p50/p95 (ratio of p50s), large folder (%s), newest page right after opening one of its messages (%d times), vs Roundcube over Dovecot", size, afterReads),
			cell(w.AfterReadP50Ms, w.AfterReadP95Ms), aref, arat},
		{fmt.Sprintf("Webmail: search p50/p95, large folder (%s), a rare word in the text (%d hits), vs Roundcube over Dovecot", size, w.SearchRareHits),
			cell(w.SearchRareP50Ms, w.SearchRareP95Ms), sref, srat},
		{fmt.Sprintf("Webmail: search p50/p95, large folder (%s), %q typed without marks (one subject in twelve; congvu answers its first page of 50, Roundcube every match and matches marks exactly)", size, searchPhrase),
			cell(w.SearchPhraseP50Ms, w.SearchPhraseP95Ms), pref, prat},
		{"Webmail: compose-and-send p50/p95 of a short message to a colleague (the form's POST to its answer; congvu: delivered and stored, Roundcube: Postfix's 250 and the Sent copy over IMAP)",
			cell(w.SendP50Ms, w.SendP95Ms), snd, sndRatio},
	}
}

// webmailNotes says how the webmail rows were measured.
func webmailNotes(r *results) []string {
	if r.IMAP == nil || r.IMAP.Webmail == nil {
		return nil
	}
	var notes []string
	if rc := r.IMAP.Roundcube; rc != nil && rc.Err != "" {
		notes = append(notes, "- Roundcube: "+rc.Err)
	} else if rc != nil && rc.IMAPLoginP50Ms > 0 {
		notes = append(notes, fmt.Sprintf("- Roundcube: of each list request, a new IMAPS connection and LOGIN to Dovecot alone takes %s (p50 of 10 in this run).",
			fmtMs(rc.IMAPLoginP50Ms)))
	}
	return notes
}
