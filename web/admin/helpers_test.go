package admin

import (
	"testing"

	"congvu/web/core"
	"congvu/web/webtest"
)

const (
	secretPW = webtest.SecretPW
	anAddr   = webtest.AnAddr
	ducAddr  = webtest.DucAddr
)

var expect = webtest.Expect

// coreOptions names the site's options beside the admin pages' own in
// testOptions.
type coreOptions = core.Options

// testOptions are the options a test may tune: the site's and the admin
// pages'.
type testOptions struct {
	*coreOptions
	*Options
}

// newWebEnv starts the site with the admin pages.
func newWebEnv(t *testing.T, tune func(*testOptions)) *webtest.Env {
	opts := Options{Domains: []string{"khanhhoa.gov.vn"}}
	return webtest.New(t, func(o *core.Options) {
		if tune != nil {
			tune(&testOptions{coreOptions: o, Options: &opts})
		}
	}, func(s *core.Site) { Register(s, opts) })
}
