package orgdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"congvu/directory"
)

// Group is a distribution list: mail to Address is delivered to each
// member's mailbox (package groups expands it).
type Group struct {
	Address string
	Name    string
	Kind    string // GroupCustom or GroupUnit
	// UnitCode: for a unit group, whose people are its members; for a
	// custom group, the unit that owns it (unit administrators of that
	// unit manage it; the "unit" sending rule means that unit).
	UnitCode string
	// SubUnits: a unit group also takes in the people of the sub-units,
	// and the "unit" sending rule accepts them.
	SubUnits bool
	Policy   string   // who may send: PolicyMembers, PolicyUnit, PolicyState, PolicyAnyone
	Members  []string // custom groups: account or group addresses, sorted
	Created  time.Time
	Actor    string
}

// Group kinds.
const (
	GroupCustom = "custom" // explicit member addresses
	GroupUnit   = "unit"   // everyone of a unit, computed at delivery
)

// Sending rules of a group.
const (
	PolicyMembers = "members" // only the group's own members
	PolicyUnit    = "unit"    // anyone of the group's unit
	PolicyState   = "state"   // any address of a state domain
	PolicyAnyone  = "anyone"  // anyone at all
)

// GroupPolicies lists the sending rules, narrowest first.
var GroupPolicies = []string{PolicyMembers, PolicyUnit, PolicyState, PolicyAnyone}

// MaxGroupMembers bounds the explicit members of one custom group.
const MaxGroupMembers = 5000

// ErrGroup refuses a group change that cannot be made.
var ErrGroup = directory.ErrInvalid.WithMessage("Invalid group", "Nhóm thư không hợp lệ")

// ErrNoGroup: no group has this address.
var ErrNoGroup = directory.ErrInvalid.WithMessage("No such group", "Không có nhóm thư này")

// CheckGroup normalises g and checks what the store alone can check.
func CheckGroup(g *Group) error {
	g.Address = directory.NormalizeAddress(g.Address)
	if err := directory.CheckAddress(g.Address); err != nil {
		return ErrGroup.With(fmt.Errorf("address %q", g.Address))
	}
	g.Name = strings.TrimSpace(g.Name)
	if g.Name == "" || len(g.Name) > 200 {
		return ErrGroup.With(errors.New("a group needs a name of at most 200 bytes"))
	}
	switch g.Kind {
	case GroupCustom:
	case GroupUnit:
		if g.UnitCode == "" {
			return ErrGroup.With(errors.New("a unit group needs its unit"))
		}
	default:
		return ErrGroup.With(fmt.Errorf("kind %q (custom or unit)", g.Kind))
	}
	if !slices.Contains(GroupPolicies, g.Policy) {
		return ErrGroup.With(fmt.Errorf("sending rule %q (members, unit, state or anyone)", g.Policy))
	}
	if g.Policy == PolicyUnit && g.UnitCode == "" {
		return ErrGroup.With(errors.New(`the "unit" sending rule needs the group's unit`))
	}
	return nil
}

// bumpGeneration marks the published danh bạ stale.
func bumpGeneration(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE publish_generation SET n = n + 1 WHERE id = 1`)
	return unavailable(err)
}

// AddGroup creates a group (its Members too).
func (db *DB) AddGroup(ctx context.Context, g Group) error {
	if err := CheckGroup(&g); err != nil {
		return err
	}
	if len(g.Members) > MaxGroupMembers {
		return ErrGroup.With(fmt.Errorf("%d members (at most %d)", len(g.Members), MaxGroupMembers))
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM groups WHERE address = ?`, g.Address).Scan(&n); err != nil {
			return unavailable(err)
		}
		if n > 0 {
			return ErrGroup.With(fmt.Errorf("group %s exists already", g.Address))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO groups (address, name, kind, unit_code, sub_units, policy, created, actor)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, g.Address, g.Name, g.Kind, g.UnitCode, g.SubUnits, g.Policy,
			time.Now().UnixNano(), g.Actor); err != nil {
			return unavailable(err)
		}
		for _, m := range g.Members {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO group_members (group_address, member) VALUES (?, ?)`,
				g.Address, directory.NormalizeAddress(m)); err != nil {
				return unavailable(err)
			}
		}
		return bumpGeneration(ctx, tx)
	})
}

// UpdateGroup changes a group's name, unit, sub-unit choice and sending
// rule (not its kind or members).
func (db *DB) UpdateGroup(ctx context.Context, g Group) error {
	if err := CheckGroup(&g); err != nil {
		return err
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE groups SET name = ?, unit_code = ?, sub_units = ?, policy = ? WHERE address = ?`,
			g.Name, g.UnitCode, g.SubUnits, g.Policy, g.Address)
		if err != nil {
			return unavailable(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNoGroup.With(fmt.Errorf("group %s", g.Address))
		}
		return bumpGeneration(ctx, tx)
	})
}

