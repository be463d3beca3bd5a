package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEnglishLabelsMarked holds every template of the site to WCAG 2.2
// §3.1.2: an English secondary label (class "en") says lang="en", or a
// Vietnamese screen reader reads it with Vietnamese phonetics. The admin
// pages added after the webmail's fix had lost it on 347 labels.
func TestEnglishLabelsMarked(t *testing.T) {
	tag := regexp.MustCompile(`<[a-z]+[^<>]*\bclass="(?:[^"]* )?en(?: [^"]*)?"[^<>]*>`)
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range tag.FindAllString(string(src), -1) {
			checked++
			if !strings.Contains(m, `lang="en"`) {
				t.Errorf("%s: %s has no lang=\"en\"", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d English labels found: the pattern no longer matches the templates", checked)
	}
}
