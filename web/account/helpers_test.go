package account_test

import (
	"testing"

	"congvu/web/admin"
	"congvu/web/core"
	"congvu/web/mail"
	"congvu/web/webtest"
)

const (
	secretPW = webtest.SecretPW
	anAddr   = webtest.AnAddr
	ducAddr  = webtest.DucAddr
)

var expect = webtest.Expect

// newWebEnv starts the site with the account pages and the other rooms
// (whose paths the forced password change must also hold back).
func newWebEnv(t *testing.T, tune func(*core.Options)) *webtest.Env {
	return webtest.New(t, tune, func(s *core.Site) {
		admin.Register(s, admin.Options{Domains: []string{"khanhhoa.gov.vn"}})
		mail.Register(s, mail.Options{})
	})
}
