package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"congvu/smime"
)

// The S/MIME row: the cost of verifying signatures. congvu receives, on
// the MX listener, 10 KB messages at c=20, first unsigned, then the same
// size clear-signed (RSASSA-PSS, SHA-256, RSA 2048 with a 3072-bit root
// and intermediate, as the Government PKI); every one is verified
// (chain, key usage) and stamped before the fsync and the 250.

const smimeFrom = "vanthu@syt.angiang.gov.vn"

// benchPKI makes a root, an intermediate and a signer certificate; the
// signer names smimeFrom so the address check passes.
func benchPKI() (root []byte, key *rsa.PrivateKey, chain []*x509.Certificate, err error) {
	mk := func(bits int) (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, bits) }
	rootKey, err := mk(3072)
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	rootT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bench RootCA G2", Organization: []string{"congvu-bench"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootT, rootT, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, nil, nil, err
	}
	rootC, _ := x509.ParseCertificate(rootDER)
	intKey, err := mk(3072)
	if err != nil {
		return nil, nil, nil, err
	}
	intT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Bench CA", Organization: []string{"congvu-bench"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	intDER, err := x509.CreateCertificate(rand.Reader, intT, rootC, &intKey.PublicKey, rootKey)
	if err != nil {
		return nil, nil, nil, err
	}
	intC, _ := x509.ParseCertificate(intDER)
	key, err = mk(2048)
	if err != nil {
		return nil, nil, nil, err
	}
	leafT := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "Văn thư Sở Y tế", Organization: []string{"Sở Y tế tỉnh An Giang"}},
		EmailAddresses: []string{smimeFrom}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafT, intC, &key.PublicKey, intKey)
	if err != nil {
		return nil, nil, nil, err
	}
	leafC, _ := x509.ParseCertificate(leafDER)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}), key, []*x509.Certificate{leafC, intC}, nil
}

// runSMIMEPart measures signed against unsigned 10 KB messages.
func runSMIMEPart(res *results, tmp, congvuBin string, budget time.Duration, maxMsgs int, cleanups *[]func()) error {
	root, key, chain, err := benchPKI()
	if err != nil {
		return err
	}
	// A pool of signed messages (signing is the client's work, not
	// measured); each send still gets verified by the server.
	const poolSize = 64
	pool := make([][]byte, poolSize)
	for i := range pool {
		m := makeMessage(int64(i), smimeFrom, "x@x", 10<<10)
		signed, err := smime.SignMessage(m, key, chain, smime.SignOptions{PSS: true})
		if err != nil {
			return err
		}
		pool[i] = signed
	}
	logf("starting congvu quickstart for the S/MIME row")
	dir := filepath.Join(tmp, "congvu-smime")
	cv, err := startCongvu(congvuBin, dir)
	if err != nil {
		return err
	}
	*cleanups = append(*cleanups, cv.proc.stop)
	defer cv.proc.stop()
	if err := os.WriteFile(filepath.Join(dir, "demo", "trust", "bench-root.pem"), root, 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(congvuBin, "reload", "--config", cv.config()).CombinedOutput(); err != nil {
		return fmt.Errorf("congvu reload: %v: %s", err, out)
	}
	time.Sleep(500 * time.Millisecond) // SIGHUP is applied asynchronously
	// The two kinds alternate in three rounds each, so a neighbour's
	// load on a shared machine falls on both; the server's CPU time per
	// message is measured too, which such load hardly moves.
	p := loadPoint{20, 10 << 10}
	plain := loadResult{Target: "congvu unsigned", Point: p}
	signed := loadResult{Target: "congvu signed", Point: p}
	var plainCPU, signedCPU float64
	var plainLat, signedLat []float64
	for round := range 3 {
		for _, kind := range []string{"unsigned", "signed"} {
			make := func(seq int64, to string) []byte { return makeMessage(seq, smimeFrom, to, 10<<10) }
			acc, cpu, lat := &plain, &plainCPU, &plainLat
			if kind == "signed" {
				make = func(seq int64, to string) []byte {
					return append([]byte("To: <"+to+">\r\n"), pool[int(seq)%poolSize]...)
				}
				acc, cpu, lat = &signed, &signedCPU, &signedLat
			}
			logf("congvu %v %s (MX), round %d", p, kind, round+1)
			c0 := processCPU(cv.pid())
			r := runLoad(loadSpec{Addr: cv.smtpAddr, Target: acc.Target, Point: p, Messages: maxMsgs / 3, Duration: budget / 3,
				From: smimeFrom, Recipients: cv.recipients, Make: make})
			*cpu += processCPU(cv.pid()) - c0
			acc.Attempted += r.Attempted
			acc.Accepted += r.Accepted
			acc.Failed += r.Failed
			acc.Seconds += r.Seconds
			if acc.FirstErr == "" {
				acc.FirstErr = r.FirstErr
			}
			*lat = append(*lat, r.P50Ms)
		}
	}
	for _, x := range []struct {
		r   *loadResult
		cpu float64
		lat []float64
	}{{&plain, plainCPU, plainLat}, {&signed, signedCPU, signedLat}} {
		if x.r.Seconds > 0 {
			x.r.MsgsPerS = float64(x.r.Accepted) / x.r.Seconds
		}
		if x.r.Accepted > 0 {
			x.r.CPUMsPerMsg = 1000 * x.cpu / float64(x.r.Accepted)
		}
		x.r.P50Ms = medianOf(x.lat)
	}
	res.SMIME = append(res.SMIME, plain, signed)
	// The signed messages must have been verified, not just stored.
	found := false
	filepath.WalkDir(filepath.Join(dir, "demo", "mail"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found || filepath.Ext(path) == ".db" {
			return nil
		}
		b, _ := os.ReadFile(path)
		found = bytes.Contains(b, []byte("smime=pass"))
		if found {
			return fs.SkipAll
		}
		return nil
	})
	if !found {
		return fmt.Errorf("no stored message carries smime=pass: verification did not happen")
	}
	return nil
}

// smimeRows prints the S/MIME comparison.
func smimeRows(r *results, row func(measure, cv, ref, rat string)) {
	if len(r.SMIME) != 2 {
		return
	}
	plain, signed := r.SMIME[0], r.SMIME[1]
	cost := "–"
	if plain.MsgsPerS > 0 {
		cost = fmt.Sprintf("%+.1f%%", 100*(signed.MsgsPerS/plain.MsgsPerS-1))
	}
	row(fmt.Sprintf("SMTP %v S/MIME-signed (RSASSA-PSS, verified and stamped): durable msgs/s, vs the same unsigned", signed.Point),
		fmt.Sprintf("%.0f", signed.MsgsPerS), fmt.Sprintf("%.0f", plain.MsgsPerS), cost)
	row(fmt.Sprintf("SMTP %v S/MIME-signed: congvu CPU per message, vs unsigned", signed.Point),
		fmt.Sprintf("%.2f ms", signed.CPUMsPerMsg), fmt.Sprintf("%.2f ms", plain.CPUMsPerMsg),
		fmt.Sprintf("%+.2f ms", signed.CPUMsPerMsg-plain.CPUMsPerMsg))
	row(fmt.Sprintf("SMTP %v S/MIME-signed: p50 latency (median of rounds), vs unsigned", signed.Point),
		fmt.Sprintf("%.1f ms", signed.P50Ms), fmt.Sprintf("%.1f ms", plain.P50Ms), "–")
}

// processCPU is a process's user+system CPU time in seconds
// (/proc/PID/stat fields 14 and 15, in clock ticks of 1/100 s).
func processCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may contain spaces: fields count from after ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64{}, v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
