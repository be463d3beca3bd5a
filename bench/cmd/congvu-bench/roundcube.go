package main

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// The reference of the webmail row: Debian's Roundcube (roundcube-core,
// roundcube-sqlite3) over the bench's Dovecot, which holds the same large
// folder. It runs with its own configuration in the temporary directory,
// served by PHP's built-in web server with opcache on; the system's own
// Roundcube configuration and web server are never used.

// roundcubeRoot is the document root of Debian's Roundcube package.
const roundcubeRoot = "/var/lib/roundcube/public_html"

type roundcubeServer struct {
	proc *process
	base string
}

// startRoundcube configures Roundcube for the IMAPS server at imapsAddr
// and the SMTP server at smtpAddr ("" for none; plain SMTP on loopback
// without AUTH, as the bench's Postfix takes it) and serves it on a free
// loopback port.
func startRoundcube(dir, imapsAddr, smtpAddr string) (*roundcubeServer, error) {
	php, err := exec.LookPath("php")
	if err != nil {
		return nil, fmt.Errorf("php not installed (Debian package php-cli)")
	}
	if _, err := os.Stat(filepath.Join(roundcubeRoot, "index.php")); err != nil {
		return nil, fmt.Errorf("Roundcube not installed (Debian packages roundcube-core roundcube-sqlite3)")
	}
	conf := filepath.Join(dir, "config")
	for _, d := range []string{conf, filepath.Join(dir, "temp"), filepath.Join(dir, "logs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	// Roundcube reads its defaults from the configuration directory too.
	for _, f := range []string{"defaults.inc.php", "mimetypes.php"} {
		b, err := os.ReadFile(filepath.Join("/etc/roundcube", f))
		if err != nil {
			return nil, fmt.Errorf("Roundcube configuration: %w", err)
		}
		if err := os.WriteFile(filepath.Join(conf, f), b, 0o600); err != nil {
			return nil, err
		}
	}
	// Defaults otherwise (no message cache, newest first by arrival), as a
	// Debian install has them; 50 messages a page like congvu.
	cfg := fmt.Sprintf(`<?php
$config = [];
$config['db_dsnw'] = 'sqlite:///%s?mode=0600';
$config['imap_host'] = 'ssl://%s';
$config['imap_conn_options'] = ['ssl' => ['verify_peer' => false, 'verify_peer_name' => false]];
$config['smtp_host'] = '%s';
$config['smtp_user'] = '';
$config['smtp_pass'] = '';
$config['des_key'] = '%s';
$config['temp_dir'] = '%s/';
$config['log_dir'] = '%s/';
$config['plugins'] = [];
$config['skin'] = 'elastic';
$config['mail_pagesize'] = 50;
$config['enable_installer'] = false;
`, filepath.Join(dir, "roundcube.db"), imapsAddr, smtpAddr, rand.Text()[:24], filepath.Join(dir, "temp"), filepath.Join(dir, "logs"))
	if err := os.WriteFile(filepath.Join(conf, "config.inc.php"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(php, "-d", "opcache.enable_cli=1", "-S", addr, "-t", roundcubeRoot)
	cmd.Env = append(os.Environ(), "ROUNDCUBE_CONFIG_DIR="+conf)
	logFile, err := os.Create(filepath.Join(dir, "php.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	p, err := startProcess("roundcube", cmd)
	if err != nil {
		return nil, err
	}
	if err := waitListening(addr, 10*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return &roundcubeServer{proc: p, base: "http://" + addr}, nil
}

var (
	rcLoginToken   = regexp.MustCompile(`name="_token" value="([^"]+)"`)
	rcRequestToken = regexp.MustCompile(`"request_token":"([^"]+)"`)
	rcMessageCount = regexp.MustCompile(`"messagecount":(\d+)`)
	rcRowUID       = regexp.MustCompile(`add_message_row\((\d+),`)
)

// measureRoundcube signs u in to Roundcube and times the request that
// fills its message list (_action=list, what the browser asks for when it
// opens a folder or turns a page) for the newest page and for page deep.
// imapsAddr is Dovecot's: every Roundcube request logs in there again,
// so the time of that alone is measured too.
func measureRoundcube(rc *roundcubeServer, imapsAddr string, u benchUser, requests, deep int, send bool) webmailResult {
	res := webmailResult{Target: "roundcube", Requests: requests, Pages: deep}
	if err := measureRoundcubeInto(&res, rc, u, requests, deep, send); err != nil {
		res.Err = err.Error()
		return res
	}
	var lat []time.Duration
	for range 10 {
		t0 := time.Now()
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", imapsAddr, clientTLS())
		if err != nil {
			res.Err = err.Error()
			return res
		}
		c := imapclient.New(conn, nil)
		err = c.Login(u.Address, u.Password).Wait()
		c.Logout().Wait()
		c.Close()
		if err != nil {
			res.Err = "IMAP LOGIN: " + err.Error()
			return res
		}
		lat = append(lat, time.Since(t0))
	}
	res.IMAPLoginP50Ms = percentileMs(lat, 0.50)
	return res
}

func measureRoundcubeInto(res *webmailResult, rc *roundcubeServer, u benchUser, requests, deep int, send bool) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 60 * time.Second}
	do := func(req *http.Request) (string, error) {
		r, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		if err == nil && r.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s %s: %s", req.Method, req.URL.RequestURI(), r.Status)
		}
		return string(b), err
	}
	get := func(path string, h http.Header) (string, error) {
		req, _ := http.NewRequest("GET", rc.base+path, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		return do(req)
	}
	page, err := get("/?_task=login", nil)
	if err != nil {
		return err
	}
	m := rcLoginToken.FindStringSubmatch(page)
	if m == nil {
		return fmt.Errorf("Roundcube login page without a form token")
	}
	form := url.Values{"_token": {m[1]}, "_task": {"login"}, "_action": {"login"}, "_timezone": {"Asia/Ho_Chi_Minh"},
		"_user": {u.Address}, "_pass": {u.Password}}
	req, _ := http.NewRequest("POST", rc.base+"/?_task=login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	page, err = do(req)
	if err != nil {
		return fmt.Errorf("Roundcube sign in: %w", err)
	}
	m = rcRequestToken.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "_task=mail") && !strings.Contains(page, `"task":"mail"`) {
		return fmt.Errorf("Roundcube sign in failed (no mail page)")
	}
	h := http.Header{"X-Roundcube-Request": {m[1]}}
	list := func(p int) ([]time.Duration, error) {
		path := fmt.Sprintf("/?_task=mail&_action=list&_mbox=INBOX&_page=%d&_remote=1", p)
		var lat []time.Duration
		for range requests {
			t0 := time.Now()
			body, err := get(path, h)
			if err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(t0))
			if mc := rcMessageCount.FindStringSubmatch(body); mc == nil || mc[1] == "0" {
				return nil, fmt.Errorf("Roundcube list %s: no messages in the answer", path)
			}
			if n := strings.Count(body, "add_message_row("); p == 1 && n != 50 {
				return nil, fmt.Errorf("Roundcube list %s: %d rows, want 50", path, n)
			} else if p == 1 {
				res.RowsPerPage = n
			}
		}
		return lat, nil
	}
	lat, err := list(1)
	if err != nil {
		return err
	}
	listPath := "/?_task=mail&_action=list&_mbox=INBOX&_page=1&_remote=1"
	first, err := get(listPath, h)
	if err != nil {
		return err
	}
	res.FirstP50Ms, res.FirstP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)
	if lat, err = list(deep); err != nil {
		return err
	}
	res.DeepP50Ms, res.DeepP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)
	lat = lat[:0]
	for _, m := range rcRowUID.FindAllStringSubmatch(first, afterReads) {
		if _, err := get("/?_task=mail&_action=show&_mbox=INBOX&_uid="+m[1], nil); err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := get(listPath, h); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
	}
	if len(lat) == 0 {
		return fmt.Errorf("Roundcube list without message UIDs")
	}
	res.AfterReadP50Ms, res.AfterReadP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)

	// Search the way its search box does: the text (body) for the rare
	// word, subject for the phrase.
	search := func(q, headers string) ([]time.Duration, int, error) {
		path := "/?" + url.Values{"_task": {"mail"}, "_action": {"search"}, "_q": {q}, "_headers": {headers}, "_mbox": {"INBOX"},
			"_scope": {"base"}, "_filter": {"ALL"}, "_remote": {"1"}}.Encode()
		var lat []time.Duration
		hits := 0
		for range max(requests/4, 10) {
			t0 := time.Now()
			body, err := get(path, h)
			if err != nil {
				return nil, 0, err
			}
			lat = append(lat, time.Since(t0))
			if mc := rcMessageCount.FindStringSubmatch(body); mc != nil {
				hits, _ = strconv.Atoi(mc[1])
			}
		}
		return lat, hits, nil
	}
	if lat, res.SearchRareHits, err = search(rareWord, "text"); err != nil {
		return err
	}
	res.SearchRareP50Ms, res.SearchRareP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)
	if lat, _, err = search(searchPhrase, "subject"); err != nil {
		return err
	}
	res.SearchPhraseP50Ms, res.SearchPhraseP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)
	if !send {
		return nil
	}
	if lat, err = measureRoundcubeSend(c, rc.base, m[1], u.Address, max(requests/4, 10)); err != nil {
		return err
	}
	res.SendP50Ms, res.SendP95Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.95)
	return nil
}

