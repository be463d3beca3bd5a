package imapd

import (
	"errors"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"congvu/internal/mailerr"
	"congvu/storage"
)

// selected is a session's view of its selected folder. msgs is the
// client's idea of the folder: msgs[i] has sequence number i+1. It only
// changes when the client is told (EXISTS, EXPUNGE), which keeps the
// seq↔UID mapping of RFC 9051 2.3.1.2 correct whatever other sessions do.
type selected struct {
	folder      string
	readOnly    bool
	uidValidity uint32
	msgs        []snapMsg
	ghosts      int // messages in msgs already expunged in the store
	// last is the folder status seen at the last full comparison; when the
	// store still reports the same counters nothing needs to be listed.
	last storage.FolderStatus
	// keywords are the keywords announced in the FLAGS response.
	keywords map[string]string
	// keywordsDirty asks the next poll to re-check keywords after a STORE.
	keywordsDirty bool
	events        <-chan storage.Event
	cancelWatch   func()
	// searchRes is the saved result of SEARCH RETURN (SAVE) (RFC 5182).
	searchRes imap.UIDSet
	// flagSets are the distinct flag sets of the view (snapMsg.set);
	// flagsByKey and flagsByPtr find them by content and by slice.
	flagSets   [][]string
	flagsByKey map[string]uint32
	flagsByPtr map[*string]uint32
	// farDates are internal dates outside what snapMsg.date holds.
	farDates map[uint32]int64
}

// snapMsg is one message as the client knows it, in 16 bytes: every
// session keeps one per message of its selected folder for as long as it
// stays connected, idle sessions included. Flags are an index into the
// view's table of distinct flag sets (a folder has few: none, \Seen,
// \Seen \Flagged…); see selected.flagsOf and view.
type snapMsg struct {
	uid  uint32
	size uint32 // IMAP sizes are 32-bit (RFC 9051 9: number); the store refuses larger
	// date is the internal date in Unix seconds; dateFar marks one outside
	// 1970–2106, kept in selected.farDates.
	date uint32
	// set indexes selected.flagSets; goneBit is set when the message was
	// expunged by someone else while EXPUNGE responses were not allowed
	// (during FETCH, STORE, SEARCH, RFC 9051 7.5.1): it keeps its sequence
	// number until the next allowed moment.
	set uint32
}

const (
	goneBit = 1 << 31
	dateFar = math.MaxUint32
)

func (m snapMsg) gone() bool { return m.set&goneBit != 0 }

func (m *snapMsg) markGone() { m.set |= goneBit }

// msgView is one message with its flags and dates spelled out, for FETCH
// and SEARCH.
type msgView struct {
	uid   uint32
	size  int64
	date  time.Time // in the server's zone (see toSnap)
	flags []string  // shared: replace, never modify
}

func (sel *selected) view(i int) msgView {
	m := sel.msgs[i]
	return msgView{uid: m.uid, size: int64(m.size), date: sel.dateOf(m), flags: sel.flagsOf(m)}
}

func (sel *selected) dateOf(m snapMsg) time.Time {
	sec := int64(m.date)
	if m.date == dateFar {
		sec = sel.farDates[m.uid]
	}
	return time.Unix(sec, 0).In(time.Local)
}

func (sel *selected) flagsOf(m snapMsg) []string { return sel.flagSets[m.set&^goneBit] }

// setFlags replaces the flags of sel.msgs[i].
func (sel *selected) setFlags(i int, flags []string) {
	m := &sel.msgs[i]
	m.set = m.set&goneBit | sel.intern(flags)
}

// intern returns the index of flags in the flag-set table, adding it if
// new. Slices the store shares between messages are recognised by
// identity, others by content.
func (sel *selected) intern(flags []string) uint32 {
	if len(flags) == 0 {
		return 0 // flagSets[0] is the empty set
	}
	if i, ok := sel.flagsByPtr[&flags[0]]; ok {
		return i
	}
	key := strings.Join(flags, " ")
	i, ok := sel.flagsByKey[key]
	if !ok {
		i = uint32(len(sel.flagSets))
		sel.flagSets = append(sel.flagSets, flags)
		sel.flagsByKey[key] = i
	}
	if len(sel.flagsByPtr) < 4096 { // bounded: flags from STOREs are new slices
		sel.flagsByPtr[&flags[0]] = i
	}
	return i
}

