package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"congvu/directory/orgdb"
	"congvu/groups"
	"congvu/internal/server"
)

const groupCmdUsage = `usage:
  congvu group add        --config FILE --name NAME [--unit CODE] [--sub-units] [--kind custom|unit] [--policy members|unit|state|anyone] ADDRESS [MEMBER...]
  congvu group remove     --config FILE ADDRESS
  congvu group list       --config FILE
  congvu group show       --config FILE ADDRESS
  congvu group member add    --config FILE GROUP MEMBER...
  congvu group member remove --config FILE GROUP MEMBER...
  congvu group set-policy --config FILE [--name NAME] [--unit CODE] [--sub-units=true|false] GROUP members|unit|state|anyone
`

const danhbaCmdUsage = `usage:
  congvu danhba withhold --config FILE [--unit CODE] phone|title|entry [ADDRESS]
  congvu danhba publish  --config FILE [--unit CODE] phone|title|entry [ADDRESS]
  congvu danhba list     --config FILE
`

// groupTools is what the group and danh bạ commands change. The orgdb
// store is SQLite in WAL mode that the running server reads at every
// delivery and danh bạ request, so the commands write it directly
// (nothing of the mail store is involved, unlike a reorganisation).
type groupTools struct {
	*policyTools
	admin *groups.Admin
}

func openGroupTools(path string, stderr io.Writer) (*groupTools, error) {
	p, err := openPolicyTools(path, stderr)
	if err != nil {
		return nil, err
	}
	org := serverOrgDB(p)
	if org == nil {
		p.Close()
		return nil, errors.New("the directory has no orgdb store")
	}
	return &groupTools{policyTools: p, admin: &groups.Admin{Dir: p.dir, Org: org, Audit: p.db,
		LocalDomains: p.cfg.Server.LocalDomains}}, nil
}

// cmdGroup manages distribution lists.
func cmdGroup(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, groupCmdUsage)
		return flag.ErrHelp
	}
	verb, rest := args[0], args[1:]
	if verb == "member" {
		if len(args) < 2 || (args[1] != "add" && args[1] != "remove") {
			fmt.Fprint(stderr, groupCmdUsage)
			return flag.ErrHelp
		}
		verb, rest = "member "+args[1], args[2:]
	}
	synopsis := map[string]string{
		"add":           " --name NAME [--unit CODE] [--sub-units] [--kind custom|unit] [--policy P] ADDRESS [MEMBER...]",
		"remove":        " ADDRESS",
		"list":          "",
		"show":          " ADDRESS",
		"member add":    " GROUP MEMBER...",
		"member remove": " GROUP MEMBER...",
		"set-policy":    " [--name NAME] [--unit CODE] [--sub-units=BOOL] GROUP members|unit|state|anyone",
	}
	syn, ok := synopsis[verb]
	if !ok {
		fmt.Fprint(stderr, groupCmdUsage)
		return fmt.Errorf("unknown group command %q", verb)
	}
	fs := newFlags("group "+verb, "congvu group "+verb+" --config FILE"+syn, stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	name := fs.String("name", "", "the group's name as the danh bạ shows it")
	unit := fs.String("unit", "", "unit group: whose people; custom group: the unit it belongs to")
	subUnits := fs.Bool("sub-units", false, "a unit group includes the sub-units' people")
	kind := fs.String("kind", "", "custom (explicit members) or unit (everyone of --unit); default unit when --unit and no members, else custom")
	pol := fs.String("policy", "", "who may send: members, unit, state or anyone (default members; unit for a unit group)")
	if err := parseFlags(fs, rest, stdout); err != nil {
		return err
	}
	minArgs := map[string]int{"add": 1, "remove": 1, "list": 0, "show": 1, "member add": 2, "member remove": 2, "set-policy": 2}[verb]
	if fs.NArg() < minArgs || (verb != "add" && !strings.HasPrefix(verb, "member") && fs.NArg() != minArgs) {
		fmt.Fprint(stderr, groupCmdUsage)
		return flag.ErrHelp
	}
	t, err := openGroupTools(*path, stderr)
	if err != nil {
		return err
	}
	defer t.Close()
	ctx := context.Background()
	who := groups.Actor{Name: actor()}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch verb {
	case "list":
		return listGroups(ctx, t, stdout)
	case "show":
		return showGroup(ctx, t, fs.Arg(0), stdout)
	case "add":
		g := orgdb.Group{Address: fs.Arg(0), Name: *name, Kind: *kind, UnitCode: *unit, SubUnits: *subUnits,
			Policy: *pol, Members: fs.Args()[1:]}
		if g.Kind == "" {
			g.Kind = orgdb.GroupCustom
			if g.UnitCode != "" && len(g.Members) == 0 {
				g.Kind = orgdb.GroupUnit
			}
		}
		if g.Policy == "" {
			g.Policy = orgdb.PolicyMembers
			if g.Kind == orgdb.GroupUnit {
				g.Policy = orgdb.PolicyUnit
			}
		}
		if err := t.admin.Create(ctx, g, who); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "đã tạo nhóm / group created: %s\n", strings.ToLower(g.Address))
		return showGroup(ctx, t, g.Address, stdout)
	case "remove":
		if err := t.admin.Remove(ctx, fs.Arg(0), who); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "đã xoá nhóm / group removed: %s\n", fs.Arg(0))
		return nil
	case "member add", "member remove":
		for _, m := range fs.Args()[1:] {
			if verb == "member add" {
				err = t.admin.AddMember(ctx, fs.Arg(0), m, who)
			} else {
				err = t.admin.RemoveMember(ctx, fs.Arg(0), m, who)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
		}
		return showGroup(ctx, t, fs.Arg(0), stdout)
	}
	// set-policy
	g, err := t.admin.Org.GetGroup(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if g == nil {
		return orgdb.ErrNoGroup.With(fmt.Errorf("group %s", fs.Arg(0)))
	}
	g.Policy = fs.Arg(1)
	if set["name"] {
		g.Name = *name
	}
	if set["unit"] {
		g.UnitCode = *unit
	}
	if set["sub-units"] {
		g.SubUnits = *subUnits
	}
	if err := t.admin.Update(ctx, *g, who); err != nil {
		return err
	}
	return showGroup(ctx, t, g.Address, stdout)
}

