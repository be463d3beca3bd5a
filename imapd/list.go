package imapd

import (
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"congvu/storage"
)

// listEntry is one LIST candidate: a folder, or a hierarchy level that only
// exists because it has children (returned with \Noselect).
type listEntry struct {
	storage.FolderStatus
	virtual bool
}

// List implements LIST (RFC 9051 6.3.9) with LIST-EXTENDED selection and
// return options (RFC 5258), SPECIAL-USE (RFC 6154), LIST-STATUS
// (RFC 5819) and CHILDREN (RFC 3348); the library routes LSUB here too.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) (err error) {
	defer s.recoverPanic("LIST", &err)
	if len(patterns) == 0 {
		// RFC 9051 6.3.9: LIST "" "" asks for the hierarchy delimiter.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: delim})
	}
	folders, err := s.mbox.Folders(s.ctx)
	if err != nil {
		return s.fail("LIST", err)
	}
	entries, hasChildren, subscribedChild := listEntries(folders)
	for _, e := range entries {
		if !matchAny(e.Name, ref, patterns) {
			continue
		}
		var childInfo *imap.ListDataChildInfo
		if options.SelectSubscribed && !e.Subscribed {
			// RFC 5258 3.5: with RECURSIVEMATCH a parent of subscribed
			// folders is returned with CHILDINFO ("SUBSCRIBED").
			if !options.SelectRecursiveMatch || !subscribedChild[e.Name] {
				continue
			}
			childInfo = &imap.ListDataChildInfo{Subscribed: true}
		}
		if e.virtual && (options.SelectSubscribed || options.SelectSpecialUse) && childInfo == nil {
			continue
		}
		if options.SelectSpecialUse && e.SpecialUse == "" {
			continue
		}
		data := &imap.ListData{Mailbox: e.Name, Delim: delim, ChildInfo: childInfo}
		if e.virtual {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect)
		}
		if hasChildren[e.Name] {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if e.Subscribed && (options.SelectSubscribed || options.ReturnSubscribed) {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		// RFC 6154 2: special-use attributes are returned in every LIST,
		// clients such as Thunderbird and iOS Mail rely on it.
		if e.SpecialUse != "" {
			data.Attrs = append(data.Attrs, imap.MailboxAttr(e.SpecialUse))
		}
		if options.ReturnStatus != nil && !e.virtual {
			data.Status = s.statusData(e.FolderStatus, options.ReturnStatus)
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

// listEntries orders folders (INBOX first) and adds missing hierarchy
// levels. It also reports which names have children and which have a
// subscribed descendant.
func listEntries(folders []storage.FolderStatus) (entries []listEntry, hasChildren, subscribedChild map[string]bool) {
	hasChildren = map[string]bool{}
	subscribedChild = map[string]bool{}
	exists := map[string]bool{}
	for _, f := range folders {
		exists[f.Name] = true
	}
	for _, f := range folders {
		entries = append(entries, listEntry{FolderStatus: f})
		for i := 0; i < len(f.Name); i++ {
			if f.Name[i] != delim {
				continue
			}
			parent := f.Name[:i]
			hasChildren[parent] = true
			if f.Subscribed {
				subscribedChild[parent] = true
			}
			if !exists[parent] {
				exists[parent] = true
				entries = append(entries, listEntry{FolderStatus: storage.FolderStatus{Name: parent}, virtual: true})
			}
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i].Name, entries[j].Name
		if (a == storage.Inbox) != (b == storage.Inbox) {
			return a == storage.Inbox
		}
		return a < b
	})
	return entries, hasChildren, subscribedChild
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if listMatch(name, ref, p) {
			return true
		}
	}
	return false
}

// listMatch applies LIST wildcards (RFC 9051 6.3.9); INBOX matches in any
// case, as its name is case-insensitive (RFC 9051 5.1).
func listMatch(name, ref, pattern string) bool {
	if imapserver.MatchList(name, delim, ref, pattern) {
		return true
	}
	if name != storage.Inbox && !strings.HasPrefix(name, storage.Inbox+string(delim)) {
		return false
	}
	return imapserver.MatchList(name, delim, upperInbox(ref), upperInbox(pattern))
}

// upperInbox upper-cases a leading "inbox" hierarchy component.
func upperInbox(s string) string {
	n := len(storage.Inbox)
	if len(s) >= n && strings.EqualFold(s[:n], storage.Inbox) && (len(s) == n || s[n] == delim) {
		return storage.Inbox + s[n:]
	}
	return s
}
