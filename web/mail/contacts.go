package mail

// Recipient completion: GET /mail/contacts?q=… answers the compose page's
// script with the directory's mailboxes matching what is being typed
// (diacritic-insensitive, people, unit and unit mailboxes), and with the
// recipients typed so far that are outside the state's mail (check=…),
// so that they are marked before anything is sent.

import (
	"context"
	"encoding/json"
	"net/http"

	"congvu/web/core"
)

// Contacts suggests recipients from the directory (the danh bạ behind an
// adapter).
type Contacts interface {
	Suggest(ctx context.Context, q string, limit int) ([]Contact, error)
	// Name is the directory's name of a state address, "" when unknown.
	Name(ctx context.Context, address string) string
}

// Contact is one suggested mailbox.
type Contact struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Unit    string `json:"unit,omitempty"`
	IsUnit  bool   `json:"unit_mailbox,omitempty"`
}

// maxSuggestions bounds one answer.
const maxSuggestions = 10

type contactsAnswer struct {
	Suggestions []Contact `json:"suggestions"`
	Outside     []string  `json:"outside"`
}

func (wb *room) contacts(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	q := r.URL.Query()
	ans := contactsAnswer{Suggestions: []Contact{}, Outside: []string{}}
	if check := q.Get("check"); check != "" && len(check) <= 3*maxAddressBytes {
		if out := wb.outsidersOf(check); out != nil {
			ans.Outside = out
		}
	}
	if term := q.Get("q"); wb.opts.Contacts != nil && term != "" {
		list, err := wb.opts.Contacts.Suggest(r.Context(), cleanText(term, maxTermRunes), maxSuggestions)
		if err != nil {
			wb.Log.Warn("web: recipient suggestions failed", "address", c.Acct.Address, "err", err)
		}
		if list != nil {
			ans.Suggestions = list
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(ans)
}
