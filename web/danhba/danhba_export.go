package danhba

import (
	"bufio"
	"encoding/base64"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// export writes list as a CSV, vCard or LDIF attachment.
func export(w http.ResponseWriter, s *snapshot, req request, list []entry, format string) {
	name := "danhba"
	if req.Unit != "" {
		name += "-" + fileSafe(req.Unit)
	}
	var ctype string
	switch format {
	case "csv":
		ctype = "text/csv; charset=utf-8"
	case "vcf":
		ctype = "text/vcard; charset=utf-8"
	case "ldif":
		ctype = "text/plain; charset=utf-8" // RFC 2849 registers no media type
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="`+name+"."+format+`"`)
	h.Set("Cache-Control", "public, max-age=30")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	switch format {
	case "csv":
		writeCSV(bw, list)
	case "vcf":
		for _, e := range list {
			writeVCard(bw, e, s.orgPath(e.UnitCode))
		}
	case "ldif":
		writeLDIF(bw, s, list)
	}
}

// fileSafe keeps a unit code usable in a file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return r
		}
		return '_'
	}, s)
}

// orgPath returns the names of the units from the root down to code.
func (s *snapshot) orgPath(code string) []string {
	var path []string
	for _, u := range s.Path(code) {
		path = append(path, u.Name)
	}
	return path
}

// writeCSV writes UTF-8 with a byte order mark, which Excel needs to read
// Vietnamese correctly, and CRLF line ends.
func writeCSV(w io.Writer, list []entry) {
	io.WriteString(w, "\ufeff")
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write([]string{"Họ và tên", "Chức vụ", "Đơn vị", "Thư điện tử", "Điện thoại"})
	for _, e := range list {
		title := e.Title
		if e.IsUnit && title == "" {
			title = "Hộp thư đơn vị"
		}
		cw.Write([]string{cell(e.Name), cell(title), cell(e.Unit), cell(e.Address), cell(e.Phone)})
	}
	cw.Flush()
}

// cell defuses spreadsheet formulas (CSV injection): a value starting with
// = + - @ or a control character is prefixed with an apostrophe, except
// phone-like values such as "+84 258 3822 000".
func cell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '@', '\t', '\r':
		return "'" + v
	case '+', '-':
		if strings.Trim(v[1:], "0123456789 .()-") != "" {
			return "'" + v
		}
	}
	return v
}

// vcardEscape escapes a text value (RFC 6350 3.4): backslash, comma,
// semicolon and newline.
func vcardEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`, `;`, `\;`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
}

// vcardLine writes one content line, folded (RFC 6350 3.2) so that no
// physical line is longer than 75 octets, never inside a UTF-8 sequence;
// continuation lines start with one space.
func vcardLine(w io.Writer, line string) {
	limit := 75
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		io.WriteString(w, line[:cut])
		io.WriteString(w, "\r\n ")
		line = line[cut:]
		limit = 74 // the leading space counts
	}
	io.WriteString(w, line)
	io.WriteString(w, "\r\n")
}

// splitName splits a Vietnamese full name into surname, given name and
// middle names: "Nguyễn Ngọc Thành" → Nguyễn, Thành, Ngọc.
func splitName(full string) (family, given, middle string) {
	f := strings.Fields(full)
	switch len(f) {
	case 0:
		return "", "", ""
	case 1:
		return "", f[0], ""
	}
	return f[0], f[len(f)-1], strings.Join(f[1:len(f)-1], " ")
}

// writeVCard writes one vCard 4.0 (RFC 6350).
func writeVCard(w io.Writer, e entry, org []string) {
	vcardLine(w, "BEGIN:VCARD")
	vcardLine(w, "VERSION:4.0")
	if e.IsUnit {
		vcardLine(w, "KIND:org") // RFC 6350 6.1.4
	}
	if e.IsGroup {
		vcardLine(w, "KIND:group") // RFC 6350 6.1.4: the group's address reaches its members
	}
	vcardLine(w, "FN:"+vcardEscape(e.Name))
	if !e.IsUnit && !e.IsGroup {
		fam, given, mid := splitName(e.Name)
		vcardLine(w, "N:"+vcardEscape(fam)+";"+vcardEscape(given)+";"+vcardEscape(mid)+";;")
	}
	if e.Title != "" {
		vcardLine(w, "TITLE:"+vcardEscape(e.Title))
	}
	if len(org) > 0 {
		parts := make([]string, len(org))
		for i, o := range org {
			parts[i] = vcardEscape(o)
		}
		// RFC 6350 6.6.4: organisation name, then unit names.
		vcardLine(w, "ORG:"+strings.Join(parts, ";"))
	}
	vcardLine(w, "EMAIL;TYPE=work:"+vcardEscape(e.Address))
	if e.Phone != "" {
		if tel := strings.Map(func(r rune) rune {
			if r == ' ' || r == '.' || r == '(' || r == ')' {
				return -1
			}
			return r
		}, e.Phone); strings.Trim(tel, "+0123456789-") == "" {
			vcardLine(w, "TEL;TYPE=work;VALUE=uri:tel:"+tel) // RFC 6350 6.4.1, RFC 3966
		} else {
			vcardLine(w, "TEL;TYPE=work;VALUE=text:"+vcardEscape(e.Phone))
		}
	}
	if e.Cert != nil {
		// RFC 6350 §6.8.1: the key as a data: URI; Thunderbird and
		// Outlook take it as the colleague's encryption certificate.
		vcardLine(w, "KEY:data:application/pkix-cert;base64,"+base64.StdEncoding.EncodeToString(e.Cert))
	}
	vcardLine(w, "END:VCARD")
}

// ldifSafe tells whether v can be written as a SAFE-STRING (RFC 2849):
// ASCII without NUL, LF, CR, not starting with space, colon or '<', and
// (advisably) not ending with a space.
func ldifSafe(v string) bool {
	if v == "" {
		return true
	}
	if v[0] == ' ' || v[0] == ':' || v[0] == '<' || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return true
}

// ldifAttr writes "attr: value" or, for anything not safe, "attr:: base64",
// folded at 76 columns (RFC 2849 allows folding anywhere).
func ldifAttr(w io.Writer, attr, v string) {
	line := attr + ": " + v
	if !ldifSafe(v) {
		line = attr + ":: " + base64.StdEncoding.EncodeToString([]byte(v))
	}
	limit := 76
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		io.WriteString(w, line[:cut]+"\n ")
		line = line[cut:]
		limit = 75
	}
	io.WriteString(w, line+"\n")
}

