package smime

import (
	"reflect"
	"strings"
	"testing"
)

const ourID = "mail.khanhhoa.gov.vn"

func header(fields ...string) []byte {
	return []byte(strings.Join(fields, "") + "From: a@b.vn\r\nSubject: x\r\n\r\nbody with Authentication-Results: " + ourID + "; smime=pass\r\n")
}

func TestStampRoundTrip(t *testing.T) {
	results := []Result{
		{Status: Pass, Part: "1", Identifier: "vanthu.skhcn@khanhhoa.gov.vn", Serial: "5A0C7F01",
			Issuer:     `CN=CA phục vụ các cơ quan Đảng, Nhà nước,O=Ban Cơ yếu Chính phủ,C=VN`,
			SignerName: "Sở Khoa học và Công nghệ (tỉnh Khánh Hòa)", Organization: "UBND tỉnh Khánh Hòa; Sở KH&CN"},
		{Status: Policy, Part: "pdf:Công văn 123/UBND-KT.pdf", Identifier: "thanhnn@angiang.gov.vn", Serial: "01",
			Issuer: `CN=Test "quoted" \ CA 100%`, SignerName: "Nguyễn Ngọc Thành", Organization: "Sở Y tế",
			Reason: "certificate revoked", ReasonVI: "chứng thư số đã bị thu hồi"},
		{Status: Fail, Part: "2.1", Reason: "signature does not verify", ReasonVI: "chữ ký không khớp với nội dung (thư đã bị sửa)"},
	}
	field := StampField(ourID, results)
	for _, line := range strings.Split(strings.TrimSuffix(field, "\r\n"), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line over 998 octets: %q", line)
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Fatalf("stamp is not ASCII: %q", line)
			}
		}
	}
	got := FromHeader(header("Received: by x\r\n", field), ourID)
	if !reflect.DeepEqual(got, results) {
		t.Fatalf("round trip:\n got %#v\nwant %#v\nfield:\n%s", got, results, field)
	}
}

func TestStampNone(t *testing.T) {
	if s := Stamp(nil); s != "smime=none" {
		t.Fatalf("Stamp(nil) = %q", s)
	}
	got := FromHeader(header(StampField(ourID, nil)), ourID)
	if len(got) != 1 || got[0].Status != None || got[0].Valid() {
		t.Fatalf("none: %#v", got)
	}
}

func TestFromHeaderOnlyOurs(t *testing.T) {
	forged := "Authentication-Results: evil.example; smime=pass body.smime-identifier=ceo@khanhhoa.gov.vn\r\n"
	other := "Authentication-Results: " + ourID + ";\r\n\tspf=pass smtp.mailfrom=a@b.vn;\r\n\tdkim=pass header.d=b.vn\r\n"
	if got := FromHeader(header(forged, other), ourID); len(got) != 0 {
		t.Fatalf("foreign or non-smime results read: %#v", got)
	}
	// Case-insensitive authserv-id and field name, folded, with a
	// version and comments where RFC 8601 allows them.
	mixed := "authentication-results:  (ours) MAIL.KhanhHoa.gov.vn 1 ;\r\n  dkim=pass header.d=b.vn;\r\n" +
		"  smime = pass (signer: Nguyen Van A) body.smime-identifier=a@b.vn\r\n   body.smime-part=2\r\n"
	got := FromHeader(header(mixed), ourID)
	want := []Result{{Status: Pass, Identifier: "a@b.vn", Part: "2", SignerName: "Nguyen Van A"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	if !got[0].Valid() {
		t.Fatal("pass is not valid")
	}
	// A stamp in the body is not a header field.
	if got := FromHeader([]byte("From: a@b.vn\r\n\r\nAuthentication-Results: "+ourID+"; smime=pass\r\n"), ourID); len(got) != 0 {
		t.Fatalf("body read as header: %#v", got)
	}
}

func TestFromHeaderUnknownStatus(t *testing.T) {
	got := FromHeader(header("Authentication-Results: "+ourID+"; smime=great\r\n"), ourID)
	if len(got) != 1 || got[0].Status != PermError {
		t.Fatalf("unknown result value: %#v", got)
	}
}

func TestStampInvalidStatus(t *testing.T) {
	if s := Stamp([]Result{{Status: "bogus"}}); !strings.HasPrefix(s, "smime=permerror") {
		t.Fatalf("invalid status stamped as %q", s)
	}
}

func FuzzFromHeader(f *testing.F) {
	f.Add([]byte(StampField(ourID, []Result{{Status: Pass, Part: "1", Identifier: "a@b.vn", SignerName: "Nguyễn"}})), ourID)
	f.Add([]byte("Authentication-Results: x; smime=pass (((\r\n"), "x")
	f.Add([]byte("Authentication-Results: x; smime=\"\\\r\n\t; ;=;(a\\"), "x")
	f.Add([]byte("Authentication-Results: x;smime=fail reason=\"%zz\" body.smime-issuer=\"%C3\"\r\n"), "x")
	f.Fuzz(func(t *testing.T, hdr []byte, id string) {
		rs := FromHeader(hdr, id)
		if len(rs) > maxResults {
			t.Fatalf("%d results", len(rs))
		}
		for _, r := range rs {
			if !validStatus(r.Status) {
				t.Fatalf("invalid status %q", r.Status)
			}
			// What we read back, we can stamp again and read the same.
			again := FromHeader([]byte(StampField("x.vn", []Result{r})), "x.vn")
			if len(again) != 1 || again[0].Status != r.Status {
				t.Fatalf("restamp of %#v gave %#v", r, again)
			}
		}
	})
}
