package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPSRedirect(t *testing.T) {
	h := HTTPSRedirect("8443")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:8080/login?x=1", nil))
	if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != "https://127.0.0.1:8443/login?x=1" {
		t.Errorf("GET: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "http://127.0.0.1:8080/login", strings.NewReader("password=x")))
	if rec.Code != http.StatusForbidden || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "HTTPS") {
		t.Errorf("POST over plain HTTP: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	HTTPSRedirect("").ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:8080/login", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("without an HTTPS listener: %d", rec.Code)
	}
}