var (
	rcComposeID = regexp.MustCompile(`"compose_id":"([^"]+)"`)
	rcIdentity  = regexp.MustCompile(`name="_from"[^>]*>\s*<option value="(\d+)"`)
)

// measureRoundcubeSend times Roundcube's compose-and-send as its Send
// button does it: the form's POST (_action=send) to its answer, which
// comes after the SMTP server's 250 and the copy saved to Sent over IMAP.
// Opening the compose page (which gives the compose id) is not timed, as
// congvu's GET of its form is not.
func measureRoundcubeSend(c *http.Client, base, token, to string, n int) ([]time.Duration, error) {
	var lat []time.Duration
	for i := range n {
		r, err := c.Get(base + "/?_task=mail&_action=compose")
		if err != nil {
			return nil, err
		}
		page, _ := io.ReadAll(r.Body)
		r.Body.Close()
		id, ident := rcComposeID.FindSubmatch(page), rcIdentity.FindSubmatch(page)
		if id == nil || ident == nil {
			return nil, fmt.Errorf("Roundcube compose page without a compose id or identity (%s)", r.Status)
		}
		form := url.Values{"_token": {token}, "_task": {"mail"}, "_action": {"send"}, "_id": {string(id[1])},
			"_from": {string(ident[1])}, "_to": {to}, "_subject": {fmt.Sprintf("Đo thời gian gửi thư %d", i)},
			"_message": {"Kính gửi anh,\nĐây là thư đo thời gian gửi trên web.\nTrân trọng."}, "_is_html": {"0"},
			"_charset": {"UTF-8"}, "_mdn": {""}, "_priority": {"0"}, "_store_target": {"Sent"}}
		req, _ := http.NewRequest("POST", base+"/?_task=mail&_framed=1", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		t0 := time.Now()
		res, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		lat = append(lat, time.Since(t0))
		if !strings.Contains(string(body), "sent_successfully") {
			return nil, fmt.Errorf("Roundcube send: %s, no success in the answer: %.300s", res.Status, body)
		}
	}
	return lat, nil
}
