package orgdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// DomainAlias makes every address of Old deliver to the same local part
// at New: a merged province's old domain keeps working.
type DomainAlias struct {
	Old, New string
	Created  time.Time
	Actor    string
}

// ErrDomainAlias refuses a domain alias that cannot work: a bad domain
// name, the same domain twice, a chain (the target is itself an alias, or
// the old domain is already an alias' target) or one that exists already.
var ErrDomainAlias = directory.ErrInvalid.WithMessage("Invalid domain alias", "Bí danh tên miền không hợp lệ")

// normDomain lower-cases and checks a domain name.
func normDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if err := directory.CheckAddress("x@" + d); err != nil {
		return "", ErrDomainAlias.With(fmt.Errorf("domain %q", d))
	}
	return d, nil
}

// AddDomainAlias records that mail to *@old is delivered to the same local
// part @new.
func (db *DB) AddDomainAlias(ctx context.Context, old, new, actor string) (DomainAlias, error) {
	old, err := normDomain(old)
	if err != nil {
		return DomainAlias{}, err
	}
	if new, err = normDomain(new); err != nil {
		return DomainAlias{}, err
	}
	if old == new {
		return DomainAlias{}, ErrDomainAlias.With(errors.New("a domain cannot be its own alias"))
	}
	a := DomainAlias{Old: old, New: new, Created: time.Now(), Actor: actor}
	err = db.write(ctx, func(tx *sql.Tx) error {
		if err := aliasConflict(ctx, tx, old, new); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO domain_aliases (old, new, created, actor) VALUES (?, ?, ?, ?)`,
			old, new, a.Created.UnixNano(), actor)
		return unavailable(err)
	})
	return a, err
}

// CheckDomainAlias refuses now what AddDomainAlias would (a
// reorganisation's plan checks before anything is written;
// AddDomainAlias checks again as it writes).
func (db *DB) CheckDomainAlias(ctx context.Context, old, new string) error {
	old, err := normDomain(old)
	if err != nil {
		return err
	}
	if new, err = normDomain(new); err != nil {
		return err
	}
	if old == new {
		return ErrDomainAlias.With(errors.New("a domain cannot be its own alias"))
	}
	return aliasConflict(ctx, db.ro, old, new)
}

// aliasConflict refuses an alias old → new when either domain already
// takes part in one the wrong way (no chains, one target per old domain).
func aliasConflict(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, old, new string) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM domain_aliases WHERE old = ?1 OR old = ?2 OR new = ?1`, old, new).Scan(&n); err != nil {
		return unavailable(err)
	}
	if n > 0 {
		return ErrDomainAlias.With(fmt.Errorf("%s or %s is already part of a domain alias", old, new))
	}
	return nil
}

// RemoveDomainAlias ends a domain alias; it reports whether there was one.
func (db *DB) RemoveDomainAlias(ctx context.Context, old string) (bool, error) {
	old, err := normDomain(old)
	if err != nil {
		return false, err
	}
	var n int64
	err = db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM domain_aliases WHERE old = ?`, old)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return unavailable(err)
	})
	return n > 0, err
}

// DomainAliases lists every domain alias by old domain.
func (db *DB) DomainAliases(ctx context.Context) ([]DomainAlias, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT old, new, created, actor FROM domain_aliases ORDER BY old`)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []DomainAlias
	for rows.Next() {
		var a DomainAlias
		var created int64
		if err := rows.Scan(&a.Old, &a.New, &created, &a.Actor); err != nil {
			return nil, unavailable(err)
		}
		a.Created = fromNanos(created)
		out = append(out, a)
	}
	return out, unavailable(rows.Err())
}

// AliasDomainTarget returns the domain mail to domain is delivered to,
// when domain is an alias.
func (db *DB) AliasDomainTarget(ctx context.Context, domain string) (string, bool, error) {
	var target string
	err := db.ro.QueryRowContext(ctx, `SELECT new FROM domain_aliases WHERE old = ?`,
		strings.TrimSuffix(strings.ToLower(domain), ".")).Scan(&target)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, mailerr.ErrDirectoryUnavailable.With(err)
	}
	return target, true, nil
}
