package mail

import (
	"congvu/addressbook"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"congvu/storage"
	"congvu/web/core"
	"congvu/web/danhba"
	"congvu/web/webtest"
)

func TestMailBannersNamesQuota(t *testing.T) {
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &mailEnv{store: st}
	e.Env = webtest.New(t, nil, func(s *core.Site) {
		Register(s, Options{Mail: st, AuthservID: "mail.khanhhoa.gov.vn",
			Contacts: danhbaContacts{danhba.New(addressbook.New(s.Dir(), addressbook.Options{}), danhba.Options{})}})
	})
	outside := e.appendMsg(anAddr, "INBOX", `
From: Ngân hàng <thongbao@nganhang-xac-thuc.com>
Subject: Xác nhận tài khoản
Authentication-Results: mail.khanhhoa.gov.vn;
	dmarc=pass header.from=nganhang-xac-thuc.com

Bấm vào liên kết.
`)
	spoof := e.appendMsg(anAddr, "INBOX", `
From: "chutich@khanhhoa.gov.vn" <hieu.tran@gmail.com>
Subject: Gấp

Gửi tôi danh sách.
`)
	forged := e.appendMsg(anAddr, "Junk", `
From: =?UTF-8?Q?Ch=E1=BB=A7_t=E1=BB=8Bch?= <`+ducAddr+`>
Subject: Chuyển khoản
Authentication-Results: mail.khanhhoa.gov.vn;
	dmarc=fail (p=reject) header.from=khanhhoa.gov.vn
Authentication-Results: mail.khanhhoa.gov.vn.evil; dmarc=pass header.from=khanhhoa.gov.vn
X-Congvu-Junk-Reason: DMARC fail for khanhhoa.gov.vn (policy reject)

Chuyển khoản ngay.
`)
	colleague := e.appendMsg(anAddr, "INBOX", `
From: "Ai Đó" <`+ducAddr+`>
Subject: Lịch họp

Họp lúc 8 giờ.
`)
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	view := func(folder string, uid uint32) string {
		t.Helper()
		r := b.Get(fmt.Sprintf("/mail/msg?folder=%s&uid=%d", folder, uid))
		expect(t, r, 200)
		return r.Body
	}
	has := func(body, id string) bool { return strings.Contains(body, `id="`+id+`"`) }
	v := view("INBOX", outside)
	if !has(v, "banner-outside") || has(v, "banner-dmarc") || has(v, "banner-name") {
		t.Errorf("outside sender: banners wrong:\n%.2000s", v)
	}
	v = view("INBOX", spoof)
	if !has(v, "banner-name") || !strings.Contains(v, "chutich@khanhhoa.gov.vn") || !has(v, "banner-outside") {
		t.Errorf("display name spoof: no banner")
	}
	v = view("Junk", forged)
	if !has(v, "banner-dmarc") || !has(v, "banner-junk") || !strings.Contains(v, "DMARC fail for khanhhoa.gov.vn (policy reject)") {
		t.Errorf("DMARC fail in Junk: banners missing")
	}
	if has(v, "banner-outside") {
		t.Error("a state address got the outside banner")
	}
	// The directory's name, not the one the message gives.
	if !strings.Contains(v, "Lê Văn Đức") || strings.Contains(v, "Chủ tịch &lt;") {
		t.Errorf("sender name not from the directory")
	}
	v = view("INBOX", colleague)
	if len(regexpBanner.FindAllString(v, -1)) != 0 {
		t.Errorf("a colleague's message has banners")
	}
	list := b.Get("/mail?folder=INBOX")
	if !strings.Contains(list.Body, "Lê Văn Đức") || strings.Contains(list.Body, "Ai Đó") {
		t.Errorf("the list shows the message's name for a colleague")
	}
	if !strings.Contains(list.Body, `id="quota"`) || !strings.Contains(list.Body, "/ 941,9 MB") {
		t.Errorf("no quota in the list:\n%.3000s", list.Body)
	}
}

var regexpBanner = regexp.MustCompile(`id="banner-[a-z]+"`)
