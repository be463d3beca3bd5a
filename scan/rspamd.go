package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Rspamd talks to an rspamd normal worker (or proxy in self-scan mode).
type Rspamd struct {
	URL     string // "http://127.0.0.1:11333"
	Timeout time.Duration
	Client  *http.Client // nil: a client with Timeout
}

// Envelope is what rspamd is told about the transaction (its HTTP
// request headers, https://rspamd.com/doc/developers/protocol.html).
type Envelope struct {
	IP    string
	HELO  string
	From  string
	Rcpts []string
	User  string // the authenticated sender on submission
	ID    string // our transaction id, for rspamd's log
}

// SpamResult is rspamd's verdict.
type SpamResult struct {
	Action        string // "no action", "greylist", "add header", "rewrite subject", "soft reject", "reject"
	Score         float64
	RequiredScore float64
	Symbols       []string // names of the symbols that scored, highest first
}

type checkV2 struct {
	Action        string  `json:"action"`
	Score         float64 `json:"score"`
	RequiredScore float64 `json:"required_score"`
	Symbols       map[string]struct {
		Score float64 `json:"score"`
	} `json:"symbols"`
}

// Check posts the message to /checkv2.
func (c *Rspamd) Check(ctx context.Context, env Envelope, msg io.Reader) (*SpamResult, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.URL, "/")+"/checkv2", msg)
	if err != nil {
		return nil, err
	}
	set := func(k, v string) {
		// Header values from the client (HELO, addresses) must not
		// break the request: drop control characters.
		v = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, v)
		if v != "" {
			req.Header.Add(k, v)
		}
	}
	set("IP", env.IP)
	set("Helo", env.HELO)
	set("From", env.From)
	for _, r := range env.Rcpts {
		set("Rcpt", r)
	}
	set("User", env.User)
	set("Queue-Id", env.ID)
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: rspamd: %v", ErrUnavailable, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return nil, fmt.Errorf("%w: rspamd: %s %s", ErrUnavailable, res.Status, strings.TrimSpace(string(b)))
	}
	var v checkV2
	if err := json.NewDecoder(io.LimitReader(res.Body, 4<<20)).Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: rspamd reply: %v", ErrUnavailable, err)
	}
	out := &SpamResult{Action: v.Action, Score: v.Score, RequiredScore: v.RequiredScore}
	for name, s := range v.Symbols {
		if s.Score != 0 {
			out.Symbols = append(out.Symbols, name)
		}
	}
	slices.SortFunc(out.Symbols, func(a, b string) int {
		sa, sb := v.Symbols[a].Score, v.Symbols[b].Score
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return strings.Compare(a, b)
	})
	return out, nil
}
