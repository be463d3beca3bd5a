package imapd

import (
	"math"
	"sort"
	"strings"
	"time"

	"congvu/imapd/wire"
	"congvu/storage"
)

// selected is a session's view of its selected folder. msgs is the
// client's idea of the folder: msgs[i] has sequence number i+1. It only
// changes when the client is told (EXISTS, EXPUNGE), which keeps the
// seq↔UID mapping of RFC 9051 §2.3.1.2 correct whatever other sessions do.
type selected struct {
	// mbox is the mailbox the folder is in: the user's own, or a unit's
	// shared mailbox opened for the user; name is the folder's name as
	// the client knows it, rights the user's rights on it (RFC 4314).
	mbox        storage.Mailbox
	name        string
	rights      string
	folder      string
	readOnly    bool
	uidValidity uint32
	msgs        []snapMsg
	ghosts      int // messages in msgs already expunged in the store
	// last is the folder status seen at the last full comparison; when the
	// store still reports the same counters nothing needs to be listed.
	last      storage.FolderStatus
	lastCheck time.Time
	// keywords are the keywords announced in the FLAGS response.
	keywords map[string]string
	// dirty asks the next poll to compare with the store: a change event
	// arrived or this session changed the folder.
	dirty       bool
	events      <-chan storage.Event
	cancelWatch func()
	// wakes: the store wakes a parked IDLE on changes (park.go).
	wakes bool
	// searchRes is the saved result of SEARCH RETURN (SAVE) (RFC 5182),
	// as UIDs.
	searchRes []uint32
	// flagSets are the distinct flag sets of the view (snapMsg.set);
	// flagsByKey and flagsByPtr find them by content and by slice.
	flagSets   [][]string
	flagsByKey map[string]uint32
	flagsByPtr map[*string]uint32
	// farDates are internal dates outside what snapMsg.date holds.
	farDates map[uint32]int64
	// recent are the UID ranges [lo, hi) that are \Recent in this session
	// (RFC 3501 §2.3.2); usually one or two.
	recent [][2]uint32
}

// addRecent marks UIDs lo..hi-1 \Recent in this session.
func (sel *selected) addRecent(lo, hi uint32) {
	if lo >= hi {
		return
	}
	if n := len(sel.recent); n > 0 && sel.recent[n-1][1] >= lo {
		sel.recent[n-1][1] = max(sel.recent[n-1][1], hi)
		return
	}
	sel.recent = append(sel.recent, [2]uint32{lo, hi})
}

func (sel *selected) isRecent(uid uint32) bool {
	for _, r := range sel.recent {
		if uid >= r[0] && uid < r[1] {
			return true
		}
	}
	return false
}

// recentCount counts the view's \Recent messages.
func (sel *selected) recentCount() uint32 {
	if len(sel.recent) == 0 {
		return 0
	}
	var n uint32
	for _, m := range sel.msgs {
		if !m.gone() && sel.isRecent(m.uid) {
			n++
		}
	}
	return n
}

