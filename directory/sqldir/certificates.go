package sqldir

import (
	"context"
	"database/sql"
	"errors"

	"congvu/directory"
)

var _ directory.Certificates = (*DB)(nil)

// PutCertificate implements directory.Certificates.
func (d *DB) PutCertificate(ctx context.Context, address string, der []byte) error {
	var v any
	if der != nil {
		v = der
	}
	return d.update(ctx, address, "certificate published", []any{"bytes", len(der)},
		`UPDATE accounts SET smime_certificate = ?1 WHERE address = ?2`, v)
}

// Certificate implements directory.Certificates.
func (d *DB) Certificate(ctx context.Context, address string) ([]byte, error) {
	a, err := d.Lookup(ctx, address)
	if err != nil {
		return nil, err
	}
	var der []byte
	err = d.ro.QueryRowContext(ctx, `SELECT smime_certificate FROM accounts WHERE address = ?`, a.Address).Scan(&der)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return der, nil
}

// AllCertificates implements directory.Certificates.
func (d *DB) AllCertificates(ctx context.Context) (map[string][]byte, error) {
	rows, err := d.ro.QueryContext(ctx, `SELECT address, smime_certificate FROM accounts WHERE smime_certificate IS NOT NULL`)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	certs := map[string][]byte{}
	for rows.Next() {
		var address string
		var der []byte
		if err := rows.Scan(&address, &der); err != nil {
			return nil, unavailable(err)
		}
		certs[address] = der
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	return certs, nil
}
