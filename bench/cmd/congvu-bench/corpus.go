package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// corpus generates a reproducible mailbox of official mail: Vietnamese
// text, a mix of plain, quoted-printable, multipart/alternative and
// messages with attachments (average about 7 KB), delivered over a span of
// dates. One message in rareEvery contains rareWord, for SEARCH BODY/TEXT.
type corpus struct {
	seed      uint64
	domain    string
	people    []string
	rareEvery int
}

// rareWord appears in only a few messages of a corpus (see corpus.rareEvery).
const rareWord = "tuyetmat7931"

var (
	subjects = []string{
		"Về việc triển khai hệ thống thư điện tử công vụ",
		"Giấy mời họp giao ban tuần",
		"Báo cáo tình hình kinh tế - xã hội tháng",
		"Công văn đề nghị phối hợp kiểm tra",
		"Kế hoạch cải cách hành chính năm 2026",
		"Thông báo lịch tiếp công dân",
		"V/v góp ý dự thảo quyết định",
		"Quyết định phê duyệt dự toán ngân sách",
		"Tờ trình đề nghị bổ sung kinh phí",
		"Re: Danh sách cán bộ tham gia tập huấn",
		"Fwd: Hướng dẫn chuyển đổi số cấp xã",
		"Báo cáo kết quả thực hiện Nghị quyết",
	}
	words = strings.Fields(`ủy ban nhân dân tỉnh sở nội vụ tài chính kế hoạch đầu tư văn phòng phòng
		ban ngành đoàn thể cán bộ công chức viên chức triển khai thực hiện kế hoạch báo cáo kết quả
		đề nghị phối hợp kiểm tra giám sát hướng dẫn quy định nghị định thông tư quyết định chỉ thị
		công văn tờ trình giấy mời cuộc họp giao ban thời gian địa điểm thành phần nội dung chương trình
		dự toán ngân sách kinh phí hồ sơ thủ tục hành chính cải cách chuyển đổi số dịch vụ công trực tuyến
		người dân doanh nghiệp xã phường huyện thị xã thành phố trung ương địa phương tiến độ hoàn thành
		trước ngày tháng năm đồng chí trưởng phó giám đốc chủ tịch bí thư văn thư lưu trữ đính kèm
		xin trân trọng cảm ơn kính gửi nơi nhận như trên lưu vt tổng hợp số liệu đánh giá nhận xét`)
)

// message returns message i of the corpus, dated date.
func (c *corpus) message(i int, date time.Time) []byte {
	r := rand.New(rand.NewPCG(c.seed, uint64(i)))
	from := c.people[r.IntN(len(c.people))]
	to := c.people[r.IntN(len(c.people))]
	var b bytes.Buffer
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", from)
	fmt.Fprintf(&b, "Received: from mail.%s by mx.%s with ESMTPS id %08x; %s\r\n", c.domain, c.domain, r.Uint32(), date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s <%s>\r\n", encodeWord(displayName(from)), from)
	fmt.Fprintf(&b, "To: %s <%s>\r\n", encodeWord(displayName(to)), to)
	if r.IntN(3) == 0 {
		fmt.Fprintf(&b, "Cc: <%s>, <%s>\r\n", c.people[r.IntN(len(c.people))], c.people[r.IntN(len(c.people))])
	}
	fmt.Fprintf(&b, "Subject: %s\r\n", encodeWord(fmt.Sprintf("%s số %d/%s", subjects[r.IntN(len(subjects))], 100+r.IntN(9000), "UBND-VP")))
	fmt.Fprintf(&b, "Message-ID: <bench-%d-%d@%s>\r\n", c.seed, i, c.domain)
	b.WriteString("MIME-Version: 1.0\r\n")
	text := c.text(r, 1000+r.IntN(5000))
	if c.rareEvery > 0 && i%c.rareEvery == c.rareEvery/2 {
		text += "\r\nMã hồ sơ: " + rareWord + "\r\n"
	}
	switch k := r.IntN(10); {
	case k < 4: // plain 8bit
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(text)
	case k < 7: // plain quoted-printable (what Outlook and many webmails send)
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		writeQP(&b, text)
	case k < 9: // alternative text + HTML
		bd := fmt.Sprintf("=_alt_%d", i)
		fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", bd)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", bd)
		writeQP(&b, text)
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", bd)
		writeQP(&b, "<html><body><p>"+strings.ReplaceAll(text, "\r\n", "</p>\r\n<p>")+"</p></body></html>")
		fmt.Fprintf(&b, "\r\n--%s--\r\n", bd)
	default: // text + attachment
		bd := fmt.Sprintf("=_mixed_%d", i)
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", bd)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n", bd, text)
		att := make([]byte, 8000+r.IntN(24000))
		for j := range att {
			att[j] = byte(r.Uint32())
		}
		fmt.Fprintf(&b, "--%s\r\nContent-Type: application/pdf; name=\"cong-van-%d.pdf\"\r\nContent-Disposition: attachment; filename=\"cong-van-%d.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", bd, i, i)
		enc := base64.StdEncoding.EncodeToString(att)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
		fmt.Fprintf(&b, "--%s--\r\n", bd)
	}
	return b.Bytes()
}

