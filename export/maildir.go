package export

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf16"

	"congvu/internal/durable"
	"congvu/storage"
)

// Maildir writes the folders of mb (all when folders is empty) under dir
// as a Maildir++ tree the way Dovecot lays it out: INBOX in dir itself,
// every other folder in dir/.<name> with "/" as "." and non-ASCII in
// modified UTF-7 (RFC 3501 §5.1.3), each with cur/, new/, tmp/ and a
// maildirfolder file. Messages go to cur/ named
// <time>.M<uid>P<pid>.congvu,S=<size>,W=<CRLF size>:2,<flags> with the
// standard flag letters (D F P R S T) and keywords as letters listed in
// dovecot-keywords; each folder's dovecot-uidlist keeps UIDVALIDITY and
// the UIDs, so Dovecot serves the same UIDs. Files are written in tmp/,
// fsynced and renamed into cur/ (the Maildir delivery rule); their mtime
// is the internal date. dir must not exist or be empty.
func Maildir(ctx context.Context, dir string, mb storage.Mailbox, folders []string) (Stats, error) {
	var st Stats
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return st, fmt.Errorf("export: %s is not empty", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return st, err
	}
	list, err := Folders(ctx, mb, folders)
	if err != nil {
		return st, err
	}
	for _, f := range list {
		fdir := dir
		if !strings.EqualFold(f.Name, storage.Inbox) {
			fdir = filepath.Join(dir, MaildirFolderName(f.Name))
		}
		n, size, err := maildirFolder(ctx, fdir, mb, f, fdir != dir)
		st.Messages += n
		st.Bytes += size
		if err != nil {
			return st, fmt.Errorf("export %s: %w", f.Name, err)
		}
		st.Folders++
	}
	return st, nil
}

// MaildirFolderName is the Maildir++ directory of an IMAP folder name:
// "." then its levels joined by "." in modified UTF-7.
func MaildirFolderName(name string) string {
	levels := strings.Split(name, "/")
	for i, l := range levels {
		levels[i] = encodeUTF7(l)
	}
	return "." + strings.Join(levels, ".")
}

// maildirFlagLetters are the standard info letters, in ASCII order.
var maildirFlagLetters = []struct {
	flag   string
	letter byte
}{{`\Draft`, 'D'}, {`\Flagged`, 'F'}, {"$Forwarded", 'P'}, {`\Answered`, 'R'}, {`\Seen`, 'S'}, {`\Deleted`, 'T'}}

func maildirFolder(ctx context.Context, fdir string, mb storage.Mailbox, f storage.FolderStatus, sub bool) (int, int64, error) {
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := durable.MkdirAll(filepath.Join(fdir, d)); err != nil {
			return 0, 0, err
		}
	}
	if sub {
		if err := os.WriteFile(filepath.Join(fdir, "maildirfolder"), nil, 0o600); err != nil {
			return 0, 0, err
		}
	}
	msgs, err := mb.Messages(ctx, f.Name)
	if err != nil {
		return 0, 0, err
	}
	var keywords []string // index = letter - 'a' (Dovecot allows 26)
	uidlist := &strings.Builder{}
	// dovecot-uidlist version 3 (Dovecot's maildir-uidlist.c).
	fmt.Fprintf(uidlist, "3 V%d N%d\n", f.UIDValidity, f.UIDNext)
	var total int64
	n := 0
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return n, total, err
		}
		info := []byte{}
		for _, fl := range maildirFlagLetters {
			if slices.Contains(m.Flags, fl.flag) {
				info = append(info, fl.letter)
			}
		}
		for _, fl := range m.Flags {
			if strings.HasPrefix(fl, `\`) || fl == "$Forwarded" {
				continue
			}
			i := slices.Index(keywords, fl)
			if i < 0 && len(keywords) < 26 {
				keywords = append(keywords, fl)
				i = len(keywords) - 1
			}
			if i >= 0 {
				info = append(info, byte('a'+i))
			}
		}
		slices.Sort(info)
		lf, err := copyLF(ctx, mb, f.Name, m, fdir)
		if err != nil {
			return n, total, err
		}
		base := fmt.Sprintf("%d.M%dP%d.congvu,S=%d,W=%d", m.InternalDate.Unix(), m.UID, os.Getpid(), lf.size, m.Size)
		if err := os.Rename(lf.tmp, filepath.Join(fdir, "cur", base+":2,"+string(info))); err != nil {
			return n, total, err
		}
		fmt.Fprintf(uidlist, "%d :%s\n", m.UID, base)
		total += m.Size
		n++
	}
	if err := durable.SyncDir(filepath.Join(fdir, "cur")); err != nil {
		return n, total, err
	}
	if len(keywords) > 0 {
		var kb strings.Builder
		for i, k := range keywords {
			fmt.Fprintf(&kb, "%d %s\n", i, k)
		}
		if err := durable.WriteFile(fdir, "dovecot-keywords", []byte(kb.String())); err != nil {
			return n, total, err
		}
	}
	return n, total, durable.WriteFile(fdir, "dovecot-uidlist", []byte(uidlist.String()))
}

type tmpFile struct {
	tmp  string
	size int64
}

// copyLF writes the message into fdir/tmp with LF line ends (Maildir's
// convention), fsynced, with the internal date as its time.
func copyLF(ctx context.Context, mb storage.Mailbox, folder string, m storage.MessageInfo, fdir string) (tmpFile, error) {
	rc, err := mb.Open(ctx, folder, m.UID)
	if err != nil {
		return tmpFile{}, err
	}
	defer rc.Close()
	tmp := filepath.Join(fdir, "tmp", fmt.Sprintf("%d.%d.congvu", m.UID, os.Getpid()))
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return tmpFile{}, err
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	n, err := crlfToLF(bw, bufio.NewReaderSize(rc, 64<<10))
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(tmp, m.InternalDate, m.InternalDate)
	}
	if err != nil {
		os.Remove(tmp)
		return tmpFile{}, err
	}
	return tmpFile{tmp, n}, nil
}

// crlfToLF copies r to w with every CRLF turned into LF.
func crlfToLF(w *bufio.Writer, r *bufio.Reader) (int64, error) {
	var n int64
	cr := false
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		if cr && c != '\n' {
			w.WriteByte('\r')
			n++
		}
		cr = c == '\r'
		if !cr {
			w.WriteByte(c)
			n++
		}
	}
	if cr {
		w.WriteByte('\r')
		n++
	}
	return n, nil
}

// encodeUTF7 is modified UTF-7 (RFC 3501 §5.1.3): printable ASCII as is
// ("&" as "&-"), other characters as UTF-16 in modified base64 between
// "&" and "-".
func encodeUTF7(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		units := utf16.Encode(run)
		buf := make([]byte, 0, 2*len(units))
		for _, u := range units {
			buf = append(buf, byte(u>>8), byte(u))
		}
		b.WriteByte('&')
		for i := 0; i < len(buf); i += 3 {
			var chunk [3]byte
			n := copy(chunk[:], buf[i:])
			v := uint(chunk[0])<<16 | uint(chunk[1])<<8 | uint(chunk[2])
			for j := 0; j < n+1; j++ {
				b.WriteByte(alphabet[(v>>(18-6*j))&0x3f])
			}
		}
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		run = append(run, r)
	}
	flush()
	return b.String()
}
