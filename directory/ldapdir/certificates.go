package ldapdir

import (
	"context"

	"github.com/go-ldap/ldap/v3"

	"congvu/directory"
	"congvu/smime"
)

var _ directory.Certificates = (*Directory)(nil)

// The published certificate lives where mail clients look for it on an
// inetOrgPerson (RFC 2798): userCertificate;binary holds the certificate
// and userSMIMECertificate (Binary syntax, no transfer option) the same as a PKCS #7 certs-only
// SignedData (Outlook reads the latter, Thunderbird either).
const (
	attrUserCert  = "userCertificate;binary"
	attrSMIMECert = "userSMIMECertificate"
)

// PutCertificate implements directory.Certificates.
func (d *Directory) PutCertificate(ctx context.Context, address string, der []byte) error {
	if err := d.writable(); err != nil {
		return err
	}
	e, a, err := d.find(ctx, address, true)
	if err != nil {
		return err
	}
	mod := ldap.NewModifyRequest(e.DN, nil)
	if der == nil {
		mod.Replace(attrUserCert, nil)
		mod.Replace(attrSMIMECert, nil)
	} else {
		p7, err := smime.CertsOnly(der)
		if err != nil {
			return directory.ErrInvalid.With(err)
		}
		mod.Replace(attrUserCert, []string{string(der)})
		mod.Replace(attrSMIMECert, []string{string(p7)})
	}
	if err := d.writeErr(d.svc.do(ctx, func(c *ldap.Conn) error { return c.Modify(mod) })); err != nil {
		return err
	}
	d.log.Info("directory: certificate published", "address", a.Address, "bytes", len(der))
	return nil
}

// Certificate implements directory.Certificates.
func (d *Directory) Certificate(ctx context.Context, address string) ([]byte, error) {
	e, _, err := d.find(ctx, address, true)
	if err != nil {
		return nil, err
	}
	entries, err := d.search(ctx, e.DN, ldap.ScopeBaseObject, "(objectClass=*)", []string{attrUserCert})
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	for _, a := range entries[0].Attributes {
		if (a.Name == attrUserCert || a.Name == "userCertificate") && len(a.ByteValues) > 0 {
			return a.ByteValues[0], nil
		}
	}
	return nil, nil
}

// AllCertificates implements directory.Certificates: one paged search for
// the accounts that carry a certificate.
func (d *Directory) AllCertificates(ctx context.Context) (map[string][]byte, error) {
	filter := "(&(objectClass=" + ldap.EscapeFilter(d.attrs.AccountClass) + ")(userCertificate=*))"
	entries, err := d.search(ctx, d.cfg.BaseDN, ldap.ScopeWholeSubtree, filter, append(d.attrs.list(), attrUserCert))
	if err != nil {
		return nil, err
	}
	certs := map[string][]byte{}
	for _, e := range entries {
		a := d.toAccount(e)
		if a.Address == "" {
			continue
		}
		for _, at := range e.Attributes {
			if (at.Name == attrUserCert || at.Name == "userCertificate") && len(at.ByteValues) > 0 {
				certs[a.Address] = at.ByteValues[0]
				break
			}
		}
	}
	return certs, nil
}
