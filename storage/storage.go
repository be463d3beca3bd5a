// Package storage is congvu's mail store: one Maildir-like directory of
// message files per folder and a SQLite index per user.
//
// The interfaces below are what the protocol daemons use; the implementation
// in this package (Open) is the only one today. Durability contract: when
// Deliver or Append returns nil, the message file and its directory entry have
// been fsynced and the index row committed, so the message survives kill -9
// and power loss.
package storage

import (
	"context"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Special-use folders created for every user (RFC 6154).
const (
	Inbox   = "INBOX"
	Sent    = "Sent"
	Drafts  = "Drafts"
	Trash   = "Trash"
	Junk    = "Junk"
	Archive = "Archive"
)

// Recipient is one delivery target of a message.
type Recipient struct {
	User       string // primary address (directory.Account.Address)
	Folder     string // "" means INBOX
	QuotaBytes int64  // 0 means the store default
	// Flags are set on the stored message (a Sieve rule's imap4flags);
	// an invalid flag fails this recipient's delivery.
	Flags []string
}

// DeliveryResult reports the outcome for one recipient, in the order given.
type DeliveryResult struct {
	UIDValidity uint32
	UID         uint32
	Err         error // *mailerr.Error (e.g. ErrOverQuota) or nil
}

// MessageInfo is the index row of one message, cheap to list.
type MessageInfo struct {
	UID          uint32
	ModSeq       uint64
	Flags        []string // IMAP flags, e.g. `\Seen`, sorted
	InternalDate time.Time
	Size         int64
}

// Cached is what the index keeps so FETCH ENVELOPE / BODYSTRUCTURE and header
// SEARCH do not re-read and re-parse message files.
type Cached struct {
	Envelope      *imap.Envelope
	BodyStructure imap.BodyStructure
	Header        []byte // raw header block, including the final CRLF CRLF
}

// FolderStatus is what LIST/STATUS/SELECT need.
type FolderStatus struct {
	Name          string
	SpecialUse    string // `\Sent`, `\Trash`… or ""
	Subscribed    bool
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	Messages      uint32
	Unseen        uint32
	Deleted       uint32
	Size          int64
}

// FlagOp says how SetFlags applies its flags (RFC 9051 6.4.6).
type FlagOp int

const (
	FlagsSet FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// CopyResult maps source UIDs to new UIDs in the destination (RFC 4315).
type CopyResult struct {
	UIDValidity uint32
	SourceUIDs  []uint32
	DestUIDs    []uint32
}

// Event tells watchers that a folder changed (message added, flags changed,
// expunged). Watchers diff against their own snapshot.
type Event struct {
	Folder string
	ModSeq uint64
}

// Store is the whole mail store.
type Store interface {
	// Deliver stores msg once for each recipient. It returns one result per
	// recipient; the error return is for failures affecting all of them
	// (e.g. the message could not be read).
	Deliver(ctx context.Context, msg io.Reader, rcpts []Recipient) ([]DeliveryResult, error)
	// Mailbox opens a user's mailbox, creating it with the special-use
	// folders on first use. quotaBytes 0 means the store default.
	Mailbox(ctx context.Context, user string, quotaBytes int64) (Mailbox, error)
	// SharedMailbox opens owner's mailbox for another account, reader,
	// whose \Seen flags are its own (a unit's shared mailbox).
	SharedMailbox(ctx context.Context, owner, reader string, quotaBytes int64) (Mailbox, error)
	Close() error
}

// Mailbox is one user's mail. Safe for concurrent use by several sessions.
// Folder names are full IMAP names with "/" as hierarchy separator; "INBOX"
// is case-insensitive. Unknown folders give mailerr.ErrNoSuchFolder.
type Mailbox interface {
	User() string
	Folders(ctx context.Context) ([]FolderStatus, error)
	Status(ctx context.Context, folder string) (FolderStatus, error)
	Create(ctx context.Context, folder string) error
	// CreateSpecialUse creates a folder with a special use such as
	// `\Archive` (RFC 6154 §3); others give ErrUseAttr.
	CreateSpecialUse(ctx context.Context, folder, use string) error
	Delete(ctx context.Context, folder string) error
	Rename(ctx context.Context, from, to string) error
	Subscribe(ctx context.Context, folder string, subscribed bool) error
	// Subscriptions lists every subscribed name, also of folders that were
	// deleted (RFC 9051 §6.3.7: DELETE does not unsubscribe).
	Subscriptions(ctx context.Context) ([]string, error)

	// Append stores a message durably (see package doc). Quota exceeded
	// gives mailerr.ErrOverQuota.
	Append(ctx context.Context, folder string, r io.Reader, flags []string, date time.Time) (DeliveryResult, error)
	// Spool reads a message into the store's spool for AppendSpooled.
	Spool(ctx context.Context, r io.Reader, date time.Time) (*Spooled, error)
	// AppendSpooled appends spooled messages, several atomically (RFC
	// 3502 MULTIAPPEND), with the durability of Append.
	AppendSpooled(ctx context.Context, folder string, msgs []SpooledMessage) ([]DeliveryResult, error)
	// ChangedSince lists the messages of a folder whose MODSEQ is above
	// since (new ones included), ordered by UID.
	ChangedSince(ctx context.Context, folder string, since uint64) ([]MessageInfo, error)
	// Messages lists a folder's messages ordered by UID. The slice and its
	// Flags are shared (with other messages and other callers): callers
	// must not modify them.
	Messages(ctx context.Context, folder string) ([]MessageInfo, error)
	// Open returns the raw RFC 5322 message.
	Open(ctx context.Context, folder string, uid uint32) (io.ReadCloser, error)
	// Cached returns the parsed envelope, body structure and header.
	Cached(ctx context.Context, folder string, uid uint32) (*Cached, error)
	// SetFlags changes flags of the given UIDs and returns their new rows.
	// With unchangedSince > 0, messages whose ModSeq is greater are left
	// alone and returned in failed (RFC 7162 3.1.3).
	SetFlags(ctx context.Context, folder string, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) (updated []MessageInfo, failed []uint32, err error)
	// Expunge removes messages flagged \Deleted; with uids non-nil only
	// those among them (UID EXPUNGE). Returns the removed UIDs.
	Expunge(ctx context.Context, folder string, uids []uint32) ([]uint32, error)
	Copy(ctx context.Context, from string, uids []uint32, to string) (CopyResult, error)
	// Move is Copy + expunge of the sources, atomically in the index.
	Move(ctx context.Context, from string, uids []uint32, to string) (CopyResult, error)
	// ClaimRecent returns the first \Recent UID of folder for the caller
	// (RFC 3501 §2.3.2): messages from it to uidNext-1 are \Recent in the
	// caller's session. With claim they stop being \Recent for others.
	ClaimRecent(ctx context.Context, folder string, uidNext uint32, claim bool) (uint32, error)
	// Vanished returns the UIDs expunged from folder with a MODSEQ above
	// since, ascending; complete is false when the bounded log no longer
	// reaches back to since (RFC 7162 §3.2.5.2).
	Vanished(ctx context.Context, folder string, since uint64) (uids []uint32, complete bool, err error)
	// Quota returns bytes used and the limit.
	Quota(ctx context.Context) (used, limit int64, err error)
	// Usage returns the bytes and messages held and their limits.
	Usage(ctx context.Context) (Usage, error)
	// Watch delivers an Event whenever the folder changes, until cancel is
	// called. The channel is buffered and coalescing: a slow reader misses
	// no change, it just sees fewer events.
	Watch(folder string) (events <-chan Event, cancel func())
}
