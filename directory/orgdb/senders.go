package orgdb

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"

	"congvu/directory"
)

// Arrival is one message delivered through an old address: a transitional
// address or one at an alias domain.
type Arrival struct {
	Address string // the old address as the sender wrote it
	Sender  string // envelope sender; "" for the null sender
	At      time.Time
}

// maxSenderLen bounds what is stored of a sender address (RFC 5321
// 4.5.3.1.3: a path is at most 256 octets).
const maxSenderLen = 256

// RecordArrivals counts messages delivered through old addresses per
// address, day and sender, for the per-domain traffic report.
func (db *DB) RecordArrivals(ctx context.Context, list []Arrival) error {
	if len(list) == 0 {
		return nil
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		for _, a := range list {
			sender := directory.NormalizeAddress(a.Sender)
			if len(sender) > maxSenderLen {
				sender = sender[:maxSenderLen]
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO old_address_senders (address, day, sender, count) VALUES (?, ?, ?, 1)
				ON CONFLICT (address, day, sender) DO UPDATE SET count = count + 1`,
				directory.NormalizeAddress(a.Address), a.At.Unix()/86400, sender); err != nil {
				return unavailable(err)
			}
		}
		return nil
	})
}

// ClaimNotice records that sender is told about old address at `at`,
// unless it was told within period before: it reports whether a notice
// may be sent now (at most one per sender and old address per period,
// across restarts).
func (db *DB) ClaimNotice(ctx context.Context, address, sender string, at time.Time, period time.Duration) (bool, error) {
	address, sender = directory.NormalizeAddress(address), directory.NormalizeAddress(sender)
	claimed := false
	err := db.write(ctx, func(tx *sql.Tx) error {
		var last int64
		err := tx.QueryRowContext(ctx, `SELECT sent FROM old_address_notices WHERE address = ? AND sender = ?`, address, sender).Scan(&last)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return unavailable(err)
		case at.Sub(fromNanos(last)) < period:
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO old_address_notices (address, sender, sent) VALUES (?, ?, ?)
			ON CONFLICT (address, sender) DO UPDATE SET sent = excluded.sent`, address, sender, at.UnixNano())
		claimed = err == nil
		return unavailable(err)
	})
	return claimed, err
}

// ReleaseNotice forgets the notice claimed at `at` (it could not be
// sent), so the next message may try again.
func (db *DB) ReleaseNotice(ctx context.Context, address, sender string, at time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM old_address_notices WHERE address = ? AND sender = ? AND sent = ?`,
			directory.NormalizeAddress(address), directory.NormalizeAddress(sender), at.UnixNano())
		return unavailable(err)
	})
}

// DomainTraffic is the mail still arriving at one old domain (an alias
// domain, or the old addresses of a local domain left by transfers and
// mergers) in one period of a report.
type DomainTraffic struct {
	Domain string
	// Alias is the domain mail is delivered to when Domain is an alias
	// domain; "" for transitional addresses of a local domain.
	Alias string
	// Periods are the report's days or weeks, oldest first; each has the
	// messages delivered through old addresses of the domain and how many
	// distinct senders wrote them.
	Periods []TrafficPeriod
	// Messages and Senders are the totals over the report.
	Messages, Senders int64
	// Addresses is how many old addresses of the domain received mail.
	Addresses int
}

// TrafficPeriod is one day or week of a DomainTraffic.
type TrafficPeriod struct {
	From     time.Time // first day (UTC midnight)
	Messages int64
	Senders  int64
}

// TrafficByDomain reports, for each domain with old addresses, the
// messages and distinct senders per period of `step` days (1 or 7) over
// [from, to) (UTC days). Alias domains are listed even without traffic.
func (db *DB) TrafficByDomain(ctx context.Context, from, to time.Time, step int) ([]DomainTraffic, error) {
	if step <= 0 {
		step = 1
	}
	first, last := from.Unix()/86400, (to.Unix()+86399)/86400
	if last <= first {
		last = first + 1
	}
	nPeriods := int((last - first + int64(step) - 1) / int64(step))
	aliases, err := db.DomainAliases(ctx)
	if err != nil {
		return nil, err
	}
	byDomain := map[string]*DomainTraffic{}
	get := func(d string) *DomainTraffic {
		t := byDomain[d]
		if t == nil {
			t = &DomainTraffic{Domain: d, Periods: make([]TrafficPeriod, nPeriods)}
			for i := range t.Periods {
				t.Periods[i].From = time.Unix((first+int64(i*step))*86400, 0).UTC()
			}
			byDomain[d] = t
		}
		return t
	}
	for _, a := range aliases {
		get(a.Old).Alias = a.New
	}
	rows, err := db.ro.QueryContext(ctx, `SELECT address, day, sender, count FROM old_address_senders
		WHERE day >= ? AND day < ?`, first, last)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	type key struct {
		domain string
		period int
	}
	senders := map[key]map[string]bool{}
	all := map[string]map[string]bool{}
	addresses := map[string]map[string]bool{}
	for rows.Next() {
		var address, sender string
		var day, n int64
		if err := rows.Scan(&address, &day, &sender, &n); err != nil {
			return nil, unavailable(err)
		}
		d := directory.Domain(address)
		t, p := get(d), int((day-first)/int64(step))
		t.Periods[p].Messages += n
		t.Messages += n
		k := key{d, p}
		if senders[k] == nil {
			senders[k] = map[string]bool{}
		}
		if all[d] == nil {
			all[d], addresses[d] = map[string]bool{}, map[string]bool{}
		}
		senders[k][sender], all[d][sender], addresses[d][address] = true, true, true
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	for k, s := range senders {
		byDomain[k.domain].Periods[k.period].Senders = int64(len(s))
	}
	out := make([]DomainTraffic, 0, len(byDomain))
	for d, t := range byDomain {
		t.Senders, t.Addresses = int64(len(all[d])), len(addresses[d])
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Alias == "") != (out[j].Alias == "") {
			return out[i].Alias != ""
		}
		return strings.Compare(out[i].Domain, out[j].Domain) < 0
	})
	return out, nil
}
