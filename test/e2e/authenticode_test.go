package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// authenticodeFiles makes the PE files the agent's TestAuthenticodeFiles
// verifies under Wine, in dir: unsigned.dll (built with MinGW),
// signed.dll (signed with osslsigncode by a code-signing certificate made
// here, trusted by nobody) and tampered.dll (signed.dll with a byte of
// its code changed). It returns false, having said why, when osslsigncode
// is missing outside CI.
func authenticodeFiles(t *testing.T, dir string) bool {
	t.Helper()
	if _, err := exec.LookPath("osslsigncode"); err != nil {
		if wineRequired() {
			t.Fatal("osslsigncode is not installed (apt-get install osslsigncode); the Windows lane needs it")
		}
		t.Log("osslsigncode is not installed: the Authenticode check under Wine did not run")
		return false
	}
	unsigned := filepath.Join(dir, "unsigned.dll")
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-shared", "-s", "-o", unsigned,
		filepath.Join("testdata", "bcryptprimitives.c"), "-ladvapi32").CombinedOutput(); err != nil {
		t.Fatalf("building a DLL to sign: %v\n%s", err, out)
	}
	// RSA, as vendors sign: Wine 8 cannot verify an ECDSA signature
	// (TRUST_E_CERT_SIGNATURE).
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Wacht test code signing"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600)
	signed := filepath.Join(dir, "signed.dll")
	if out, err := exec.Command("osslsigncode", "sign", "-certs", certPEM, "-key", keyPEM, "-n", "Wacht test",
		"-in", unsigned, "-out", signed).CombinedOutput(); err != nil {
		t.Fatalf("osslsigncode: %v\n%s", err, out)
	}
	b, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	b[0x400] ^= 1 // the first section (.text) starts at SizeOfHeaders, 0x400 for MinGW's DLLs
	if err := os.WriteFile(filepath.Join(dir, "tampered.dll"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return true
}
