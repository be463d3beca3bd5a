package imapd

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// counterValue reads a counter without the testutil package.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func imapCode(err error) imap.ResponseCode {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Code
	}
	return ""
}

func TestLoginRefusedBeforeTLS(t *testing.T) {
	e := newEnv(t)
	r := e.raw(false)
	caps, done := r.cmd("a1", "CAPABILITY")
	if !strings.HasPrefix(done, "a1 OK") || len(caps) != 1 ||
		!strings.Contains(caps[0], "LOGINDISABLED") || !strings.Contains(caps[0], "STARTTLS") ||
		strings.Contains(caps[0], "AUTH=PLAIN") {
		t.Fatalf("capabilities before TLS: %q %q", caps, done)
	}
	if _, done := r.cmd("a2", `LOGIN "`+userAddr+`" "`+userPass+`"`); !strings.HasPrefix(done, "a2 NO [PRIVACYREQUIRED]") {
		t.Fatalf("LOGIN before TLS: %q", done)
	}
	if _, done := r.cmd("a3", "AUTHENTICATE PLAIN AGFuAHg="); !strings.HasPrefix(done, "a3 NO [PRIVACYREQUIRED]") {
		t.Fatalf("AUTHENTICATE before TLS: %q", done)
	}
	if n := counterValue(e.metrics.Logins.WithLabelValues("imap", "ok")); n != 0 {
		t.Fatalf("logins ok = %v", n)
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	for _, implicit := range []bool{false, true} {
		c := e.dial(implicit, nil)
		if !c.Caps().Has(imap.AuthCap("PLAIN")) || c.Caps().Has(imap.CapLoginDisabled) {
			t.Fatalf("caps after TLS: %v", c.Caps())
		}
		if err := c.Login(userAddr, "sai mật khẩu").Wait(); imapCode(err) != imap.ResponseCodeAuthenticationFailed {
			t.Fatalf("wrong password: %v", err)
		}
		if err := c.Login("nobody@sokhcn.gov.vn", userPass).Wait(); imapCode(err) != imap.ResponseCodeAuthenticationFailed {
			t.Fatalf("unknown user: %v", err)
		}
		if err := c.Login(lockedAddr, userPass).Wait(); imapCode(err) != imap.ResponseCodeContactAdmin {
			t.Fatalf("locked account: %v", err)
		}
		// Login names are case-insensitive addresses.
		if err := c.Login(strings.ToUpper(userAddr), userPass).Wait(); err != nil {
			t.Fatalf("login (implicit=%v): %v", implicit, err)
		}
		caps, err := c.Capability().Wait()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []imap.Cap{imap.CapIMAP4rev2, imap.CapIdle, imap.CapMove, imap.CapUIDPlus, imap.CapSpecialUse, "APPENDLIMIT=1101004"} {
			if !caps.Has(want) {
				t.Errorf("missing capability %s in %v", want, caps)
			}
		}
		if err := c.Logout().Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if got := counterValue(e.metrics.Logins.WithLabelValues("imap", "ok")); got != 2 {
		t.Errorf("logins ok = %v", got)
	}
	if got := counterValue(e.metrics.Logins.WithLabelValues("imap", "failed")); got != 4 {
		t.Errorf("logins failed = %v", got)
	}
	if got := counterValue(e.metrics.Logins.WithLabelValues("imap", "locked")); got != 2 {
		t.Errorf("logins locked = %v", got)
	}
	if got := counterValue(e.metrics.Connections.WithLabelValues("imap")); got != 2 {
		t.Errorf("connections = %v", got)
	}
}

func TestLoginDirectoryUnavailable(t *testing.T) {
	e := newEnv(t, withUnavailableDirectory)
	c := e.dial(true, nil)
	if err := c.Login(userAddr, userPass).Wait(); imapCode(err) != imap.ResponseCodeUnavailable {
		t.Fatalf("directory down: %v", err)
	}
}

func TestListSpecialUse(t *testing.T) {
	e := newEnv(t)
	c := e.login(nil)
	if err := c.Create("Dự án/2025", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string][]imap.MailboxAttr{}
	for _, l := range list {
		attrs[l.Mailbox] = l.Attrs
		if l.Delim != '/' {
			t.Errorf("delimiter %q", l.Delim)
		}
	}
	for name, want := range map[string]imap.MailboxAttr{
		"Sent": imap.MailboxAttrSent, "Drafts": imap.MailboxAttrDrafts, "Trash": imap.MailboxAttrTrash,
		"Junk": imap.MailboxAttrJunk, "Archive": imap.MailboxAttrArchive, "Dự án": imap.MailboxAttrHasChildren,
		"Dự án/2025": imap.MailboxAttrHasNoChildren, "INBOX": imap.MailboxAttrHasNoChildren,
	} {
		if !slices.Contains(attrs[name], want) {
			t.Errorf("LIST %s: attrs %v, want %s (all: %v)", name, attrs[name], want, attrs)
		}
	}
	if list[0].Mailbox != "INBOX" {
		t.Errorf("INBOX not first: %v", list[0].Mailbox)
	}

	// LIST (SPECIAL-USE) "" "*" RETURN (STATUS (MESSAGES UNSEEN))
	list, err = c.List("", "*", &imap.ListOptions{
		SelectSpecialUse: true,
		ReturnStatus:     &imap.StatusOptions{NumMessages: true, NumUnseen: true},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 5 {
		t.Fatalf("special-use folders: %+v", list)
	}
	for _, l := range list {
		if l.Status == nil || l.Status.NumMessages == nil || *l.Status.NumMessages != 0 {
			t.Errorf("LIST-STATUS for %s: %+v", l.Mailbox, l.Status)
		}
	}

	// % stops at the delimiter; "inbox" matches INBOX.
	list, err = c.List("", "%", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		if strings.Contains(l.Mailbox, "/") {
			t.Errorf(`LIST "" %%: %s`, l.Mailbox)
		}
	}
	if list, err = c.List("", "inbox", nil).Collect(); err != nil || len(list) != 1 || list[0].Mailbox != "INBOX" {
		t.Errorf("LIST inbox: %+v %v", list, err)
	}

	// Subscriptions, LSUB via LIST (SUBSCRIBED), rename, delete.
	if err := c.Subscribe("Dự án/2025").Wait(); err != nil {
		t.Fatal(err)
	}
	list, err = c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var subscribed []string
	for _, l := range list {
		subscribed = append(subscribed, l.Mailbox)
		if !slices.Contains(l.Attrs, imap.MailboxAttrSubscribed) {
			t.Errorf("%s without \\Subscribed", l.Mailbox)
		}
	}
	if !slices.Contains(subscribed, "Dự án/2025") {
		t.Errorf("subscribed: %v", subscribed)
	}
	if err := c.Rename("Dự án/2025", "Lưu trữ 2025", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("Lưu trữ 2025").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("Lưu trữ 2025", nil).Wait(); imapCode(err) != imap.ResponseCodeNonExistent {
		t.Fatalf("select deleted folder: %v", err)
	}
	ns, err := c.Namespace().Wait()
	if err != nil || len(ns.Personal) != 1 || ns.Personal[0].Delim != '/' {
		t.Fatalf("NAMESPACE: %+v %v", ns, err)
	}
}

// multipartMsg is a message with a Vietnamese text part and a binary
// attachment, as government offices send scanned documents.
func multipartMsg(t *testing.T) (msg string, attachment []byte) {
	attachment = make([]byte, 3000)
	if _, err := rand.Read(attachment); err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(attachment)
	var lines []string
	for len(b64) > 76 {
		lines = append(lines, b64[:76])
		b64 = b64[76:]
	}
	lines = append(lines, b64)
	msg = "From: =?utf-8?q?V=C4=83n_th=C6=B0?= <vanthu@ubnd.gov.vn>\r\n" +
		"To: " + userAddr + "\r\n" +
		"Cc: pho.giam.doc@sokhcn.gov.vn\r\n" +
		"Subject: =?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte("Công văn số 123/UBND về việc báo cáo")) + "?=\r\n" +
		"Date: Mon, 02 Jun 2025 08:30:00 +0700\r\n" +
		"Message-ID: <cv123@ubnd.gov.vn>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"ranh-gioi\"\r\n" +
		"\r\n" +
		"--ranh-gioi\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"Kính gửi các đơn vị, đề nghị báo cáo trước ngày 10/6.\r\n" +
		"--ranh-gioi\r\n" +
		"Content-Type: application/pdf; name=\"cv123.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"cv123.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		strings.Join(lines, "\r\n") + "\r\n" +
		"--ranh-gioi--\r\n"
	return msg, attachment
}

func TestAppendFetch(t *testing.T) {
	e := newEnv(t)
	c := e.login(nil)
	msg, attachment := multipartMsg(t)
	date := time.Date(2025, 6, 2, 9, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	app := appendMsg(t, c, "INBOX", msg, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagFlagged, "$Important"}, Time: date})
	if app.UID == 0 || app.UIDValidity == 0 {
		t.Fatalf("APPENDUID: %+v", app)
	}
	if got := counterValue(e.metrics.Appends.WithLabelValues("ok")); got != 1 {
		t.Errorf("appends ok = %v", got)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 1 || sel.UIDValidity != app.UIDValidity {
		t.Fatalf("select: %+v %v", sel, err)
	}
	whole := &imap.FetchItemBodySection{Peek: true}
	partial := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 10, Size: 20}}
	textPart := &imap.FetchItemBodySection{Peek: true, Part: []int{1}}
	attPart := &imap.FetchItemBodySection{Peek: true, Part: []int{2}}
	header := &imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}}
	binary := &imap.FetchItemBinarySection{Peek: true, Part: []int{2}}
	msgs, err := c.Fetch(imap.UIDSetNum(app.UID), &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true, Envelope: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{whole, partial, textPart, attPart, header},
		BinarySection: []*imap.FetchItemBinarySection{binary},
	}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v %v", msgs, err)
	}
	m := msgs[0]
	if got := m.FindBodySection(whole); !bytes.Equal(got, []byte(msg)) {
		t.Fatalf("BODY[] differs: %d bytes, want %d", len(got), len(msg))
	}
	if got := string(m.FindBodySection(partial)); got != msg[10:30] {
		t.Errorf("BODY[]<10.20> = %q", got)
	}
	if got := string(m.FindBodySection(textPart)); !strings.Contains(got, "Kính gửi các đơn vị") {
		t.Errorf("BODY[1] = %q", got)
	}
	dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(m.FindBodySection(attPart)), "\r\n", ""))
	if err != nil || !bytes.Equal(dec, attachment) {
		t.Errorf("BODY[2] does not decode to the attachment: %v", err)
	}
	if got := m.FindBinarySection(binary); !bytes.Equal(got, attachment) {
		t.Errorf("BINARY[2]: %d bytes, want %d identical", len(got), len(attachment))
	}
	if got := string(m.FindBodySection(header)); got != "Message-ID: <cv123@ubnd.gov.vn>\r\n\r\n" {
		t.Errorf("HEADER.FIELDS = %q", got)
	}
	if m.RFC822Size != int64(len(msg)) || !m.InternalDate.Equal(date) || m.UID != app.UID {
		t.Errorf("size %d date %v uid %d", m.RFC822Size, m.InternalDate, m.UID)
	}
	if !slices.Contains(m.Flags, imap.FlagFlagged) || !slices.Contains(m.Flags, "$Important") || slices.Contains(m.Flags, imap.FlagSeen) {
		t.Errorf("flags %v", m.Flags)
	}
	env := m.Envelope
	if env == nil || env.Subject != "Công văn số 123/UBND về việc báo cáo" || env.MessageID != "cv123@ubnd.gov.vn" ||
		len(env.From) != 1 || env.From[0].Name != "Văn thư" || env.From[0].Addr() != "vanthu@ubnd.gov.vn" ||
		len(env.Cc) != 1 || env.Date.IsZero() {
		t.Errorf("envelope %+v", env)
	}
	mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || mp.Subtype != "mixed" || len(mp.Children) != 2 {
		t.Fatalf("bodystructure %#v", m.BodyStructure)
	}
	text, ok1 := mp.Children[0].(*imap.BodyStructureSinglePart)
	pdf, ok2 := mp.Children[1].(*imap.BodyStructureSinglePart)
	if !ok1 || !ok2 || text.Type != "text" || text.Params["charset"] != "utf-8" ||
		pdf.Type != "application" || pdf.Subtype != "pdf" || !strings.EqualFold(pdf.Encoding, "base64") ||
		pdf.Disposition() == nil || pdf.Filename() != "cv123.pdf" {
		t.Errorf("parts %+v %+v", mp.Children[0], mp.Children[1])
	}

	// BODY.PEEK kept \Seen off; BODY[] without PEEK sets it and reports it.
	msgs, err = c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierText}}}).Collect()
	if err != nil || len(msgs) != 1 || !slices.Contains(msgs[0].Flags, imap.FlagSeen) {
		t.Fatalf("BODY[TEXT] did not set \\Seen: %+v %v", msgs, err)
	}
}

