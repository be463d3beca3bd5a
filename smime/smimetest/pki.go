// Package smimetest builds, with the openssl command line, a test PKI
// shaped like the Government's special-use one (root → intermediate →
// agency and person certificates) and serves its CRLs and an OCSP
// responder (openssl answering each request from the CA database) on a
// loopback HTTP server. Tests of every package use it; nothing here is
// part of the server.
package smimetest

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// PKI is a running test PKI.
type PKI struct {
	Dir string
	// Root and Intermediate are the CA certificates (PEM files).
	RootPEM, IntermediatePEM string
	Root, Intermediate       *x509.Certificate
	// BaseURL serves /root.crl, /int.crl and /ocsp.
	BaseURL string

	t      testing.TB
	srv    *http.Server
	mu     sync.Mutex // serialises openssl ca runs on the databases
	serial int
	// OCSPRequests counts answered OCSP requests.
	ocspRequests int
	down         bool
}

// SetDown makes the CRL and OCSP server answer 503 (an unreachable CA).
func (p *PKI) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

func (p *PKI) isDown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.down
}

// Cert is an issued certificate.
type Cert struct {
	Name string
	// CertPEM, KeyPEM (PKCS#8, unencrypted) and ChainPEM (the
	// intermediate) are files.
	CertPEM, KeyPEM, ChainPEM string
	Cert                      *x509.Certificate
}

// Spec describes a certificate to issue.
type Spec struct {
	// CommonName and Organization go into the subject (UTF-8).
	CommonName, Organization string
	// Email goes into subjectAltName; empty for none.
	Email string
	// EKU is the extended key usage ("emailProtection" by default;
	// "serverAuth" for a wrong one; "none" leaves the extension out).
	EKU string
	// Expired issues a certificate valid only in 2020.
	Expired bool
	// Bits is the RSA key size (2048 by default).
	Bits int
}

// New builds a PKI in a temporary directory and starts its HTTP server;
// both go away when the test ends.
func New(t testing.TB) *PKI {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is needed for the test PKI: ", err)
	}
	p := &PKI{Dir: t.TempDir(), t: t, serial: 0x1000}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.BaseURL = "http://" + ln.Addr().String()
	for _, ca := range []string{"root", "int"} {
		d := filepath.Join(p.Dir, ca)
		must(t, os.MkdirAll(filepath.Join(d, "newcerts"), 0o700))
		must(t, os.WriteFile(filepath.Join(d, "index.txt"), nil, 0o600))
		must(t, os.WriteFile(filepath.Join(d, "crlnumber"), []byte("01\n"), 0o600))
		must(t, os.WriteFile(filepath.Join(d, "ca.cnf"), []byte(caConfig(d)), 0o600))
	}
	root := filepath.Join(p.Dir, "root")
	p.run("req", "-x509", "-newkey", "rsa:3072", "-nodes", "-keyout", filepath.Join(root, "ca.key"),
		"-out", filepath.Join(root, "ca.pem"), "-days", "7300", "-utf8", "-sha256",
		"-subj", "/C=VN/O=Ban Cơ yếu Chính phủ (thử nghiệm)/CN=RootCA chuyên dùng Chính phủ G2 (thử nghiệm)",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
		"-addext", "subjectKeyIdentifier=hash")
	p.RootPEM = filepath.Join(root, "ca.pem")

	in := filepath.Join(p.Dir, "int")
	p.run("req", "-new", "-newkey", "rsa:3072", "-nodes", "-keyout", filepath.Join(in, "ca.key"),
		"-out", filepath.Join(in, "ca.csr"), "-utf8",
		"-subj", "/C=VN/O=Ban Cơ yếu Chính phủ (thử nghiệm)/CN=CA phục vụ các cơ quan Đảng, Nhà nước (thử nghiệm)")
	ext := filepath.Join(in, "ext.cnf")
	must(t, os.WriteFile(ext, []byte(fmt.Sprintf(`[ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:%s/root.crl
`, p.BaseURL)), 0o600))
	p.ca(root, "-in", filepath.Join(in, "ca.csr"), "-out", filepath.Join(in, "ca.pem"),
		"-extfile", ext, "-extensions", "ext", "-days", "3650")
	p.IntermediatePEM = filepath.Join(in, "ca.pem")
	p.Root, p.Intermediate = readCert(t, p.RootPEM), readCert(t, p.IntermediatePEM)
	p.GenCRL()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /root.crl", p.serveFile(filepath.Join(root, "crl.der"), "application/pkix-crl"))
	mux.HandleFunc("GET /int.crl", p.serveFile(filepath.Join(in, "crl.der"), "application/pkix-crl"))
	mux.HandleFunc("POST /ocsp", p.serveOCSP)
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.isDown() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go p.srv.Serve(ln)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func caConfig(dir string) string {
	return fmt.Sprintf(`[ca]
default_ca = CA_default
[CA_default]
dir = %s
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = $dir/ca.pem
private_key = $dir/ca.key
crlnumber = $dir/crlnumber
serial = $dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
default_crl_days = 30
email_in_dn = no
utf8 = yes
string_mask = utf8only
[policy_any]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
emailAddress = optional
`, dir)
}