// RemoveGroup deletes a group and its member list; it reports whether
// there was one. Groups that named it as a member keep the name, which
// expands to nothing (and is shown as unknown) until removed.
func (db *DB) RemoveGroup(ctx context.Context, address string) (bool, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE address = ?`, directory.NormalizeAddress(address))
		if err != nil {
			return unavailable(err)
		}
		n, _ = res.RowsAffected()
		return bumpGeneration(ctx, tx)
	})
	return n > 0, err
}

// AddGroupMember adds a member address to a custom group; it reports
// whether it was new.
func (db *DB) AddGroupMember(ctx context.Context, group, member string) (bool, error) {
	group, member = directory.NormalizeAddress(group), directory.NormalizeAddress(member)
	if err := directory.CheckAddress(member); err != nil {
		return false, ErrGroup.With(fmt.Errorf("member %q", member))
	}
	if member == group {
		return false, ErrGroup.With(errors.New("a group cannot be its own member"))
	}
	var added bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		var kind string
		err := tx.QueryRowContext(ctx, `SELECT kind FROM groups WHERE address = ?`, group).Scan(&kind)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoGroup.With(fmt.Errorf("group %s", group))
		}
		if err != nil {
			return unavailable(err)
		}
		if kind != GroupCustom {
			return ErrGroup.With(fmt.Errorf("%s is a unit group: its members come from the directory", group))
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM group_members WHERE group_address = ?`, group).Scan(&n); err != nil {
			return unavailable(err)
		}
		if n >= MaxGroupMembers {
			return ErrGroup.With(fmt.Errorf("%s has %d members already (at most %d)", group, n, MaxGroupMembers))
		}
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO group_members (group_address, member) VALUES (?, ?)`, group, member)
		if err != nil {
			return unavailable(err)
		}
		c, _ := res.RowsAffected()
		added = c > 0
		return bumpGeneration(ctx, tx)
	})
	return added, err
}

// RemoveGroupMember removes a member; it reports whether it was there.
func (db *DB) RemoveGroupMember(ctx context.Context, group, member string) (bool, error) {
	var removed bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_address = ? AND member = ?`,
			directory.NormalizeAddress(group), directory.NormalizeAddress(member))
		if err != nil {
			return unavailable(err)
		}
		c, _ := res.RowsAffected()
		removed = c > 0
		return bumpGeneration(ctx, tx)
	})
	return removed, err
}

// GetGroup returns the group of address with its members; nil when
// there is none.
func (db *DB) GetGroup(ctx context.Context, address string) (*Group, error) {
	address = directory.NormalizeAddress(address)
	gs, err := db.queryGroups(ctx, `WHERE address = ?`, address)
	if err != nil || len(gs) == 0 {
		return nil, err
	}
	return &gs[0], nil
}

// Groups lists every group by address, with members.
func (db *DB) Groups(ctx context.Context) ([]Group, error) { return db.queryGroups(ctx, "") }

func (db *DB) queryGroups(ctx context.Context, where string, args ...any) ([]Group, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT address, name, kind, unit_code, sub_units, policy, created, actor
		FROM groups `+where+` ORDER BY address`, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	var out []Group
	index := map[string]int{}
	for rows.Next() {
		var g Group
		var created int64
		if err := rows.Scan(&g.Address, &g.Name, &g.Kind, &g.UnitCode, &g.SubUnits, &g.Policy, &created, &g.Actor); err != nil {
			rows.Close()
			return nil, unavailable(err)
		}
		g.Created = fromNanos(created)
		index[g.Address] = len(out)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, unavailable(err)
	}
	q, margs := `SELECT group_address, member FROM group_members ORDER BY group_address, member`, []any(nil)
	if len(out) == 1 {
		q, margs = `SELECT group_address, member FROM group_members WHERE group_address = ? ORDER BY member`, []any{out[0].Address}
	}
	mrows, err := db.ro.QueryContext(ctx, q, margs...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var g, m string
		if err := mrows.Scan(&g, &m); err != nil {
			return nil, unavailable(err)
		}
		if i, ok := index[g]; ok {
			out[i].Members = append(out[i].Members, m)
		}
	}
	return out, unavailable(mrows.Err())
}

// PublishGeneration changes whenever a group or a publishing control
// changes: a cached danh bạ older than it is stale.
func (db *DB) PublishGeneration(ctx context.Context) (int64, error) {
	var n int64
	err := db.ro.QueryRowContext(ctx, `SELECT n FROM publish_generation WHERE id = 1`).Scan(&n)
	return n, unavailable(err)
}