func fetchFlags(t *testing.T, c *imapclient.Client, set imap.NumSet) map[imap.UID][]imap.Flag {
	t.Helper()
	msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[imap.UID][]imap.Flag{}
	for _, m := range msgs {
		// \Recent is the session's, not the message's (RFC 3501 §2.3.2).
		out[m.UID] = slices.DeleteFunc(m.Flags, func(f imap.Flag) bool { return f == `\Recent` })
	}
	return out
}

func TestStoreFlags(t *testing.T) {
	e := newEnv(t)
	c := e.login(nil)
	for i := 0; i < 3; i++ {
		appendMsg(t, c, "INBOX", simpleMsg("Thư", "nội dung", time.Now()), nil)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Store(imap.SeqSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Label1"}}, nil).Collect()
	if err != nil || len(msgs) != 2 || !slices.Contains(msgs[0].Flags, imap.FlagFlagged) {
		t.Fatalf("STORE +FLAGS: %+v %v", msgs, err)
	}
	flags := fetchFlags(t, c, imap.SeqSetNum(1, 2, 3))
	if !slices.Contains(flags[1], "$Label1") || !slices.Contains(flags[2], imap.FlagFlagged) || len(flags[3]) != 0 {
		t.Fatalf("flags after STORE: %v", flags)
	}
	msgs, err = c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect()
	if err != nil || len(msgs) != 0 {
		t.Fatalf("STORE -FLAGS.SILENT answered %+v %v", msgs, err)
	}
	msgs, err = c.Store(imap.SeqSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsSet, Flags: []imap.Flag{imap.FlagSeen, imap.FlagAnswered}}, nil).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("STORE FLAGS: %v", err)
	}
	flags = fetchFlags(t, c, imap.SeqSetNum(1, 2, 3))
	if slices.Contains(flags[1], imap.FlagFlagged) || !slices.Contains(flags[1], "$Label1") ||
		len(flags[3]) != 2 {
		t.Fatalf("flags: %v", flags)
	}
	// EXAMINE is read-only: STORE refused, BODY[] does not set \Seen.
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err == nil {
		t.Fatal("STORE in EXAMINE succeeded")
	}
	if _, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	if flags = fetchFlags(t, c, imap.SeqSetNum(1)); slices.Contains(flags[1], imap.FlagSeen) {
		t.Fatalf("EXAMINE + BODY[] set \\Seen")
	}
	// APPEND into the selected folder is announced with EXISTS.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, c, "INBOX", simpleMsg("Thư 4", "bốn", time.Now()), nil)
	if n := c.Mailbox().NumMessages; n != 4 {
		t.Fatalf("after APPEND to selected folder the client sees %d messages", n)
	}
}

