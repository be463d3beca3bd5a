package mail

// The signature badge: what the delivery's S/MIME and PDF signature
// checks stamped into the message (smime.Result, read back from the
// stored header without verifying again), shown above the message: valid
// — the signer and their agency; not valid — why; unsigned.

import (
	"congvu/smime"
)

// signatureView is one badge.
type signatureView struct {
	Kind          string // "valid", "invalid" or "none"
	Signer, Org   string
	Identifier    string
	Part          string // "" for the message itself, else the PDF's name
	Reason, RsnEN string
}

// signatureBadges turns the stamped results into badges; nil when the
// server checks no signatures (Options.Signatures nil).
func (wb *room) signatureBadges(header []byte) []signatureView {
	if wb.opts.Signatures == nil {
		return nil
	}
	results := wb.opts.Signatures(header)
	if len(results) == 0 {
		return []signatureView{{Kind: "none"}}
	}
	var out []signatureView
	for _, r := range results {
		v := signatureView{Signer: cleanText(r.SignerName, maxShownNameRunes), Org: cleanText(r.Organization, maxShownNameRunes),
			Identifier: cleanText(r.Identifier, maxShownNameRunes)}
		if len(r.Part) > 4 && r.Part[:4] == "pdf:" {
			v.Part = cleanFileName(r.Part[4:])
		}
		switch {
		case r.Status == smime.None:
			v.Kind = "none"
		case r.Valid():
			v.Kind = "valid"
		default:
			v.Kind = "invalid"
			v.Reason, v.RsnEN = cleanText(r.ReasonVI, 300), cleanText(r.Reason, 300)
			if v.Reason == "" {
				v.Reason = "không xác minh được (" + string(r.Status) + ")"
			}
		}
		out = append(out, v)
	}
	return out
}
