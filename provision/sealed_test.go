package provision

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"congvu/directory/importer"
	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
	"congvu/internal/sealbox"
)

// storedPasswords reads a request's passwords column as org.db holds it.
func (e *env) storedPasswords(t *testing.T, id int64) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(e.tmp, "org.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow(`SELECT passwords FROM provision_requests WHERE id = ?`, id).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *env) approvedNew(t *testing.T, names ...string) (int64, *Outcome) {
	t.Helper()
	var rows []importer.Row
	for i, n := range names {
		rows = append(rows, importer.Row{Line: i + 2, FullName: n, Unit: "56.skhcn"})
	}
	ctx := context.Background()
	id, err := e.svc.File(ctx, unitAdmin, Draft{Kind: KindNew, UnitCode: "56.skhcn", Body: Payload{Rows: rows}}, skhcnOnly)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.Approve(ctx, operator, id)
	if err != nil || len(out.Created) != len(names) {
		t.Fatalf("approve: %+v %v", out, err)
	}
	return id, out
}

// The initial passwords waiting to be fetched are sealed in org.db: not
// in the column, not anywhere in the database file or its WAL.
func TestInitialPasswordsSealedAtRest(t *testing.T) {
	e := newEnv(t)
	box, err := sealbox.OpenDir(e.tmp)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.deps.Seal = box
	id, out := e.approvedNew(t, "Phạm Văn Bình", "Lê Thị Lan")
	stored := e.storedPasswords(t, id)
	if !sealbox.IsSealedString(stored) {
		t.Fatalf("stored passwords are not sealed: %.60q", stored)
	}
	for _, name := range []string{"org.db", "org.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(e.tmp, name))
		for _, c := range out.Created {
			if bytes.Contains(b, []byte(c.Password)) {
				t.Errorf("%s contains %s's initial password in clear", name, c.Address)
			}
		}
	}
	if r, _ := e.svc.Get(context.Background(), id); !r.HasPasswords {
		t.Error("the request does not show passwords waiting")
	}
	csv, ok, err := e.svc.TakePasswords(context.Background(), unitAdmin, id)
	if err != nil || !ok || !strings.Contains(csv, out.Created[0].Address+","+out.Created[0].Password) {
		t.Fatalf("fetched: %v %v %q", ok, err, csv)
	}
	if stored := e.storedPasswords(t, id); stored != "" {
		t.Errorf("passwords kept after the fetch: %.40q", stored)
	}
}

// An upgrade seals the passwords an older congvu kept in clear; they
// are still handed over once.
func TestPlaintextPasswordsMigrated(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box, err := sealbox.OpenDir(e.tmp)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.deps.Seal = box
	id, out := e.approvedNew(t, "Phạm Văn Bình")
	// The row as the previous version left it: the CSV in clear.
	plain := credentialsCSV(out.Created)
	if err := e.org.FinishRequest(ctx, id, orgdb.RequestApproved, "x", plain); err != nil {
		t.Fatal(err)
	}
	// A later request keeps its row after this one, so sealing leaves the
	// clear cell as free space inside the page (zeroed by secure_delete).
	e.approvedNew(t, "Lê Thị Lan")
	n, err := e.svc.SealStoredPasswords(ctx)
	if err != nil || n != 1 {
		t.Fatalf("SealStoredPasswords: %d %v", n, err)
	}
	if stored := e.storedPasswords(t, id); !sealbox.IsSealedString(stored) || strings.Contains(stored, out.Created[0].Password) {
		t.Fatalf("not sealed by the upgrade: %.60q", stored)
	}
	for _, name := range []string{"org.db", "org.db-wal"} {
		if b, _ := os.ReadFile(filepath.Join(e.tmp, name)); bytes.Contains(b, []byte(out.Created[0].Password)) {
			t.Errorf("%s still holds the password in clear after the upgrade", name)
		}
	}
	if n, err := e.svc.SealStoredPasswords(ctx); err != nil || n != 0 {
		t.Errorf("second pass sealed %d (%v), want 0", n, err)
	}
	csv, ok, err := e.svc.TakePasswords(ctx, unitAdmin, id)
	if err != nil || !ok || csv != plain {
		t.Fatalf("after the upgrade: %v %v %q", ok, err, csv)
	}
}

// Under another seal key (org.db restored without seal.key) the fetch
// fails with a clear, temporary error and the passwords stay, fetchable
// once the key is back; a sealed file moved to another request's row
// does not open there.
func TestPasswordsNeedTheirKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	right, err := sealbox.OpenDir(e.tmp)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.deps.Seal = right
	id, out := e.approvedNew(t, "Phạm Văn Bình")
	wrong, _ := sealbox.New(bytes.Repeat([]byte{9}, 32))
	e.svc.deps.Seal = wrong
	_, ok, err := e.svc.TakePasswords(ctx, unitAdmin, id)
	if me := mailerr.As(err); ok || me == nil || !me.Temporary || !errors.Is(err, sealbox.ErrOtherKey) || !strings.Contains(me.MessageVI, "seal.key") {
		t.Fatalf("fetch under another key: ok=%v err=%v", ok, err)
	}
	if r, _ := e.svc.Get(ctx, id); !r.HasPasswords || !r.Fetched.IsZero() {
		t.Fatal("a failed fetch lost the passwords")
	}
	e.svc.deps.Seal = right
	id2, _ := e.approvedNew(t, "Lê Thị Lan")
	if err := e.org.FinishRequest(ctx, id2, orgdb.RequestApproved, "x", e.storedPasswords(t, id)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := e.svc.TakePasswords(ctx, unitAdmin, id2); ok || !errors.Is(err, sealbox.ErrTampered) {
		t.Errorf("request #%d's passwords opened as request #%d's: %v %v", id, id2, ok, err)
	}
	if csv, ok, err := e.svc.TakePasswords(ctx, unitAdmin, id); !ok || err != nil || !strings.Contains(csv, out.Created[0].Password) {
		t.Errorf("with the key restored: %v %v", ok, err)
	}
}