func TestSearch(t *testing.T) {
	e := newEnv(t)
	c := e.login(nil)
	ict := time.FixedZone("ICT", 7*3600)
	d1 := time.Date(2025, 3, 1, 10, 0, 0, 0, ict)
	d2 := time.Date(2025, 4, 15, 10, 0, 0, 0, ict)
	d3 := time.Date(2025, 5, 20, 10, 0, 0, 0, ict)
	appendMsg(t, c, "INBOX", simpleMsg("Báo cáo quý I", "Số liệu KINH TẾ xã hội", d1), &imap.AppendOptions{Time: d1, Flags: []imap.Flag{imap.FlagSeen}})
	appendMsg(t, c, "INBOX", simpleMsg("Giấy mời họp", "Mời dự họp giao ban", d2), &imap.AppendOptions{Time: d2, Flags: []imap.Flag{imap.FlagFlagged}})
	big, _ := multipartMsg(t)
	appendMsg(t, c, "INBOX", big, &imap.AppendOptions{Time: d3})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	for name, tc := range map[string]struct {
		crit imap.SearchCriteria
		want []uint32
	}{
		"subject":        {imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "giấy MỜI"}}}, []uint32{2}},
		"from":           {imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "vanthu@"}}}, []uint32{3}},
		"header exists":  {imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Cc", Value: ""}}}, []uint32{3}},
		"body":           {imap.SearchCriteria{Body: []string{"kinh tế"}}, []uint32{1}},
		"body multipart": {imap.SearchCriteria{Body: []string{"đề nghị báo cáo"}}, []uint32{3}},
		"text header":    {imap.SearchCriteria{Text: []string{"binh@ubnd"}}, []uint32{1, 2}},
		"seen":           {imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, []uint32{1}},
		"unseen":         {imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []uint32{2, 3}},
		"flagged":        {imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, []uint32{2}},
		"since":          {imap.SearchCriteria{Since: day(d2)}, []uint32{2, 3}},
		"before":         {imap.SearchCriteria{Before: day(d2)}, []uint32{1}},
		"on":             {imap.SearchCriteria{Since: day(d2), Before: day(d2).Add(24 * time.Hour)}, []uint32{2}},
		"sentbefore":     {imap.SearchCriteria{SentBefore: day(d3)}, []uint32{1, 2}},
		"sentsince":      {imap.SearchCriteria{SentSince: day(d2)}, []uint32{2, 3}},
		"larger":         {imap.SearchCriteria{Larger: 2000}, []uint32{3}},
		"smaller":        {imap.SearchCriteria{Smaller: 2000}, []uint32{1, 2}},
		"uid":            {imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(2, 3)}}, []uint32{2, 3}},
		"seq star":       {imap.SearchCriteria{SeqNum: []imap.SeqSet{{{Start: 2, Stop: 0}}}}, []uint32{2, 3}},
		"not":            {imap.SearchCriteria{Not: []imap.SearchCriteria{{Flag: []imap.Flag{imap.FlagSeen}}}}, []uint32{2, 3}},
		"or": {imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{
			{Body: []string{"giao ban"}}, {Flag: []imap.Flag{imap.FlagSeen}},
		}}}, []uint32{1, 2}},
		"none": {imap.SearchCriteria{Body: []string{"không có chữ này"}}, nil},
	} {
		data, err := c.UIDSearch(&tc.crit, nil).Wait()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got []uint32
		for _, u := range data.AllUIDs() {
			got = append(got, uint32(u))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", name, got, tc.want)
		}
	}
	// ESEARCH (RFC 4731) result options.
	data, err := c.Search(&imap.SearchCriteria{}, &imap.SearchOptions{ReturnMin: true, ReturnMax: true, ReturnCount: true}).Wait()
	if err != nil || data.Min != 1 || data.Max != 3 || data.Count != 3 {
		t.Fatalf("ESEARCH: %+v %v", data, err)
	}
}

