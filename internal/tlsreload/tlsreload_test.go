package tlsreload

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testCA signs leaf certificates for 127.0.0.1.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gomirror test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf writes a certificate for 127.0.0.1 named cn, and its key, as PEM.
func (ca *testCA) leaf(t *testing.T, cn string, serial int64) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func writePair(t *testing.T, dir string, cert, key []byte, mod time.Time) (string, string) {
	t.Helper()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, f := range []struct {
		name string
		data []byte
	}{{cf, cert}, {kf, key}} {
		if err := os.WriteFile(f.name, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f.name, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	return cf, kf
}

// servedCN makes a new connection to url and returns the common name of
// the certificate the server presents.
func servedCN(t *testing.T, url string, pool *x509.CertPool) string {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol: got %s, want HTTP/2", resp.Proto)
	}
	return resp.TLS.PeerCertificates[0].Subject.CommonName
}

func TestReloadOnChange(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	base := time.Now().Add(-time.Minute)
	c1, k1 := ca.leaf(t, "first", 2)
	cf, kf := writePair(t, dir, c1, k1, base)

	var logs bytes.Buffer
	now := time.Now()
	clock := func() time.Time { return now }
	r, err := New(Config{CertFile: cf, KeyFile: kf, Interval: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, r)

	if got := servedCN(t, srv, ca.pool); got != "first" {
		t.Fatalf("served certificate: got %q, want first", got)
	}

	// Rotate: within the interval the old one is served; after it, the
	// new one, on a new connection.
	c2, k2 := ca.leaf(t, "second", 3)
	writePair(t, dir, c2, k2, base.Add(time.Second))
	if got := servedCN(t, srv, ca.pool); got != "first" {
		t.Errorf("within the interval: got %q, want first", got)
	}
	now = now.Add(6 * time.Second)
	if got := servedCN(t, srv, ca.pool); got != "second" {
		t.Errorf("after rotation: got %q, want second", got)
	}

	// A key that does not match its certificate keeps the good pair.
	c3, _ := ca.leaf(t, "third", 4)
	_, k4 := ca.leaf(t, "fourth", 5)
	writePair(t, dir, c3, k4, base.Add(2*time.Second))
	now = now.Add(6 * time.Second)
	if got := servedCN(t, srv, ca.pool); got != "second" {
		t.Errorf("after a bad pair: got %q, want second", got)
	}
	if !bytes.Contains(logs.Bytes(), []byte("bad new certificate")) {
		t.Errorf("a bad pair was not logged; log:\n%s", logs.String())
	}

	// Removed files keep the good pair too; fixed files are picked up.
	os.Remove(cf)
	now = now.Add(6 * time.Second)
	if got := servedCN(t, srv, ca.pool); got != "second" {
		t.Errorf("with the files gone: got %q, want second", got)
	}
	c5, k5 := ca.leaf(t, "fifth", 6)
	writePair(t, dir, c5, k5, base.Add(3*time.Second))
	now = now.Add(6 * time.Second)
	if got := servedCN(t, srv, ca.pool); got != "fifth" {
		t.Errorf("after fixing the files: got %q, want fifth", got)
	}
}

func TestNewRefusesBadPair(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	c1, _ := ca.leaf(t, "a", 2)
	_, k2 := ca.leaf(t, "b", 3)
	cf, kf := writePair(t, dir, c1, k2, time.Now())
	if _, err := New(Config{CertFile: cf, KeyFile: kf}); err == nil {
		t.Error("New with a key of another certificate: got no error")
	}
	if _, err := New(Config{CertFile: filepath.Join(dir, "missing.pem"), KeyFile: kf}); err == nil {
		t.Error("New with a missing certificate: got no error")
	}
	if _, err := New(Config{CertFile: cf}); err == nil {
		t.Error("New without a key: got no error")
	}
}

// serve runs an HTTPS server with r's configuration, as gomirror does, and
// returns its URL.
func serve(t *testing.T, r *Reloader) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), TLSConfig: r.TLSConfig(),
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go hs.ServeTLS(ln, "", "")
	t.Cleanup(func() { hs.Close() })
	return "https://" + ln.Addr().String()
}