func (sel *selected) close() {
	if sel.cancelWatch != nil {
		sel.cancelWatch()
		sel.cancelWatch = nil
	}
}

// toSnap converts an index row. The internal date is shown in the
// server's zone (Asia/Ho_Chi_Minh in production), which is also the zone
// whose calendar days SEARCH SINCE/BEFORE/ON compare (RFC 9051 2.3.3).
func (sel *selected) toSnap(m storage.MessageInfo) snapMsg {
	sm := snapMsg{uid: m.UID, size: uint32(min(max(m.Size, 0), math.MaxUint32)), set: sel.intern(m.Flags)}
	if sec := m.InternalDate.Unix(); sec >= 0 && sec < dateFar {
		sm.date = uint32(sec)
	} else {
		sm.date = dateFar
		if sel.farDates == nil {
			sel.farDates = map[uint32]int64{}
		}
		sel.farDates[m.UID] = sec
	}
	return sm
}

// newSelected is an empty view of a folder.
func newSelected() *selected {
	return &selected{keywords: map[string]string{}, flagSets: [][]string{nil},
		flagsByKey: map[string]uint32{"": 0}, flagsByPtr: map[*string]uint32{}}
}

// systemFlags are the flags every folder accepts (RFC 9051 2.3.2).
var systemFlags = []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft}

