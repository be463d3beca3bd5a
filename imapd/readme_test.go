package imapd

import (
	"os"
	"strings"
	"testing"
)

// The README's IMAP table lists every capability the server announces.
func TestReadmeListsCapabilities(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Skip("README.md not found")
	}
	readme := string(b)
	_, section, _ := strings.Cut(readme, "\n## IMAP\n")
	section, _, _ = strings.Cut(section, "\n## ")
	s := New(Config{}, Deps{})
	for _, cap := range s.capabilities() {
		name := cap
		if k, _, ok := strings.Cut(cap, "="); ok && strings.HasPrefix(cap, "APPENDLIMIT") {
			name = k + "=n"
		}
		if !strings.Contains(section, "`"+name+"`") {
			t.Errorf("README's IMAP section does not list %s", name)
		}
	}
}