// run runs openssl with args and fails the test on error.
func (p *PKI) run(args ...string) []byte {
	p.t.Helper()
	cmd := exec.Command("openssl", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		p.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// ca runs `openssl ca` on the CA in dir.
func (p *PKI) ca(dir string, args ...string) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serial++
	must(p.t, os.WriteFile(filepath.Join(dir, "serial"), []byte(fmt.Sprintf("%X\n", p.serial)), 0o600))
	p.run(append([]string{"ca", "-batch", "-notext", "-config", filepath.Join(dir, "ca.cnf")}, args...)...)
}

// Issue makes a key and a certificate signed by the intermediate.
func (p *PKI) Issue(s Spec) *Cert {
	p.t.Helper()
	in := filepath.Join(p.Dir, "int")
	name := fmt.Sprintf("leaf%d", time.Now().UnixNano())
	base := filepath.Join(p.Dir, name)
	bits := s.Bits
	if bits == 0 {
		bits = 2048
	}
	subj := "/C=VN"
	if s.Organization != "" {
		subj += "/O=" + s.Organization
	}
	subj += "/CN=" + s.CommonName
	p.run("req", "-new", "-newkey", fmt.Sprintf("rsa:%d", bits), "-nodes", "-keyout", base+".key",
		"-out", base+".csr", "-utf8", "-subj", subj)
	var ext strings.Builder
	fmt.Fprintf(&ext, "[ext]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature,nonRepudiation\n")
	switch s.EKU {
	case "", "emailProtection":
		ext.WriteString("extendedKeyUsage = emailProtection\n")
	case "none":
	default:
		ext.WriteString("extendedKeyUsage = " + s.EKU + "\n")
	}
	if s.Email != "" {
		ext.WriteString("subjectAltName = email:" + s.Email + "\n")
	}
	fmt.Fprintf(&ext, "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\ncrlDistributionPoints = URI:%s/int.crl\nauthorityInfoAccess = OCSP;URI:%s/ocsp\n", p.BaseURL, p.BaseURL)
	must(p.t, os.WriteFile(base+".ext", []byte(ext.String()), 0o600))
	args := []string{"-in", base + ".csr", "-out", base + ".pem", "-extfile", base + ".ext", "-extensions", "ext"}
	if s.Expired {
		args = append(args, "-startdate", "20200101000000Z", "-enddate", "20201231000000Z")
	} else {
		args = append(args, "-days", "730")
	}
	p.ca(in, args...)
	return &Cert{Name: name, CertPEM: base + ".pem", KeyPEM: base + ".key", ChainPEM: p.IntermediatePEM,
		Cert: readCert(p.t, base+".pem")}
}

// Revoke revokes c and publishes a new CRL.
func (p *PKI) Revoke(c *Cert) {
	p.t.Helper()
	in := filepath.Join(p.Dir, "int")
	p.mu.Lock()
	p.run("ca", "-config", filepath.Join(in, "ca.cnf"), "-revoke", c.CertPEM, "-crl_reason", "keyCompromise")
	p.mu.Unlock()
	p.GenCRL()
}

// GenCRL writes fresh CRLs of both CAs (DER, as served).
func (p *PKI) GenCRL() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ca := range []string{"root", "int"} {
		d := filepath.Join(p.Dir, ca)
		p.run("ca", "-config", filepath.Join(d, "ca.cnf"), "-gencrl", "-out", filepath.Join(d, "crl.pem"))
		p.run("crl", "-in", filepath.Join(d, "crl.pem"), "-outform", "DER", "-out", filepath.Join(d, "crl.der"))
	}
}

func (p *PKI) serveFile(path, ctype string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		p.mu.Lock()
		b, err := os.ReadFile(path)
		p.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Write(b)
	}
}

// serveOCSP answers an OCSP request (RFC 6960 A.1, POST) with openssl's
// responder logic over the intermediate's database.
func (p *PKI) serveOCSP(w http.ResponseWriter, r *http.Request) {
	req, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ocspRequests++
	in := filepath.Join(p.Dir, "int")
	reqFile := filepath.Join(p.Dir, fmt.Sprintf("ocsp-req-%d.der", p.ocspRequests))
	respFile := reqFile + ".resp"
	if err := os.WriteFile(reqFile, req, 0o600); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	cmd := exec.Command("openssl", "ocsp", "-index", filepath.Join(in, "index.txt"), "-rsigner", filepath.Join(in, "ca.pem"),
		"-rkey", filepath.Join(in, "ca.key"), "-CA", filepath.Join(in, "ca.pem"), "-reqin", reqFile, "-respout", respFile, "-ndays", "1")
	if out, err := cmd.CombinedOutput(); err != nil {
		http.Error(w, string(out), 500)
		return
	}
	b, err := os.ReadFile(respFile)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(b)
}

