package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"congvu/internal/durable"
)

// QuarantineEnvelope is what the quarantine keeps beside a message: who
// sent it to whom, so an operator who finds the stamp a false alarm can
// deliver it after all.
type QuarantineEnvelope struct {
	From  string    `json:"from"`
	Rcpts []string  `json:"rcpts"`
	At    time.Time `json:"at"`
}

// Quarantined is one held message.
type Quarantined struct {
	ID string
	QuarantineEnvelope
	Size int64
	Path string // the message file (RFC 5322)
}

// ErrNotQuarantined: no held message has that id.
var ErrNotQuarantined = errors.New("no such message in the quarantine")

// writeQuarantined stores the message and its envelope, each crash-safe;
// the envelope goes last, so a listed message always has both.
func writeQuarantined(dir, id string, msg []byte, env QuarantineEnvelope) error {
	b, err := json.Marshal(env)
	if err != nil {
		return err
	}
	if err := durable.WriteFile(dir, id+".eml", msg); err != nil {
		return err
	}
	return durable.WriteFile(dir, id+".json", b)
}

// validQuarantineID keeps ids to the names writeQuarantined makes, so an
// id from the command line cannot name a file elsewhere.
func validQuarantineID(id string) bool {
	return id != "" && !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r == '-')
	})
}

// ListQuarantine lists the held messages in dir, oldest first.
func ListQuarantine(dir string) ([]Quarantined, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Quarantined
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validQuarantineID(id) {
			continue
		}
		q, err := ShowQuarantine(dir, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *q)
	}
	slices.SortFunc(out, func(a, b Quarantined) int { return a.At.Compare(b.At) })
	return out, nil
}

// ShowQuarantine returns one held message.
func ShowQuarantine(dir, id string) (*Quarantined, error) {
	if !validQuarantineID(id) {
		return nil, fmt.Errorf("%w: %q", ErrNotQuarantined, id)
	}
	b, err := os.ReadFile(filepath.Join(dir, id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotQuarantined, id)
	}
	if err != nil {
		return nil, err
	}
	q := &Quarantined{ID: id, Path: filepath.Join(dir, id+".eml")}
	if err := json.Unmarshal(b, &q.QuarantineEnvelope); err != nil {
		return nil, fmt.Errorf("quarantine %s: %w", id, err)
	}
	fi, err := os.Stat(q.Path)
	if err != nil {
		return nil, err
	}
	q.Size = fi.Size()
	return q, nil
}

// RemoveQuarantined deletes a held message (after release or by the
// operator's decision), audited with the actor and why.
func RemoveQuarantined(ctx context.Context, db *DB, dir, id, actor, action, detail string) error {
	q, err := ShowQuarantine(dir, id)
	if err != nil {
		return err
	}
	if err := db.AppendAudit(ctx, AuditEntry{At: time.Now(), Actor: actor, Subject: q.From, Action: action,
		Rule: RuleSecretGuard, Detail: fmt.Sprintf("%s %s: %s", action, id, detail)}); err != nil {
		return err
	}
	// The envelope first: a crash in between leaves a message file that is
	// no longer listed, never a listed message without its file.
	if err := os.Remove(filepath.Join(dir, id+".json")); err != nil {
		return err
	}
	if err := os.Remove(q.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return durable.SyncDir(dir)
}
