package cluster

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"congvu/directory"
	"congvu/storage"
)

// manifestEntry lists, in a final copy, every message file the mailbox
// has: the receiving node removes the ones expunged since the first copy.
const manifestEntry = "MANIFEST"

// MoveDeps are what moving mailboxes needs besides Config.
type MoveDeps struct {
	Files  *storage.FileStore
	Writer directory.Writer
	// Admins are the other nodes' admin listeners (host:port), where
	// they receive mailboxes.
	Admins map[string]string
	Secret []byte
	// RetryQueue makes the mail held during a move due now.
	RetryQueue func(ctx context.Context)
}

// SetMoveDeps enables Move and the receiving handler.
func (n *Node) SetMoveDeps(d MoveDeps) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.move = d
}

// moveDeps is a copy of the move dependencies (SetNodes may replace the
// admin addresses while the node runs).
func (n *Node) moveDeps() MoveDeps {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.move
}

// Move moves a mailbox of this node to another node while the server
// runs: a first copy while mail flows, then the mailbox is frozen (mail
// waits in the queue, sessions end, logins wait) for the copy of what
// changed since, the other node puts it in place, the directory is told
// (congvuMailHost), the held mail goes to the new node and the mailbox
// is removed here. Anything failing before the directory changed leaves
// the mailbox here, whole. progress receives one line per step.
func (n *Node) Move(ctx context.Context, address, target string, progress func(string)) (err error) {
	d := n.moveDeps()
	if d.Files == nil || d.Writer == nil {
		return errors.New("cluster: moving mailboxes is not set up")
	}
	acct, err := d.Writer.Lookup(ctx, address)
	if err != nil {
		return err
	}
	target = strings.ToLower(target)
	switch {
	case !n.Here(acct):
		return fmt.Errorf("%s lives on %s, not here (%s): run the move there", acct.Address, n.Home(acct), n.cfg.Self)
	case target == n.cfg.Self:
		return fmt.Errorf("%s already lives on %s", acct.Address, target)
	case d.Admins[target] == "":
		return fmt.Errorf("cluster.nodes.%s has no admin address to receive the mailbox", target)
	}
	peer := &peerClient{base: "http://" + d.Admins[target], secret: d.Secret, user: acct.Address}
	work, err := d.Files.WorkDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// Message files never change: hard links make the copies instant.
	link := func(src, dst string) error { return os.Link(src, dst) }
	start := time.Now()

	snap1 := filepath.Join(work, "1")
	st, err := storage.BackupUser(ctx, n.storeDir(), acct.Address, snap1, link)
	if err != nil {
		return err
	}
	sent, err := peer.send(ctx, 1, snap1, nil)
	if err != nil {
		return fmt.Errorf("first copy to %s: %w", target, err)
	}
	progress(fmt.Sprintf("bản sao đầu / first copy: %d messages, %d bytes (%s)", st.Messages, st.Bytes, time.Since(start).Round(time.Millisecond)))

	unfreeze := n.Freeze(acct.Address)
	frozen := time.Now()
	flipped := false
	defer func() {
		unfreeze()
		if !flipped {
			peer.post(context.WithoutCancel(ctx), "abort", nil)
		}
		if d.RetryQueue != nil {
			d.RetryQueue(context.WithoutCancel(ctx))
		}
	}()
	snap2 := filepath.Join(work, "2")
	st, err = storage.BackupUser(ctx, n.storeDir(), acct.Address, snap2, link)
	if err != nil {
		return err
	}
	delta, err := peer.send(ctx, 2, snap2, sent)
	if err != nil {
		return fmt.Errorf("final copy to %s: %w", target, err)
	}
	if err := peer.post(ctx, "commit", nil); err != nil {
		return fmt.Errorf("%s could not put the mailbox in place: %w", target, err)
	}
	acct.MailHost = target
	if err := d.Writer.PutAccount(ctx, *acct, ""); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	flipped = true
	progress(fmt.Sprintf("đóng băng / frozen %s: %d new files, %d messages in all; congvuMailHost = %s",
		time.Since(frozen).Round(time.Millisecond), len(delta), st.Messages, target))
	// The old copy stays frozen until it is removed: a delivery let in now
	// (a queue or relay delivery looked up before the flip) would land in
	// the copy about to be deleted. Held mail is retried by the deferred
	// function, after the removal, and goes to the new node.
	// Sessions ended by the freeze may still be closing: retry the removal.
	for i := 0; ; i++ {
		err = d.Files.DeleteUser(context.WithoutCancel(ctx), acct.Address)
		if err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("moved, but the copy here was not removed: %w", err)
	}
	progress(fmt.Sprintf("xong / done in %s; the copy here is removed", time.Since(start).Round(time.Millisecond)))
	n.log.Info("cluster: mailbox moved", "user", acct.Address, "to", target, "messages", st.Messages,
		"frozen", time.Since(frozen).String())
	return nil
}

func (n *Node) storeDir() string { return n.moveDeps().Files.Dir() }

// peerClient talks to the receiving node's admin listener.
type peerClient struct {
	base   string
	secret []byte
	user   string
}

