package account_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"congvu/web/account"
)

func TestSetupPage(t *testing.T) {
	h := account.SetupPage("mail.khanhhoa.gov.vn", []string{"khanhhoa.gov.vn"}, []account.Listener{
		{Service: "IMAP", Addr: "127.0.0.1:2993", Security: "SSL/TLS"},
		{Service: "SMTP <script>", Addr: "127.0.0.1:2465", Security: "SSL/TLS"},
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body, _ := io.ReadAll(rec.Result().Body)
	page := string(body)
	for _, want := range []string{"Hệ thống thư điện tử công vụ", "@khanhhoa.gov.vn", "<td>2993</td>", "<td>mail.khanhhoa.gov.vn</td>", "SMTP &lt;script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if rec.Header().Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy header")
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/nope", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown path: %d", rec.Code)
	}
}