// dnEscape escapes an RDN attribute value (RFC 4514 2.4).
func dnEscape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' || c == '=',
			c == '#' && i == 0, c == ' ' && (i == 0 || i == len(v)-1):
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == 0:
			b.WriteString(`\00`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// writeLDIF writes inetOrgPerson entries under ou=danhba (RFC 2849). The DN
// is multi-valued (cn and mail) because two officials may share a name.
func writeLDIF(w io.Writer, s *snapshot, list []entry) {
	io.WriteString(w, "version: 1\n")
	for _, e := range list {
		io.WriteString(w, "\n")
		ldifAttr(w, "dn", "cn="+dnEscape(e.Name)+"+mail="+dnEscape(e.Address)+",ou=danhba")
		for _, oc := range []string{"top", "person", "organizationalPerson", "inetOrgPerson"} {
			ldifAttr(w, "objectClass", oc)
		}
		ldifAttr(w, "cn", e.Name)
		fam, given, _ := splitName(e.Name)
		if e.IsUnit || e.IsGroup || fam == "" {
			fam, given = e.Name, ""
		}
		ldifAttr(w, "sn", fam)
		if given != "" {
			ldifAttr(w, "givenName", given)
		}
		if e.Title != "" {
			ldifAttr(w, "title", e.Title)
		}
		if org := s.orgPath(e.UnitCode); len(org) > 0 {
			ldifAttr(w, "o", org[0])
			ldifAttr(w, "ou", org[len(org)-1])
		}
		ldifAttr(w, "mail", e.Address)
		if e.Phone != "" {
			ldifAttr(w, "telephoneNumber", e.Phone)
		}
		if e.Cert != nil {
			// RFC 4523 §2.1: certificates are transferred with ;binary.
			io.WriteString(w, "userCertificate;binary:: ")
			ldifFold(w, base64.StdEncoding.EncodeToString(e.Cert))
		}
	}
}

// ldifFold writes a base64 value folded at 76 columns, continuing the
// line "attr:: " already started (RFC 2849).
func ldifFold(w io.Writer, b64 string) {
	limit := 76 - len("userCertificate;binary:: ")
	for len(b64) > limit {
		io.WriteString(w, b64[:limit]+"\n ")
		b64 = b64[limit:]
		limit = 75
	}
	io.WriteString(w, b64+"\n")
}
