package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/internal/server"
	"congvu/smime"
)

const certUsage = `usage:
  congvu cert import --config FILE ADDRESS CERT.pem|CERT.der
  congvu cert show --config FILE ADDRESS
  congvu cert remove --config FILE ADDRESS
`

// cmdCert publishes officials' S/MIME certificates in the directory
// (userSMIMECertificate), after checking them against the trust store:
// chain to a trusted root, key usage for e-mail signing, not expired, not
// revoked, and naming the address.
func cmdCert(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, certUsage)
		return flag.ErrHelp
	}
	verb := args[0]
	fs := flag.NewFlagSet("cert "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	want := map[string]int{"import": 2, "show": 1, "remove": 1}[verb]
	if want == 0 || fs.NArg() != want {
		fmt.Fprint(stderr, certUsage)
		return flag.ErrHelp
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w, err := server.OpenDirectory(cfg, log)
	if err != nil {
		return err
	}
	defer w.Close()
	certs, ok := directory.As[directory.Certificates](w)
	if !ok {
		return fmt.Errorf("the %s directory does not publish certificates", cfg.Directory.Backend)
	}
	ctx := context.Background()
	address := directory.NormalizeAddress(fs.Arg(0))
	acct, err := w.Lookup(ctx, address)
	if err != nil {
		return err
	}
	v, err := certVerifier(cfg)
	if err != nil {
		return err
	}
	switch verb {
	case "show":
		der, err := certs.Certificate(ctx, acct.Address)
		if err != nil {
			return err
		}
		if der == nil {
			fmt.Fprintf(stdout, "%s: chưa công bố chứng thư số / no certificate published\n", acct.Address)
			return nil
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		printCert(stdout, acct.Address, c, v.CheckCertificate(ctx, c, nil, acct.Address))
		return nil
	case "remove":
		if err := certs.PutCertificate(ctx, acct.Address, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: đã gỡ chứng thư số / certificate removed\n", acct.Address)
		return nil
	}
	b, err := os.ReadFile(fs.Arg(1))
	if err != nil {
		return err
	}
	chain, err := readCertificates(b)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(1), err)
	}
	r := v.CheckCertificate(ctx, chain[0], chain[1:], acct.Address)
	printCert(stdout, acct.Address, chain[0], r)
	if !r.Valid() {
		return fmt.Errorf("không công bố / not published: %s / %s", r.ReasonVI, r.Reason)
	}
	if err := certs.PutCertificate(ctx, acct.Address, chain[0].Raw); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: đã công bố chứng thư số / certificate published\n", acct.Address)
	return nil
}

func certVerifier(cfg config.Config) (*smime.Verifier, error) {
	sc := cfg.Signing
	inter := ""
	if sc.IntermediatesFile != "" {
		inter = cfg.Path(sc.IntermediatesFile)
	}
	trust, err := smime.NewTrustStore(smime.TrustConfig{Dir: cfg.Path(sc.TrustDir), NoDefaults: !sc.GovernmentRoot, Intermediates: inter})
	if err != nil {
		return nil, err
	}
	ekus, err := sc.EKUs()
	if err != nil {
		return nil, err
	}
	vc := smime.VerifierConfig{Trust: trust, ExtraEKUs: ekus}
	if sc.CheckCRL || sc.CheckOCSP {
		if vc.Revocation, err = smime.NewRevocation(smime.RevocationConfig{CRL: sc.CheckCRL, OCSP: sc.CheckOCSP,
			CacheDir: cfg.Path(sc.CRLCacheDir), OfflineGrace: sc.OfflineGrace, Timeout: sc.RevocationTimeout}); err != nil {
			return nil, err
		}
	}
	return smime.NewVerifier(vc), nil
}

// readCertificates reads PEM (the certificate, then its chain) or one
// DER certificate.
func readCertificates(b []byte) ([]*x509.Certificate, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		return smime.ParsePEMCertificates(b)
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, err
	}
	return []*x509.Certificate{c}, nil
}

func printCert(w io.Writer, address string, c *x509.Certificate, r smime.Result) {
	state := "hợp lệ / valid"
	if !r.Valid() {
		state = r.ReasonVI + " / " + r.Reason
	}
	fmt.Fprintf(w, "%s\t%s\t%s\tserial %s\t%s – %s\t%s\n", address, c.Subject.CommonName, strings.Join(c.Subject.Organization, ", "),
		r.Serial, c.NotBefore.Format("2006-01-02"), c.NotAfter.Format("2006-01-02"), state)
}
