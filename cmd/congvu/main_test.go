package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"congvu/internal/config"
)

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	err := run([]string{"frobnicate"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "frobnicate") || !strings.Contains(errb.String(), "usage") {
		t.Fatalf("err=%v stderr=%q", err, errb.String())
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"version"}, &out, &out); err != nil || !strings.HasPrefix(out.String(), "congvu ") ||
		!strings.Contains(out.String(), "\nrevision ") || !strings.Contains(out.String(), "go1.") {
		t.Fatalf("err=%v out=%q", err, out.String())
	}
}

// Only flags given on the command line override the configuration; an
// explicit empty address disables a listener.
func TestListenFlagsOverrideOnlyWhatIsSet(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	lf := addListenFlags(fs)
	if err := fs.Parse([]string{"--imap-addr", "127.0.0.1:1143", "--pop3-addr", ""}); err != nil {
		t.Fatal(err)
	}
	l := config.Default().Listen
	lf.apply(&l)
	if l.IMAP != "127.0.0.1:1143" || l.POP3 != "" || l.SMTP != config.Default().Listen.SMTP {
		t.Fatalf("got %+v", l)
	}
}
