package server

import (
	"net/http"
	"strings"
	"time"

	"congvu/export"
	"congvu/policy"
	"congvu/storage"
	"congvu/web/core"
)

// exportPath is where a signed-in official downloads their own mailbox.
const exportPath = "/mail/export.mbox"

// mountExport adds the webmail's download of one's own mailbox as mbox
// (every folder, folder names in X-Congvu-Folder; package export).
func mountExport(site *core.Site, store storage.Store, audit *policy.Engine) {
	site.Handle("GET "+exportPath, site.Authed(func(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
		mb, err := store.Mailbox(r.Context(), c.Acct.Address, c.Acct.QuotaBytes)
		if err != nil {
			site.Fail(w, "export", err)
			return
		}
		core.SetPrivateHeaders(w.Header(), r)
		w.Header().Set("Content-Type", "application/mbox")
		name := strings.ReplaceAll(c.Acct.Address, "@", "_") + "-" + time.Now().Format("20060102") + ".mbox"
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		audit.Audit(r.Context(), policy.AuditEntry{Actor: c.Acct.Address, Subject: c.Acct.Address,
			Action: "export", Protocol: policy.Web, IP: core.ClientIP(r).String(), Detail: "mbox download"})
		// A large mailbox takes longer than the listener's write timeout:
		// each write moves the deadline instead.
		dw := &deadlineWriter{w: w, rc: http.NewResponseController(w)}
		if _, err := export.Mbox(r.Context(), dw, mb, nil); err != nil {
			site.Log.Warn("web: mailbox export failed", "address", c.Acct.Address, "err", err)
		}
	}))
}

// deadlineWriter extends the connection's write deadline before each
// write, so a slow but steady download is not cut off.
type deadlineWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.rc.SetWriteDeadline(time.Now().Add(time.Minute))
	return d.w.Write(p)
}