func TestCopyMoveExpunge(t *testing.T) {
	e := newEnv(t)
	c := e.login(nil)
	for i := 0; i < 4; i++ {
		appendMsg(t, c, "INBOX", simpleMsg("Thư", "nội dung", time.Now()), nil)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cp, err := c.Copy(imap.UIDSetNum(1, 2), "Archive").Wait()
	if err != nil || len(cp.SourceUIDs) == 0 || cp.SourceUIDs.String() != "1:2" || cp.DestUIDs.String() == "" {
		t.Fatalf("COPY: %+v %v", cp, err)
	}
	st, err := c.Status("Archive", &imap.StatusOptions{NumMessages: true, UIDValidity: true}).Wait()
	if err != nil || *st.NumMessages != 2 || st.UIDValidity != cp.UIDValidity {
		t.Fatalf("STATUS Archive: %+v %v", st, err)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Không tồn tại").Wait(); imapCode(err) != imap.ResponseCodeTryCreate {
		t.Fatalf("COPY to missing folder: %v", err)
	}

	var expunged []uint32
	mv, err := c.Move(imap.UIDSetNum(3), "Trash").Wait()
	if err != nil || mv.SourceUIDs.String() != "3" {
		t.Fatalf("MOVE: %+v %v", mv, err)
	}
	if c.Mailbox().NumMessages != 3 {
		t.Fatalf("after MOVE %d messages", c.Mailbox().NumMessages)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(3), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].UID != 4 {
		t.Fatalf("seq 3 after MOVE: %+v %v", msgs, err)
	}

	// UID EXPUNGE removes only the given \Deleted messages; EXPUNGE the rest.
	if err := c.Store(imap.SeqSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	res, err := c.UIDExpunge(imap.UIDSetNum(2)).Collect()
	if err != nil || !slices.Equal(res, []uint32{2}) {
		t.Fatalf("UID EXPUNGE: %v %v", res, err)
	}
	res, err = c.Expunge().Collect()
	if err != nil || !slices.Equal(res, []uint32{1}) {
		t.Fatalf("EXPUNGE: %v %v", res, err)
	}
	expunged = append(expunged, res...)
	if st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil || *st.NumMessages != 1 {
		t.Fatalf("INBOX after expunge: %+v %v", st, err)
	}
	msgs, err = c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].UID != 4 {
		t.Fatalf("remaining message: %+v %v", msgs, err)
	}
	_ = expunged
}

func TestOverQuota(t *testing.T) {
	e := newEnv(t)
	c := e.dial(true, nil)
	if err := c.Login(smallAddr, userPass).Wait(); err != nil {
		t.Fatal(err)
	}
	msg := simpleMsg("Tệp lớn", strings.Repeat("dữ liệu ", smallQuota/4), time.Now())
	cmd := c.Append("INBOX", int64(len(msg)), nil)
	cmd.Write([]byte(msg))
	cmd.Close()
	if _, err := cmd.Wait(); imapCode(err) != imap.ResponseCodeOverQuota {
		t.Fatalf("over-quota append: %v", err)
	}
	if got := counterValue(e.metrics.Appends.WithLabelValues("overquota")); got != 1 {
		t.Errorf("appends overquota = %v", got)
	}
	// The session stays usable and small messages still fit.
	appendMsg(t, c, "INBOX", simpleMsg("Nhỏ", "ngắn", time.Now()), nil)
}
