package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"congvu/internal/mailerr"
)

// TestEveryHelp: each command's --help is printed on stdout, exits 0
// (errHelpRequested), and lists only that command's own flags.
func TestEveryHelp(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		want, deny []string
	}{
		{[]string{"account", "show", "--help"}, []string{"-config"}, []string{"-reason"}},
		{[]string{"account", "lock", "--help"}, []string{"-config", "-reason"}, nil},
		{[]string{"queue", "list", "--help"}, []string{"-config"}, []string{"-all"}},
		{[]string{"queue", "retry", "--help"}, []string{"-all"}, nil},
		{[]string{"report", "access", "--help"}, []string{"-from", "-inactive-days", "svg"}, []string{"-period"}},
		{[]string{"report", "usage", "--help"}, []string{"-period"}, []string{"-from", "-inactive-days"}},
		{[]string{"serve", "--help"}, []string{"-imaps-addr", "-admin-addr", "-ready-file"}, nil},
		{[]string{"quickstart", "-h"}, []string{"-dir"}, nil},
		{[]string{"storage", "check", "--help"}, []string{"-config"}, nil},
		{[]string{"storage", "import-maildir", "--help"}, []string{"-user", "-workers"}, nil},
		{[]string{"audit", "--help"}, []string{"-action", "-rule"}, nil},
		{[]string{"forward", "set", "--help"}, []string{"ADDRESS TARGET"}, nil},
		{[]string{"digest", "send", "--help"}, []string{"-day"}, nil},
		{[]string{"dkim", "keygen", "--help"}, []string{"-algorithm", "-selector"}, nil},
		{[]string{"reload", "--help"}, []string{"-config"}, nil},
		{[]string{"directory", "import", "--help"}, []string{"-dry-run"}, nil},
		{[]string{"account", "--help"}, []string{"congvu account show"}, nil},
		{[]string{"queue", "--help"}, []string{"congvu queue list"}, nil},
		{[]string{"account", "move", "--help"}, []string{"ADDRESS UNIT", "-reason"}, nil},
		{[]string{"unit", "--help"}, []string{"congvu unit merge"}, nil},
		{[]string{"unit", "merge", "--help"}, []string{"FROM INTO", "-config"}, []string{"-abbr", "-kind"}},
		{[]string{"unit", "rename", "--help"}, []string{"-abbr", "-name"}, []string{"-kind"}},
		{[]string{"unit", "move", "--help"}, []string{"-kind", "NEWPARENT"}, []string{"-abbr"}},
		{[]string{"domain", "--help"}, []string{"congvu domain alias add"}, nil},
		{[]string{"domain", "alias", "list", "--help"}, []string{"-days"}, nil},
	} {
		var out, errb bytes.Buffer
		err := run(tc.args, &out, &errb)
		if !errors.Is(err, errHelpRequested) {
			t.Errorf("%v: %v (stderr %q)", tc.args, err, errb.String())
			continue
		}
		if !strings.Contains(out.String(), "usage") {
			t.Errorf("%v: no usage on stdout: %q", tc.args, out.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: help lacks %q:\n%s", tc.args, w, out.String())
			}
		}
		for _, d := range tc.deny {
			if strings.Contains(out.String(), d) {
				t.Errorf("%v: help offers %q, which is not this command's:\n%s", tc.args, d, out.String())
			}
		}
	}
}

// TestFlagsAfterOperands: flags may follow the operands; an unknown flag
// is refused with its name.
func TestFlagsAfterOperands(t *testing.T) {
	fs := newFlags("account lock", "congvu account lock", &bytes.Buffer{})
	cfg := fs.String("config", "", "")
	reason := fs.String("reason", "", "")
	if err := parseFlags(fs, []string{"a@b.vn", "--reason", "chuyển công tác", "--config", "/x.toml"}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if fs.NArg() != 1 || fs.Arg(0) != "a@b.vn" || *reason != "chuyển công tác" || *cfg != "/x.toml" {
		t.Fatalf("operands %q, reason %q, config %q", fs.Args(), *reason, *cfg)
	}
	fs = newFlags("x", "x", &bytes.Buffer{})
	fs.Bool("all", false, "")
	if err := parseFlags(fs, []string{"--", "--all"}, &bytes.Buffer{}); err != nil || fs.NArg() != 1 || fs.Arg(0) != "--all" {
		t.Fatalf("after --: %v %q", err, fs.Args())
	}
	fs = newFlags("x", "x", &bytes.Buffer{})
	if err := parseFlags(fs, []string{"a", "--nope"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "nope") || errors.Is(err, flag.ErrHelp) {
		t.Fatalf("unknown flag: %v", err)
	}
}

// TestSentence: mail errors read as sentences on the command line, not as
// SMTP replies.
func TestSentence(t *testing.T) {
	got := sentence(fmtErr("account show khongco@khanhhoa.gov.vn", mailerr.ErrUnknownUser))
	if strings.Contains(got, "550") || strings.Contains(got, "5.1.1") || !strings.Contains(got, "Địa chỉ thư không tồn tại / No such user here") ||
		!strings.HasPrefix(got, "account show khongco@khanhhoa.gov.vn: ") {
		t.Errorf("sentence = %q", got)
	}
}

func fmtErr(ctx string, err error) error { return &wrapped{ctx, err} }

type wrapped struct {
	ctx string
	err error
}

func (w *wrapped) Error() string { return w.ctx + ": " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
