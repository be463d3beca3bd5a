package msgauth

import "testing"

func TestLookalikes(t *testing.T) {
	l := newLookalikes([]string{"khanhhoa.gov.vn", "bocongan.gov.vn"})
	for _, d := range []string{
		"khanhhoa-gov.vn", "khanhhoagov.vn", "khanhh0a.gov.vn", "KHANHHOA.GOV.VN.evil.example",
		"khánhhòa.gov.vn", "xn--khnhha-qta3l.gov.vn", // the same, as punycode
		"khаnhhoa.gov.vn", // Cyrillic а
		"b0c0ngan.gov.vn", "bocongan-gov.vn",
	} {
		if l.match(d) == "" {
			t.Errorf("%s not recognised as a lookalike", d)
		}
	}
	for _, d := range []string{"khanhhoa.gov.vn", "sotnmt.khanhhoa.gov.vn", "angiang.gov.vn", "gmail.com", "khanhhoa.vn", "hoa.gov.vn"} {
		if p := l.match(d); p != "" {
			t.Errorf("%s taken for a lookalike of %s", d, p)
		}
	}
}
