package smime

import (
	"context"
	"mime"
	"net/mail"
	"strings"

	"congvu/internal/mimetree"
)

// The two S/MIME signed forms (RFC 8551 3.5): multipart/signed with an
// application/pkcs7-signature part (clear-signed, readable without
// S/MIME), and application/pkcs7-mime; smime-type=signed-data (opaque: the
// content is inside the CMS object). The "x-" types of older clients
// (RFC 8551 3.7) are accepted too.

// maxP7Bytes bounds the decoded signature object of one part.
const maxP7Bytes = 32 << 20

// IsClearSigned reports a multipart/signed entity with a PKCS #7
// signature protocol.
func IsClearSigned(p *mimetree.Part) bool {
	if p.MediaType != "multipart/signed" {
		return false
	}
	proto := strings.ToLower(p.Params["protocol"])
	return proto == "application/pkcs7-signature" || proto == "application/x-pkcs7-signature"
}

// IsOpaqueSigned reports an application/pkcs7-mime signed-data entity
// (an enveloped one cannot be read without the recipient's key and is
// left alone; a missing smime-type is read by its file name .p7m).
func IsOpaqueSigned(p *mimetree.Part) bool {
	if p.MediaType != "application/pkcs7-mime" && p.MediaType != "application/x-pkcs7-mime" {
		return false
	}
	switch strings.ToLower(p.Params["smime-type"]) {
	case "signed-data":
		return true
	case "":
		return strings.HasSuffix(strings.ToLower(p.Filename), ".p7m")
	}
	return false
}

// VerifyClearSigned checks a multipart/signed entity: the signature part
// over the exact bytes of the first part (RFC 8551 3.5.3). Part is the
// signed part's number.
func (v *Verifier) VerifyClearSigned(ctx context.Context, p *mimetree.Part, authors []string) Verified {
	number := "1"
	if p.Number != "" {
		number = p.Number + ".1"
	}
	if len(p.Children) != 2 {
		r := resultFor(PermError, malformed("multipart/signed without two parts"))
		r.Part = number
		return Verified{Result: r}
	}
	sig, err := p.Children[1].Decoded(maxP7Bytes)
	if err != nil {
		r := resultFor(PermError, malformed("unreadable signature part"))
		r.Part = number
		return Verified{Result: r}
	}
	out := v.Verify(ctx, sig, p.Children[0].Raw, authors)
	out.Part = p.Children[0].Number
	return out
}

// VerifyOpaque checks an application/pkcs7-mime signed-data entity; the
// content (a MIME entity) is in Verified.Content.
func (v *Verifier) VerifyOpaque(ctx context.Context, p *mimetree.Part, authors []string) Verified {
	number := p.Number
	if number == "" {
		number = "1"
	}
	der, err := p.Decoded(maxP7Bytes)
	if err != nil {
		r := resultFor(PermError, malformed("unreadable signed-data part"))
		r.Part = number
		return Verified{Result: r}
	}
	out := v.Verify(ctx, der, nil, authors)
	out.Part = number
	return out
}

// OpaqueContent returns the encapsulated content of an opaque signed-data
// entity without verifying it (a mimetree.Options.Unwrap hook, so that
// the signed content is parsed with the rest of the message), or nil.
func OpaqueContent(p *mimetree.Part) []byte {
	if !IsOpaqueSigned(p) {
		return nil
	}
	der, err := p.Decoded(maxP7Bytes)
	if err != nil {
		return nil
	}
	sd, err := parseSignedData(der)
	if err != nil || !sd.hasEContent {
		return nil
	}
	return sd.eContent
}

// Authors returns the addresses of a message's From and Sender fields
// (RFC 5322 3.6.2), lower case, for the signer address check.
func Authors(h interface{ Get(string) string }) []string {
	var out []string
	dec := &mime.WordDecoder{}
	p := &mail.AddressParser{WordDecoder: dec}
	for _, f := range []string{"From", "Sender"} {
		v := h.Get(f)
		if v == "" {
			continue
		}
		as, err := p.ParseList(v)
		if err != nil {
			continue
		}
		for _, a := range as {
			out = append(out, strings.ToLower(a.Address))
		}
	}
	return out
}

// VerifyMessage checks every S/MIME signature of a message, in
// multipart/mixed, in forwarded message/rfc822 parts and in nested signed
// layers (PDF signatures are package official's). Each signature is
// checked against the authors of the nearest message around it.
func (v *Verifier) VerifyMessage(ctx context.Context, msg []byte) []Result {
	root := mimetree.Parse(msg, mimetree.Options{Unwrap: OpaqueContent})
	var out []Result
	v.Walk(ctx, root, func(_ *mimetree.Part, r Verified) { out = append(out, r.Result) })
	return out
}

// Walk visits the signed entities under root and reports each
// verification to fn.
func (v *Verifier) Walk(ctx context.Context, root *mimetree.Part, fn func(p *mimetree.Part, r Verified)) {
	var walk func(p *mimetree.Part, authors []string)
	walk = func(p *mimetree.Part, authors []string) {
		if p == nil {
			return
		}
		if p.Header.Has("From") {
			authors = Authors(&p.Header)
		}
		switch {
		case IsClearSigned(p):
			fn(p, v.VerifyClearSigned(ctx, p, authors))
		case IsOpaqueSigned(p):
			fn(p, v.VerifyOpaque(ctx, p, authors))
		}
		for _, c := range p.Children {
			walk(c, authors)
		}
		walk(p.Embedded, authors)
	}
	walk(root, nil)
}
