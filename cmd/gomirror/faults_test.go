package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fault suite: gomirror keeps serving, and keeps every promise about
// bytes, with its upstream hanging, its clients misbehaving and its
// process killed.

func TestFaultCrashMidFillThenFsck(t *testing.T) {
	h := newHermeticSetup(t)
	data := t.TempDir()
	m := h.start(t, data)
	h.up.setMode(modeHang)
	go http.Get(m.URL + "/example.com/hello/@v/v1.0.0.zip")
	<-h.up.hung
	m.kill()

	cmd := exec.Command("gomirror", "fsck", "--data", data, "--sumdb", h.sumdbFlag(), "--upstream", "off")
	cmd.Env = append(baseEnv(), h.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fsck after a crash mid-fill: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "0 quarantined, 0 errors") {
		t.Errorf("fsck after a crash mid-fill found damage: %s", out)
	}
	h.up.setMode(modeServe)
	m = h.start(t, data)
	code, body := get(t, m.URL+"/example.com/hello/@v/v1.0.0.zip")
	if code != http.StatusOK || !bytes.Equal(body, h.hello.Zip) {
		t.Errorf("after the crash and fsck: got %d and %d bytes, want 200 and the zip", code, len(body))
	}
}

func TestFaultHungUpstream(t *testing.T) {
	h := newHermeticSetup(t)
	m := h.start(t, t.TempDir(), "--metadata-ttl", "1ms", "--stale-grace", "100ms",
		"--upstream-header-timeout", "1s", "--upstream-idle-timeout", "1s")
	if code, _ := get(t, m.URL+"/example.com/hello/@v/list"); code != http.StatusOK {
		t.Fatalf("first list: got %d", code)
	}
	h.up.setMode(modeHangAll)

	// A list past its TTL is served stale at once while the refresh hangs.
	resp, err := http.Get(m.URL + "/example.com/hello/@v/list")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Gomirror-Stale") != "true" || !strings.Contains(string(body), "v1.0.0") {
		t.Errorf("list with the upstream hanging: got %d %q, stale %q", resp.StatusCode, body, resp.Header.Get("X-Gomirror-Stale"))
	}

	// A file that is not stored fails with a 504 once the upstream has
	// kept its headers back for longer than the bound.
	code, body := get(t, m.URL+"/example.com/hello/@v/v1.1.0.zip")
	if code != http.StatusGatewayTimeout || strings.Count(strings.TrimSpace(string(body)), "\n") != 0 {
		t.Errorf("a fill whose upstream hangs: got %d %q, want 504 with one line", code, body)
	}

	// Once the upstream recovers, no request is trapped behind the hung fill.
	h.up.setMode(modeServe)
	code, body = get(t, m.URL+"/example.com/hello/@v/v1.1.0.zip")
	if code != http.StatusOK || len(body) == 0 {
		t.Errorf("after the upstream recovered: got %d", code)
	}
}

func TestFaultStaleLargeListInBoundedMemory(t *testing.T) {
	h := newHermeticSetup(t)
	// A list of 12 MiB, served stale to 40 clients at once while its
	// refresh hangs.
	var list bytes.Buffer
	for i := 0; list.Len() < 12<<20; i++ {
		fmt.Fprintf(&list, "v0.0.0-20200101000000-%012x\n", i)
	}
	h.up.set("example.com/hello/@v/list", list.Bytes())
	m := h.start(t, t.TempDir(), "--metadata-ttl", "1ms", "--stale-grace", "50ms", "--upstream-header-timeout", "2s")
	if code, body := get(t, m.URL+"/example.com/hello/@v/list"); code != http.StatusOK || len(body) != list.Len() {
		t.Fatalf("first list: got %d and %d bytes", code, len(body))
	}
	before := peakRSS(t, m.cmd.Process.Pid)
	h.up.setMode(modeHangAll)
	const clients = 40
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for range clients {
		wg.Go(func() {
			resp, err := http.Get(m.URL + "/example.com/hello/@v/list")
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			n, _ := io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK || n != int64(list.Len()) || resp.Header.Get("X-Gomirror-Stale") != "true" {
				errs <- fmt.Sprintf("got %d, %d bytes, stale %q", resp.StatusCode, n, resp.Header.Get("X-Gomirror-Stale"))
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	grown := peakRSS(t, m.cmd.Process.Pid) - before
	// Forty copies would be 480 MiB; the stored copy is streamed instead.
	if limit := int64(4 * list.Len()); grown > limit {
		t.Errorf("peak memory grew by %d MiB serving a stale 12 MiB list to %d clients, want under %d MiB",
			grown>>20, clients, limit>>20)
	}
}

// peakRSS returns the peak resident memory of process pid, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("peak memory cannot be read here: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

func TestFaultSlowClients(t *testing.T) {
	h := newHermeticSetup(t)
	big := bytes.Repeat([]byte("v1.0.0\n"), 15<<20/7)
	h.up.set("example.com/hello/@v/list", big)
	m := h.start(t, t.TempDir(), "--read-timeout", "500ms", "--write-timeout", "1s")
	addr := strings.TrimPrefix(m.URL, "http://")

	t.Run("slowloris", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /example.com/hello/@v/list HTTP/1.1\r\nHost: x\r\n")
		// Never finish the headers: the server must hang up by itself.
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server kept a connection with unfinished headers open (%d bytes read)", n)
		}
	})
	t.Run("slow reader", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A small receive window, so that kernel buffers cannot take the
		// whole response while the client reads nothing.
		c.(*net.TCPConn).SetReadBuffer(4096)
		io.WriteString(c, "GET /example.com/hello/@v/list HTTP/1.1\r\nHost: x\r\n\r\n")
		// Read nothing for longer than the write timeout, then drain: the
		// server must have cut the response short and let the request go
		// (what the kernel had already taken may still arrive).
		time.Sleep(2 * time.Second)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _ := io.Copy(io.Discard, c)
		if n >= int64(len(big)) {
			t.Errorf("the slow reader got the whole %d-byte list; want it cut off by the write timeout", len(big))
		}
		waitLog(t, m, `msg="request aborted" method=GET path=/example.com/hello/@v/list`)
	})
	// The server still serves everyone else.
	if code, _ := get(t, m.URL+"/example.com/hello/@v/v1.0.0.info"); code != http.StatusOK {
		t.Errorf("after the slow clients: got %d, want 200", code)
	}
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// waitLog waits for m's log to hold want.
func waitLog(t *testing.T, m *mirror, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(m.log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %s", want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