// text returns about n bytes of Vietnamese-looking prose in CRLF lines.
func (c *corpus) text(r *rand.Rand, n int) string {
	var b strings.Builder
	b.WriteString("Kính gửi: Các đồng chí,\r\n\r\n")
	line := 0
	for b.Len() < n {
		w := words[r.IntN(len(words))]
		if line+len(w) > 72 {
			b.WriteString("\r\n")
			line = 0
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\r\n\r\nTrân trọng./.\r\n")
	return b.String()
}

func displayName(addr string) string {
	local, _, _ := strings.Cut(addr, "@")
	local, _, _ = strings.Cut(local, ".")
	return "Cán bộ " + local
}

// encodeWord is an RFC 2047 B encoded-word when s is not ASCII.
func encodeWord(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return "=?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
		}
	}
	return s
}

func writeQP(b *bytes.Buffer, s string) {
	w := quotedprintable.NewWriter(b)
	w.Write([]byte(s))
	w.Close()
}

// maildirStats describes a generated Maildir.
type maildirStats struct {
	Messages int   `json:"messages"`
	Bytes    int64 `json:"bytes"`
	Rare     int   `json:"rare_word_messages"` // messages containing rareWord
	// Since is a SEARCH SINCE date matching about the last 5% of messages.
	Since time.Time `json:"since"`
}

// writeMaildir writes n messages of c into dir/cur (Maildir), dated evenly
// from first to last, with typical flags in the file names (most read, some
// flagged or answered). Files are not fsynced: this is test data.
func writeMaildir(dir string, c *corpus, n int, first, last time.Time) (maildirStats, error) {
	st := maildirStats{Messages: n}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return st, err
		}
	}
	span := last.Sub(first)
	for i := range n {
		date := first.Add(time.Duration(float64(span) * float64(i) / float64(max(n-1, 1)))).Truncate(time.Second)
		msg := c.message(i, date)
		flags := "S"
		switch i % 20 {
		case 0, 1, 2:
			flags = "" // unread
		case 3:
			flags = "FS"
		case 4, 5:
			flags = "RS"
		}
		name := fmt.Sprintf("%d.M%dP1Q%d.bench,S=%d:2,%s", date.Unix(), i%1000000, i, len(msg), flags)
		path := filepath.Join(dir, "cur", name)
		if err := os.WriteFile(path, msg, 0o644); err != nil {
			return st, err
		}
		if err := os.Chtimes(path, date, date); err != nil {
			return st, err
		}
		st.Bytes += int64(len(msg))
		if c.rareEvery > 0 && i%c.rareEvery == c.rareEvery/2 {
			st.Rare++
		}
	}
	st.Since = first.Add(span * 95 / 100)
	return st, nil
}

// linkMaildir makes dst a copy of the Maildir src whose message files are
// hard links (each side renames its own links when flags change).
func linkMaildir(src, dst string) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dst, sub), 0o755); err != nil {
			return err
		}
		entries, err := os.ReadDir(filepath.Join(src, sub))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := os.Link(filepath.Join(src, sub, e.Name()), filepath.Join(dst, sub, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