// snapMsg is one message as the client knows it, in 16 bytes: every
// session keeps one per message of its selected folder for as long as it
// stays connected, idle sessions included. Flags are an index into the
// view's table of distinct flag sets (a folder has few: none, \Seen,
// \Seen \Flagged…); see selected.flagsOf and view.
type snapMsg struct {
	uid  uint32
	size uint32 // IMAP sizes are 32-bit (RFC 9051 §9: number); the store refuses larger
	// date is the internal date in Unix seconds; dateFar marks one outside
	// 1970–2106, kept in selected.farDates.
	date uint32
	// set indexes selected.flagSets; goneBit is set when the message was
	// expunged by someone else while EXPUNGE responses were not allowed
	// (during FETCH, STORE, SEARCH, RFC 9051 §7.5.1): it keeps its sequence
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
// whose calendar days SEARCH SINCE/BEFORE/ON compare (RFC 9051 §2.3.3).
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

// systemFlags are the flags every folder accepts (RFC 9051 §2.3.2).
var systemFlags = []string{`\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`}

// storeFlags canonicalises flags coming from a client: system flags get
// their standard spelling, \Recent (server-managed) and the \* wildcard
// are dropped, duplicates removed.
func storeFlags(flags []string) []string {
	out := make([]string, 0, len(flags))
	seen := map[string]bool{}
	for _, s := range flags {
		if strings.HasPrefix(s, `\`) {
			canon := ""
			for _, sf := range systemFlags {
				if strings.EqualFold(s, sf) {
					canon = sf
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

func hasFlag(flags []string, flag string) bool {
	for _, f := range flags {
		if strings.EqualFold(f, flag) {
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
		if !hasFlag(b, f) {
			return false
		}
	}
	return true
}

// writeFlagList writes "(" flags ")".
func writeFlagList(w *wire.Writer, flags []string) {
	w.Byte('(')
	for i, f := range flags {
		if i > 0 {
			w.SP()
		}
		w.Raw(f)
	}
	w.Byte(')')
}

// mailboxFlags is the FLAGS response: system flags plus known keywords.
func (sel *selected) mailboxFlags() []string {
	flags := append([]string(nil), systemFlags...)
	kws := make([]string, 0, len(sel.keywords))
	for _, k := range sel.keywords {
		kws = append(kws, k)
	}
	sort.Strings(kws)
	return append(flags, kws...)
}

// learnKeywords adds the keywords of flags and reports whether any is new.
func (sel *selected) learnKeywords(flags []string) bool {
	changed := false
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			continue
		}
		if k := strings.ToLower(f); sel.keywords[k] == "" {
			sel.keywords[k] = f
			changed = true
		}
	}
	return changed
}

// learnAllKeywords learns the keywords of every flag set of the view.
func (sel *selected) learnAllKeywords() bool {
	changed := false
	for _, flags := range sel.flagSets {
		changed = sel.learnKeywords(flags) || changed
	}
	return changed
}

// resolve maps a sequence or UID set to indexes into sel.msgs, ascending.
// "*" means the last message (RFC 9051 §6.4.8, §9 seq-number); "$" is the
// saved search result (RFC 5182). A sequence number beyond the view is a
// client error (RFC 9051 §9: seq-number must be valid).
func (sel *selected) resolve(set wire.NumSet, uid bool) ([]int, error) {
	if set.SearchRes {
		return sel.resolveUIDs(sel.searchRes), nil
	}
	n := uint32(len(sel.msgs))
	if uid {
		var maxUID uint32
		if n > 0 {
			maxUID = sel.msgs[n-1].uid
		}
		var idx []int
		for i, m := range sel.msgs {
			if setContains(set, m.uid, maxUID) {
				idx = append(idx, i)
			}
		}
		return idx, nil
	}
	mark := make([]bool, n)
	for _, r := range set.Ranges {
		star := r.Start == 0 || r.Stop == 0
		start, stop := orStar(r.Start, n), orStar(r.Stop, n)
		if start > stop {
			start, stop = stop, start
		}
		if stop > n {
			if !star {
				return nil, bad("", "Invalid message sequence number (the folder has "+itoa(n)+" messages)")
			}
			stop = n // RFC 9051 §6.4.8: "*" is the last message; 5:* is 3:5 in 3 messages
		}
		if start == 0 {
			continue // "*" in an empty folder matches nothing
		}
		for i := start; i <= stop; i++ {
			mark[i-1] = true
		}
	}
	var idx []int
	for i, ok := range mark {
		if ok {
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// resolveUIDs returns the indexes of the view's messages with those UIDs.
func (sel *selected) resolveUIDs(uids []uint32) []int {
	want := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		want[u] = true
	}
	var idx []int
	for i, m := range sel.msgs {
		if want[m.uid] {
			idx = append(idx, i)
		}
	}
	return idx
}

// orStar replaces the "*" marker (0) by max.
func orStar(v, max uint32) uint32 {
	if v == 0 {
		return max
	}
	return v
}

// setContains reports whether n is in set, "*" being star.
func setContains(set wire.NumSet, n, star uint32) bool {
	for _, r := range set.Ranges {
		a, b := orStar(r.Start, star), orStar(r.Stop, star)
		if a > b {
			a, b = b, a
		}
		if n >= a && n <= b {
			return true
		}
	}
	return false
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

func itoa(n uint32) string {
	var buf [10]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}

// uidSetString formats UIDs (any order) as a compact sequence set.
func uidSetString(uids []uint32) string {
	s := append([]uint32(nil), uids...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] <= s[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(itoa(s[i]))
		if s[j] != s[i] {
			b.WriteByte(':')
			b.WriteString(itoa(s[j]))
		}
		i = j + 1
	}
	return b.String()
}