func (p *peerClient) post(ctx context.Context, what string, body io.Reader) error {
	u := p.base + "/cluster/mailbox/" + what + "?user=" + url.QueryEscape(p.user)
	req, err := http.NewRequestWithContext(ctx, "POST", u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+string(p.secret))
	res, err := (&http.Client{Timeout: 30 * time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", res.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// send streams a snapshot as tar: everything for phase 1; for phase 2 the
// index, the folder files, the message files not sent before and the
// manifest of all message files. It returns the message files sent.
func (p *peerClient) send(ctx context.Context, phase int, dir string, already map[string]bool) (map[string]bool, error) {
	sent := map[string]bool{}
	var all []string
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			rel = filepath.ToSlash(rel)
			message := strings.Contains(rel, "/") && !strings.HasSuffix(rel, "/folder.json")
			if message {
				all = append(all, rel)
				if already[rel] {
					return nil
				}
				sent[rel] = true
			}
			return addFile(tw, path, rel)
		})
		if err == nil && phase == 2 {
			m := []byte(strings.Join(all, "\n") + "\n")
			err = tw.WriteHeader(&tar.Header{Name: manifestEntry, Mode: 0o600, Size: int64(len(m)), ModTime: time.Now()})
			if err == nil {
				_, err = tw.Write(m)
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	err := p.post(ctx, fmt.Sprint(phase), pr)
	pr.CloseWithError(errors.New("request done"))
	return sent, err
}

func addFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// maxTarEntry bounds one file of a received mailbox (an index or a
// message; messages are at most smtp.max_message_bytes).
const maxTarEntry = 8 << 30

// ReceiveHandler receives mailboxes moved here by other nodes; mount it
// at /cluster/mailbox/ on the admin listener. Requests carry the shared
// secret.
func (n *Node) ReceiveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := n.moveDeps()
		auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if d.Files == nil || len(d.Secret) == 0 || subtle.ConstantTimeCompare([]byte(auth), d.Secret) != 1 {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Time{}) // the mailbox may take long to arrive
		rc.SetWriteDeadline(time.Time{})
		user := directory.NormalizeAddress(r.URL.Query().Get("user"))
		staging, err := d.Files.Staging(user)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch step := strings.TrimPrefix(r.URL.Path, "/cluster/mailbox/"); step {
		case "1":
			os.RemoveAll(staging)
			err = extract(r.Body, staging, false)
		case "2":
			err = extract(r.Body, staging, true)
		case "commit":
			err = d.Files.InstallUser(r.Context(), user, staging)
		case "abort":
			os.RemoveAll(staging)
			// Installed but the directory was not changed: not ours.
			if acct, lerr := d.Writer.Lookup(r.Context(), user); lerr == nil && !n.Here(acct) {
				err = d.Files.DeleteUser(r.Context(), user)
			}
		default:
			http.NotFound(w, r)
			return
		}
		if err != nil {
			n.log.Warn("cluster: receiving a mailbox failed", "user", user, "step", r.URL.Path, "err", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok\n"))
	})
}

// extract unpacks a mailbox tar into dir; with final, the manifest then
// removes message files the sender no longer has.
func extract(body io.Reader, dir string, final bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tr := tar.NewReader(bufio.NewReaderSize(body, 256<<10))
	var manifest map[string]bool
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(h.Name)
		if h.Typeflag != tar.TypeReg || !filepath.IsLocal(name) || h.Size < 0 || h.Size > maxTarEntry {
			return fmt.Errorf("unexpected entry %q in a mailbox", h.Name)
		}
		if h.Name == manifestEntry {
			b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
			if err != nil {
				return err
			}
			manifest = map[string]bool{}
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if l != "" {
					manifest[l] = true
				}
			}
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		tmp := path + ".part"
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, io.LimitReader(tr, h.Size))
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chtimes(tmp, h.ModTime, h.ModTime)
		}
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if final {
		if manifest == nil {
			return errors.New("final copy without a manifest")
		}
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			rel = filepath.ToSlash(rel)
			if strings.Contains(rel, "/") && !strings.HasSuffix(rel, "/folder.json") && !manifest[rel] {
				return os.Remove(path) // expunged since the first copy
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// MoveHandler runs Move for `congvu mailbox move` (POST, form fields user
// and to, the shared secret as bearer token) and streams its progress, one
// line per step; the last line is "OK" or "ERROR: reason".
func (n *Node) MoveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if secret := n.moveDeps().Secret; len(secret) == 0 || subtle.ConstantTimeCompare([]byte(auth), secret) != 1 {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rc := http.NewResponseController(w)
		// A large mailbox takes longer than the admin listener's timeouts.
		rc.SetReadDeadline(time.Time{})
		rc.SetWriteDeadline(time.Time{})
		line := func(s string) {
			fmt.Fprintln(w, s)
			rc.Flush()
		}
		err := n.Move(r.Context(), r.FormValue("user"), r.FormValue("to"), line)
		if err != nil {
			n.log.Error("cluster: mailbox move failed", "user", r.FormValue("user"), "to", r.FormValue("to"), "err", err)
			line("ERROR: " + err.Error())
			return
		}
		line("OK")
	})
}