// storeFlags canonicalises flags coming from a client: system flags get
// their standard spelling, \Recent (server-managed, removed in IMAP4rev2)
// and the \* wildcard are dropped.
func storeFlags(flags []imap.Flag) []string {
	out := make([]string, 0, len(flags))
	seen := map[string]bool{}
	for _, f := range flags {
		s := string(f)
		if strings.HasPrefix(s, `\`) {
			canon := ""
			for _, sf := range systemFlags {
				if strings.EqualFold(s, string(sf)) {
					canon = string(sf)
				}
			}
			if canon == "" {
				continue
			}
			s = canon
		}
		if k := strings.ToLower(s); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

func hasFlag(flags []string, flag imap.Flag) bool {
	for _, f := range flags {
		if strings.EqualFold(f, string(flag)) {
			return true
		}
	}
	return false
}

func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, f := range a {
		if !hasFlag(b, imap.Flag(f)) {
			return false
		}
	}
	return true
}

func imapFlags(flags []string) []imap.Flag {
	out := make([]imap.Flag, len(flags))
	for i, f := range flags {
		out[i] = imap.Flag(f)
	}
	return out
}

// mailboxFlags is the FLAGS response: system flags plus known keywords.
func (sel *selected) mailboxFlags() []imap.Flag {
	flags := append([]imap.Flag(nil), systemFlags...)
	kws := make([]string, 0, len(sel.keywords))
	for _, k := range sel.keywords {
		kws = append(kws, k)
	}
	sort.Strings(kws)
	for _, k := range kws {
		flags = append(flags, imap.Flag(k))
	}
	return flags
}

// learnKeywords adds keywords used in msgs and reports whether any is new.
func (sel *selected) learnKeywords() bool {
	changed := false
	// Every flag set of the table is or was used by a message of the view.
	for _, flags := range sel.flagSets {
		for _, f := range flags {
			if strings.HasPrefix(f, `\`) {
				continue
			}
			if k := strings.ToLower(f); sel.keywords[k] == "" {
				sel.keywords[k] = f
				changed = true
			}
		}
	}
	return changed
}

// Select implements SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3).
func (s *session) Select(name string, options *imap.SelectOptions) (data *imap.SelectData, err error) {
	defer s.recoverPanic("SELECT", &err)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	st, err := s.mbox.Status(s.ctx, cleanFolder(name))
	if err != nil {
		return nil, s.fail("SELECT", err)
	}
	// Watch before listing so no change falls between the two.
	events, cancel := s.mbox.Watch(st.Name)
	msgs, err := s.mbox.Messages(s.ctx, st.Name)
	if err != nil {
		cancel()
		return nil, s.fail("SELECT", err)
	}
	sel := newSelected()
	sel.folder, sel.readOnly, sel.uidValidity, sel.last = st.Name, options != nil && options.ReadOnly, st.UIDValidity, st
	sel.events, sel.cancelWatch = events, cancel
	sel.msgs = make([]snapMsg, len(msgs))
	for i, m := range msgs {
		sel.msgs[i] = sel.toSnap(m)
	}
	sel.learnKeywords()
	s.sel = sel

	uidNext := st.UIDNext
	if n := len(msgs); n > 0 && msgs[n-1].UID >= uidNext {
		uidNext = msgs[n-1].UID + 1 // delivered between Status and Messages
	}
	data = &imap.SelectData{
		Flags:       sel.mailboxFlags(),
		NumMessages: uint32(len(msgs)),
		UIDNext:     imap.UID(uidNext),
		UIDValidity: st.UIDValidity,
	}
	if sel.readOnly {
		data.PermanentFlags = []imap.Flag{} // RFC 9051 6.3.3: nothing can change
	} else {
		data.PermanentFlags = append(append([]imap.Flag(nil), systemFlags...), imap.FlagWildcard)
	}
	for i, m := range sel.msgs {
		if !hasFlag(sel.flagsOf(m), imap.FlagSeen) {
			data.FirstUnseenSeqNum = uint32(i + 1) // IMAP4rev1 [UNSEEN]
			break
		}
	}
	return data, nil
}

// Unselect implements UNSELECT and the end of CLOSE (RFC 9051 6.4.2).
func (s *session) Unselect() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	return nil
}

// refresh compares the store with the client's view and writes the
// differences as unilateral responses (RFC 9051 7.4.1 EXPUNGE, 7.3.1
// EXISTS, 7.5.2 FETCH FLAGS). s.mu must be held. Storage errors are logged
// and skipped: an error from Poll would end the connection.
func (s *session) refresh(w *imapserver.UpdateWriter, allowExpunge bool) error {
	sel := s.sel
	if allowExpunge && sel.ghosts > 0 {
		// Report messages found gone during FETCH/STORE/SEARCH, highest
		// sequence number first so each number is valid when sent.
		for i := len(sel.msgs) - 1; i >= 0; i-- {
			if sel.msgs[i].gone() {
				if err := w.WriteExpunge(uint32(i + 1)); err != nil {
					return err
				}
				sel.msgs = append(sel.msgs[:i], sel.msgs[i+1:]...)
			}
		}
		sel.ghosts = 0
	}
	st, err := s.mbox.Status(s.ctx, sel.folder)
	if err != nil {
		if errors.Is(err, mailerr.ErrNoSuchFolder) {
			// Deleted or renamed by another session: the view cannot be
			// kept consistent, so end the session (RFC 9051 7.1.5 BYE).
			s.log.Info("selected folder disappeared", "folder", sel.folder)
			return s.conn.Bye("Selected folder was deleted or renamed")
		}
		s.log.Warn("imap poll status failed", "folder", sel.folder, "err", err)
		return nil
	}
	if st.UIDValidity != sel.uidValidity {
		// RFC 9051 2.3.1.1: UIDs of this view are no longer valid.
		s.log.Info("selected folder UIDVALIDITY changed", "folder", sel.folder)
		return s.conn.Bye("Folder UIDVALIDITY changed, please reconnect")
	}
	unchanged := st.UIDNext == sel.last.UIDNext && st.HighestModSeq == sel.last.HighestModSeq &&
		st.Messages == sel.last.Messages
	if unchanged && !sel.keywordsDirty {
		return nil
	}
	var cur []storage.MessageInfo
	if !unchanged {
		cur, err = s.mbox.Messages(s.ctx, sel.folder)
		if err != nil {
			s.log.Warn("imap poll list failed", "folder", sel.folder, "err", err)
			return nil
		}
		sel.last = st
		if err := s.applyChanges(w, cur, allowExpunge); err != nil {
			return err
		}
	}
	sel.keywordsDirty = false
	if sel.learnKeywords() {
		if err := w.WriteMailboxFlags(sel.mailboxFlags()); err != nil {
			return err
		}
	}
	return nil
}

// applyChanges diffs the view against cur (ordered by UID).
func (s *session) applyChanges(w *imapserver.UpdateWriter, cur []storage.MessageInfo, allowExpunge bool) error {
	sel := s.sel
	byUID := make(map[uint32]int, len(cur))
	for i, m := range cur {
		byUID[m.UID] = i
	}
	var maxUID uint32
	if n := len(sel.msgs); n > 0 {
		maxUID = sel.msgs[n-1].uid
	}
	// Expunged by others.
	for i := len(sel.msgs) - 1; i >= 0; i-- {
		m := &sel.msgs[i]
		if _, ok := byUID[m.uid]; ok || m.gone() {
			continue
		}
		if !allowExpunge {
			m.markGone()
			sel.ghosts++
			continue
		}
		if err := w.WriteExpunge(uint32(i + 1)); err != nil {
			return err
		}
		sel.msgs = append(sel.msgs[:i], sel.msgs[i+1:]...)
	}
	// Flags changed by others.
	for i := range sel.msgs {
		m := sel.msgs[i]
		j, ok := byUID[m.uid]
		if !ok || sameFlags(sel.flagsOf(m), cur[j].Flags) {
			continue
		}
		sel.setFlags(i, cur[j].Flags)
		if err := w.WriteMessageFlags(uint32(i+1), imap.UID(m.uid), imapFlags(cur[j].Flags)); err != nil {
			return err
		}
	}
	// New messages: UIDs only grow (RFC 9051 2.3.1.1).
	added := false
	for _, m := range cur {
		if m.UID > maxUID {
			sel.msgs = append(sel.msgs, sel.toSnap(m))
			added = true
		}
	}
	if added {
		return w.WriteNumMessages(uint32(len(sel.msgs)))
	}
	return nil
}

// resolve maps a sequence or UID set to indexes into sel.msgs, ascending.
// "*" means the last message (RFC 9051 6.4.8, 9 seq-number); "$" is the
// saved search result (RFC 5182).
func (sel *selected) resolve(numSet imap.NumSet) ([]int, error) {
	if imap.IsSearchRes(numSet) {
		numSet = sel.searchRes
	}
	n := uint32(len(sel.msgs))
	var idx []int
	switch set := numSet.(type) {
	case imap.SeqSet:
		mark := make([]bool, n)
		for _, r := range set {
			star := r.Start == 0 || r.Stop == 0
			start, stop := r.Start, r.Stop
			if start == 0 {
				start = n
			}
			if stop == 0 {
				stop = n
			}
			if start > stop {
				start, stop = stop, start
			}
			if stop > n {
				if !star {
					return nil, errBadSeqNum
				}
				stop = n
			}
			for i := max(start, 1); i <= stop; i++ {
				mark[i-1] = true
			}
		}
		for i, ok := range mark {
			if ok {
				idx = append(idx, i)
			}
		}
	case imap.UIDSet:
		var maxUID imap.UID
		if n > 0 {
			maxUID = imap.UID(sel.msgs[n-1].uid)
		}
		static := make(imap.UIDSet, len(set))
		for i, r := range set {
			if r.Start == 0 {
				r.Start = maxUID
			}
			if r.Stop == 0 {
				r.Stop = maxUID
			}
			if r.Start > r.Stop {
				r.Start, r.Stop = r.Stop, r.Start
			}
			static[i] = r
		}
		for i, m := range sel.msgs {
			if static.Contains(imap.UID(m.uid)) {
				idx = append(idx, i)
			}
		}
	}
	return idx, nil
}

// liveUIDs returns the UIDs at idx that still exist in the store.
func (sel *selected) liveUIDs(idx []int) []uint32 {
	uids := make([]uint32, 0, len(idx))
	for _, i := range idx {
		if !sel.msgs[i].gone() {
			uids = append(uids, sel.msgs[i].uid)
		}
	}
	return uids
}

// expungeFromView removes uids from the view, writing one EXPUNGE per
// message, highest sequence number first.
func (sel *selected) expungeFromView(uids []uint32, write func(seq uint32) error) error {
	gone := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		gone[u] = true
	}
	for i := len(sel.msgs) - 1; i >= 0; i-- {
		if !gone[sel.msgs[i].uid] {
			continue
		}
		if sel.msgs[i].gone() {
			sel.ghosts--
		}
		sel.msgs = append(sel.msgs[:i], sel.msgs[i+1:]...)
		if err := write(uint32(i + 1)); err != nil {
			return err
		}
	}
	return nil
}

// Expunge implements EXPUNGE, UID EXPUNGE (RFC 9051 6.4.3, 6.4.9) and the
// silent expunge of CLOSE. In a read-only folder nothing is removed and no
// error is given, as CLOSE requires (RFC 9051 6.4.1).
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) (err error) {
	defer s.recoverPanic("EXPUNGE", &err)
	s.mu.Lock()
	defer s.mu.Unlock()
	sel := s.sel
	if sel == nil || sel.readOnly {
		return nil
	}
	var only []uint32
	if uids != nil {
		idx, err := sel.resolve(*uids)
		if err != nil {
			return err
		}
		if only = sel.liveUIDs(idx); len(only) == 0 {
			return nil
		}
	}
	removed, err := s.mbox.Expunge(s.ctx, sel.folder, only)
	if err != nil {
		return s.fail("EXPUNGE", err)
	}
	return sel.expungeFromView(removed, w.WriteExpunge)
}

// Store implements STORE and UID STORE (RFC 9051 6.4.6).
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, _ *imap.StoreOptions) (err error) {
	defer s.recoverPanic("STORE", &err)
	s.mu.Lock()
	defer s.mu.Unlock()
	sel := s.sel
	if sel.readOnly {
		return errReadOnly
	}
	idx, err := sel.resolve(numSet)
	if err != nil {
		return err
	}
	uids := sel.liveUIDs(idx)
	if len(uids) == 0 {
		return nil
	}
	op := storage.FlagsSet
	switch flags.Op {
	case imap.StoreFlagsAdd:
		op = storage.FlagsAdd
	case imap.StoreFlagsDel:
		op = storage.FlagsRemove
	}
	updated, _, err := s.mbox.SetFlags(s.ctx, sel.folder, uids, op, storeFlags(flags.Flags), 0)
	if err != nil {
		return s.fail("STORE", err)
	}
	_, isUID := numSet.(imap.UIDSet)
	byUID := make(map[uint32]storage.MessageInfo, len(updated))
	for _, m := range updated {
		byUID[m.UID] = m
	}
	sel.keywordsDirty = true
	for _, i := range idx {
		m, ok := byUID[sel.msgs[i].uid]
		if !ok {
			continue
		}
		sel.setFlags(i, m.Flags)
		if flags.Silent {
			continue
		}
		resp := w.CreateMessage(uint32(i + 1))
		if isUID {
			resp.WriteUID(imap.UID(m.UID)) // RFC 9051 6.4.9
		}
		resp.WriteFlags(imapFlags(m.Flags))
		if err := resp.Close(); err != nil {
			return err
		}
	}
	return nil
}

func uidSetOf(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return set
}

// Copy implements COPY and UID COPY with COPYUID (RFC 9051 6.4.7, RFC 4315).
func (s *session) Copy(numSet imap.NumSet, dest string) (data *imap.CopyData, err error) {
	defer s.recoverPanic("COPY", &err)
	s.mu.Lock()
	defer s.mu.Unlock()
	sel := s.sel
	idx, err := sel.resolve(numSet)
	if err != nil {
		return nil, err
	}
	uids := sel.liveUIDs(idx)
	if len(uids) == 0 {
		return nil, nil
	}
	res, err := s.mbox.Copy(s.ctx, sel.folder, uids, cleanFolder(dest))
	if err != nil {
		return nil, s.fail(opCopy, err)
	}
	return &imap.CopyData{
		UIDValidity: res.UIDValidity,
		SourceUIDs:  uidSetOf(res.SourceUIDs),
		DestUIDs:    uidSetOf(res.DestUIDs),
	}, nil
}

// Move implements MOVE and UID MOVE (RFC 9051 6.4.8, RFC 6851): the
// untagged COPYUID first, then one EXPUNGE per moved message.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) (err error) {
	defer s.recoverPanic("MOVE", &err)
	s.mu.Lock()
	defer s.mu.Unlock()
	sel := s.sel
	if sel.readOnly {
		return errReadOnly
	}
	dest = cleanFolder(dest)
	if dest == sel.folder {
		return errSameFolder
	}
	idx, err := sel.resolve(numSet)
	if err != nil {
		return err
	}
	uids := sel.liveUIDs(idx)
	if len(uids) == 0 {
		return nil
	}
	res, err := s.mbox.Move(s.ctx, sel.folder, uids, dest)
	if err != nil {
		return s.fail(opMove, err)
	}
	if err := w.WriteCopyData(&imap.CopyData{
		UIDValidity: res.UIDValidity,
		SourceUIDs:  uidSetOf(res.SourceUIDs),
		DestUIDs:    uidSetOf(res.DestUIDs),
	}); err != nil {
		return err
	}
	return sel.expungeFromView(res.SourceUIDs, w.WriteExpunge)
}
