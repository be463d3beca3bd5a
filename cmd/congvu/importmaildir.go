package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"congvu/internal/config"
	"congvu/internal/mailerr"
	"congvu/internal/server"
	"congvu/storage"
)

const importMaildirUsage = "usage: congvu storage import-maildir --config FILE --user ADDRESS [--folder NAME] [--workers N] MAILDIR\n"

// maildirMessage is one message file of the Maildir being imported.
type maildirMessage struct {
	path  string
	name  string
	size  int64
	date  time.Time // mtime: the delivery time (Dovecot's received date)
	flags []string
}

// cmdImportMaildir copies one Maildir folder (cur/ and new/) into a folder
// of an existing account, through the store's own Append path: every
// message is fsynced and committed before it is counted, concurrent
// appends share group commits, and an interrupted import leaves only whole
// messages behind. Messages already in the folder with the same size and
// content are skipped, so re-running an interrupted import adds only the
// rest. The server may keep running; its open sessions see the messages at
// their next poll.
func cmdImportMaildir(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("storage import-maildir", "congvu storage import-maildir --config FILE --user ADDRESS [--folder NAME] [--workers N] MAILDIR", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	user := fs.String("user", "", "address of the account to import into (must exist in the directory)")
	folder := fs.String("folder", storage.Inbox, "destination folder, created if missing")
	workers := fs.Int("workers", 4*runtime.GOMAXPROCS(0), "concurrent appends (they share group commits)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 || *user == "" || *workers < 1 {
		fmt.Fprint(stderr, importMaildirUsage)
		return flag.ErrHelp
	}
	msgs, err := readMaildir(fs.Arg(0))
	if err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg.Log, stderr)
	dir, err := server.OpenDirectory(cfg, log)
	if err != nil {
		return err
	}
	ctx := context.Background()
	acct, err := dir.Lookup(ctx, *user)
	dir.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *user, err)
	}
	st, err := storage.Open(cfg.Path(cfg.Storage.Path), storage.Options{DefaultQuotaBytes: cfg.Storage.DefaultQuotaBytes, Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	mb, err := st.Mailbox(ctx, acct.Address, acct.QuotaBytes)
	if err != nil {
		return err
	}
	if _, err := mb.Status(ctx, *folder); errors.Is(err, mailerr.ErrNoSuchFolder) {
		if err := mb.Create(ctx, *folder); err != nil {
			return fmt.Errorf("creating %s: %w", *folder, err)
		}
	} else if err != nil {
		return err
	}
	todo, err := skipImported(ctx, mb, *folder, msgs)
	if err != nil {
		return err
	}
	start := time.Now()
	imported, err := appendAll(ctx, mb, *folder, todo, *workers)
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "Đã nhập / imported: %d, đã có / already there: %d, vào / into %s %s, %.1fs\n",
		imported, len(msgs)-len(todo), acct.Address, *folder, elapsed.Seconds())
	return err
}

// readMaildir lists the messages of a Maildir, oldest first (by mtime, then
// name), so UIDs follow delivery order.
func readMaildir(dir string) ([]maildirMessage, error) {
	keywords := readDovecotKeywords(dir)
	var out []maildirMessage
	found := false
	for _, sub := range []string{"cur", "new"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = true
		for _, e := range entries {
			if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // moved by a running MDA
				}
				return nil, err
			}
			out = append(out, maildirMessage{path: filepath.Join(dir, sub, e.Name()), name: e.Name(),
				size: fi.Size(), date: fi.ModTime(), flags: maildirFlags(e.Name(), keywords)})
		}
	}
	if !found {
		return nil, fmt.Errorf("%s: not a Maildir (no cur/ or new/)", dir)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].date.Equal(out[j].date) {
			return out[i].date.Before(out[j].date)
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

// maildirFlags maps the info part of a Maildir file name ("…:2,FRS") to
// IMAP flags (https://cr.yp.to/proto/maildir.html). Lower-case letters are
// Dovecot keywords, numbered in dovecot-keywords.
func maildirFlags(name string, keywords map[byte]string) []string {
	_, info, ok := strings.Cut(name, ":2,")
	if !ok {
		return nil
	}
	var flags []string
	for i := 0; i < len(info); i++ {
		switch c := info[i]; c {
		case 'D':
			flags = append(flags, `\Draft`)
		case 'F':
			flags = append(flags, `\Flagged`)
		case 'P':
			flags = append(flags, "$Forwarded")
		case 'R':
			flags = append(flags, `\Answered`)
		case 'S':
			flags = append(flags, `\Seen`)
		case 'T':
			flags = append(flags, `\Deleted`)
		default:
			if kw := keywords[c]; kw != "" {
				flags = append(flags, kw)
			}
		}
	}
	return flags
}

// readDovecotKeywords reads Dovecot's dovecot-keywords file ("0 $Label1"
// per line; letter a is keyword 0).
func readDovecotKeywords(dir string) map[byte]string {
	f, err := os.Open(filepath.Join(dir, "dovecot-keywords"))
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[byte]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		num, kw, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(num)
		if ok && err == nil && n >= 0 && n < 26 && kw != "" {
			out[byte('a'+n)] = kw
		}
	}
	return out
}

// skipImported leaves out messages the folder already holds (same size and
// same SHA-256), so an interrupted import can simply be run again. Only
// sizes present on both sides are hashed.
func skipImported(ctx context.Context, mb storage.Mailbox, folder string, msgs []maildirMessage) ([]maildirMessage, error) {
	existing, err := mb.Messages(ctx, folder)
	if err != nil || len(existing) == 0 {
		return msgs, err
	}
	sizes := map[int64]bool{}
	for _, m := range msgs {
		sizes[m.size] = true
	}
	have := map[[sha256.Size]byte]int{}
	for _, m := range existing {
		if !sizes[m.Size] {
			continue
		}
		r, err := mb.Open(ctx, folder, m.UID)
		if err != nil {
			continue // expunged meanwhile
		}
		sum, err := hashReader(r)
		r.Close()
		if err != nil {
			return nil, err
		}
		have[sum]++
	}
	if len(have) == 0 {
		return msgs, nil
	}
	var todo []maildirMessage
	for _, m := range msgs {
		f, err := os.Open(m.path)
		if err != nil {
			return nil, err
		}
		sum, err := hashReader(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		if have[sum] > 0 {
			have[sum]--
			continue
		}
		todo = append(todo, m)
	}
	return todo, nil
}

func hashReader(r io.Reader) ([sha256.Size]byte, error) {
	h := sha256.New()
	var sum [sha256.Size]byte
	if _, err := io.Copy(h, r); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// appendAll appends msgs in order (so UIDs follow delivery order) through
// the store's bulk path, which writes and parses workers messages at once
// and groups their commits. It stops at the first error (an over-quota
// folder, a full disk); what it counted is durable.
func appendAll(ctx context.Context, mb storage.Mailbox, folder string, msgs []maildirMessage, workers int) (int, error) {
	bulk, ok := mb.(storage.BulkAppender)
	if !ok {
		return 0, errors.New("this store cannot import in bulk")
	}
	batch := make([]storage.NewMessage, len(msgs))
	for i, m := range msgs {
		batch[i] = storage.NewMessage{Open: func() (io.ReadCloser, error) { return os.Open(m.path) }, Flags: m.flags, Date: m.date}
	}
	return bulk.AppendMany(ctx, folder, batch, workers)
}
