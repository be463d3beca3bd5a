package danhba

import (
	"crypto/x509"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// attachCertificate adds the official's published S/MIME certificate
// (RFC 2798 userSMIMECertificate, as `congvu cert import` published it)
// to the entry, so colleagues' mail clients can encrypt to them.
func (e *entry) attachCertificate(der []byte, now time.Time) {
	if der == nil {
		return
	}
	e.Cert = der
	e.CertHref = "danhba.cer?" + url.Values{"address": {e.Address}}.Encode()
	if c, err := x509.ParseCertificate(der); err == nil && now.After(c.NotAfter) {
		e.CertExpired = true
	}
}

// serveCertificate answers GET /danhba.cer?address=…: the official's
// certificate as application/pkix-cert (RFC 2585 §4.1), which Windows,
// macOS and Thunderbird import with a double click.
func serveCertificate(w http.ResponseWriter, r *http.Request, s *snapshot, d *Directory) {
	address := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("address")))
	i, ok := s.byAddress[address]
	if !ok || s.entries[i].Cert == nil {
		d.message(w, http.StatusNotFound, "Địa chỉ này không có chứng thư số được công bố.", "No certificate is published for this address.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/pkix-cert")
	h.Set("Content-Disposition", `attachment; filename="`+fileSafe(address)+`.cer"`)
	h.Set("Cache-Control", "public, max-age=30")
	w.Write(s.entries[i].Cert)
}