// OCSPRequests reports how many OCSP requests were answered.
func (p *PKI) OCSPRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ocspRequests
}

func readCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	must(t, err)
	return c
}

// SignOptions tune Sign.
type SignOptions struct {
	// PSS signs with RSASSA-PSS (-keyopt rsa_padding_mode:pss).
	PSS bool
	// Opaque makes application/pkcs7-mime signed-data instead of
	// multipart/signed.
	Opaque bool
	// Digest is the -md value ("sha256" by default).
	Digest string
	// Stream writes indefinite-length BER (-stream), as streaming
	// clients do.
	Stream bool
}

// Sign signs a MIME entity (header and body, CRLF) with `openssl cms
// -sign` and returns openssl's S/MIME output (MIME-Version, Content-Type
// and the signed body), CRLF line ends.
func (p *PKI) Sign(c *Cert, entity []byte, o SignOptions) []byte {
	p.t.Helper()
	in := filepath.Join(p.Dir, fmt.Sprintf("content-%d.eml", time.Now().UnixNano()))
	must(p.t, os.WriteFile(in, entity, 0o600))
	md := o.Digest
	if md == "" {
		md = "sha256"
	}
	args := []string{"cms", "-sign", "-in", in, "-signer", c.CertPEM, "-inkey", c.KeyPEM, "-certfile", c.ChainPEM,
		"-md", md, "-binary", "-crlfeol", "-outform", "SMIME"}
	if o.PSS {
		args = append(args, "-keyopt", "rsa_padding_mode:pss")
	}
	if o.Opaque {
		args = append(args, "-nodetach")
	}
	if o.Stream {
		args = append(args, "-stream")
	}
	return p.run(args...)
}

// SignDetachedDER signs data and returns the detached CMS in DER (as a PDF
// signature holds it).
func (p *PKI) SignDetachedDER(c *Cert, data []byte, pss bool) []byte {
	p.t.Helper()
	in := filepath.Join(p.Dir, fmt.Sprintf("data-%d.bin", time.Now().UnixNano()))
	must(p.t, os.WriteFile(in, data, 0o600))
	args := []string{"cms", "-sign", "-in", in, "-signer", c.CertPEM, "-inkey", c.KeyPEM, "-certfile", c.ChainPEM,
		"-md", "sha256", "-binary", "-outform", "DER"}
	if pss {
		args = append(args, "-keyopt", "rsa_padding_mode:pss")
	}
	return p.run(args...)
}

// Verify runs `openssl cms -verify` on an S/MIME message against the
// root and returns openssl's combined output and whether it succeeded.
func (p *PKI) Verify(msg []byte) (string, bool) {
	p.t.Helper()
	in := filepath.Join(p.Dir, fmt.Sprintf("verify-%d.eml", time.Now().UnixNano()))
	must(p.t, os.WriteFile(in, msg, 0o600))
	cmd := exec.Command("openssl", "cms", "-verify", "-in", in, "-CAfile", p.RootPEM, "-purpose", "any", "-out", os.DevNull)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// PrintCMS returns `openssl cms -cmsout -print` of an S/MIME message.
func (p *PKI) PrintCMS(msg []byte) string {
	p.t.Helper()
	in := filepath.Join(p.Dir, fmt.Sprintf("print-%d.eml", time.Now().UnixNano()))
	must(p.t, os.WriteFile(in, msg, 0o600))
	return string(p.run("cms", "-cmsout", "-print", "-in", in, "-noout"))
}

// Token is a SoftHSM2 token holding test keys.
type Token struct {
	Module, Label, PIN string
}

// SoftHSM creates a SoftHSM2 token in a temporary directory (pointing
// SOFTHSM2_CONF at it for the rest of the test) and imports the keys of
// certs under the labels given.
func SoftHSM(t *testing.T, keys map[string]*Cert) *Token {
	t.Helper()
	module := "/usr/lib/softhsm/libsofthsm2.so"
	if _, err := os.Stat(module); err != nil {
		t.Fatalf("SoftHSM2 (Debian softhsm2) is needed: %v", err)
	}
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "tokens"), 0o700))
	conf := filepath.Join(dir, "softhsm2.conf")
	must(t, os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600))
	t.Setenv("SOFTHSM2_CONF", conf)
	tok := &Token{Module: module, Label: "congvu-test", PIN: "1234"}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("softhsm2-util", args...).CombinedOutput(); err != nil {
			t.Fatalf("softhsm2-util %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("--init-token", "--free", "--label", tok.Label, "--pin", tok.PIN, "--so-pin", "5678")
	id := 1
	for label, c := range keys {
		run("--import", c.KeyPEM, "--token", tok.Label, "--label", label, "--id", fmt.Sprintf("%02x", id), "--pin", tok.PIN)
		id++
	}
	return tok
}