func listGroups(ctx context.Context, t *groupTools, stdout io.Writer) error {
	gs, err := t.admin.Org.Groups(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ĐỊA CHỈ/ADDRESS\tTÊN/NAME\tLOẠI/KIND\tĐƠN VỊ/UNIT\tAI ĐƯỢC GỬI/WHO MAY SEND\tTHÀNH VIÊN/MEMBERS")
	for _, g := range gs {
		members := fmt.Sprint(len(g.Members))
		if g.Kind == orgdb.GroupUnit {
			members = "(danh bạ/directory)"
		}
		unit := g.UnitCode
		if g.SubUnits {
			unit += " +"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", g.Address, g.Name, g.Kind, unit, g.Policy, members)
	}
	return tw.Flush()
}

func showGroup(ctx context.Context, t *groupTools, address string, stdout io.Writer) error {
	g, err := t.admin.Org.GetGroup(ctx, address)
	if err != nil {
		return err
	}
	if g == nil {
		return orgdb.ErrNoGroup.With(fmt.Errorf("group %s", address))
	}
	fmt.Fprintf(stdout, "%s\t%s\nloại/kind: %s", g.Address, g.Name, g.Kind)
	if g.UnitCode != "" {
		fmt.Fprintf(stdout, "\tđơn vị/unit: %s", g.UnitCode)
		if g.SubUnits {
			fmt.Fprint(stdout, " (cả đơn vị trực thuộc / with sub-units)")
		}
	}
	fmt.Fprintf(stdout, "\nai được gửi/who may send: %s\n", groups.PolicyLabel(g.Policy))
	if g.Kind == orgdb.GroupCustom {
		fmt.Fprintf(stdout, "thành viên/members (%d):\n", len(g.Members))
		for _, m := range g.Members {
			fmt.Fprintf(stdout, "  %s\n", m)
		}
	}
	members, err := groups.New(t.dir, t.admin.Org, nil, nil).Members(ctx, g)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "nhận thư/delivered to (%d):", len(members))
	for i, a := range members {
		if i == 20 {
			fmt.Fprintf(stdout, " … (+%d)", len(members)-20)
			break
		}
		fmt.Fprintf(stdout, " %s", a.Address)
	}
	fmt.Fprintln(stdout)
	return nil
}

// cmdDanhba sets the danh bạ publishing controls.
func cmdDanhba(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, danhbaCmdUsage)
		return flag.ErrHelp
	}
	verb := args[0]
	if verb != "withhold" && verb != "publish" && verb != "list" {
		fmt.Fprint(stderr, danhbaCmdUsage)
		return fmt.Errorf("unknown danhba command %q", verb)
	}
	fs := newFlags("danhba "+verb, "congvu danhba "+verb+" --config FILE [--unit CODE] phone|title|entry [ADDRESS]", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	unit := fs.String("unit", "", "the control covers this unit and its sub-units instead of one person")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	want := 2
	if *unit != "" {
		want = 1
	}
	if verb == "list" {
		want = 0
	}
	if fs.NArg() != want {
		fmt.Fprint(stderr, danhbaCmdUsage)
		return flag.ErrHelp
	}
	t, err := openGroupTools(*path, stderr)
	if err != nil {
		return err
	}
	defer t.Close()
	ctx := context.Background()
	if verb != "list" {
		w := orgdb.Withheld{Scope: orgdb.ScopeUnit, Key: *unit, Attribute: fs.Arg(0)}
		if *unit == "" {
			w.Scope, w.Key = orgdb.ScopeAccount, fs.Arg(1)
		}
		if err := t.admin.Withhold(ctx, w, verb == "withhold", groups.Actor{Name: actor()}); err != nil {
			return err
		}
	}
	ws, err := t.admin.Org.WithheldAll(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHẠM VI/SCOPE\tAI/WHO\tKHÔNG CÔNG BỐ/WITHHELD\tTỪ/SINCE\tBỞI/BY")
	for _, w := range ws {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", w.Scope, w.Key, groups.WithheldLabel(w.Attribute),
			w.Changed.In(t.loc).Format("2006-01-02 15:04"), w.Actor)
	}
	return tw.Flush()
}

// serverOrgDB is the orgdb store of the tools' directory.
func serverOrgDB(p *policyTools) *orgdb.DB { return server.OrgDB(p.dir) }
