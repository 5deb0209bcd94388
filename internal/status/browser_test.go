package status

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotEnv names a file the browser test also writes its desktop
// screenshot to (docs/status-page.png is made this way).
const screenshotEnv = "GOMIRROR_STATUS_SCREENSHOT"

// chromium returns the path of a Chromium, skipping the test when there
// is none outside CI, and failing it in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI must install it (scripts/test.sh)")
	}
	t.Skip("chromium is not installed: needs Debian's chromium package")
	return ""
}

// browser starts a headless Chromium with a fresh profile and returns a
// context to drive it, and a func that returns the console errors and
// uncaught exceptions of its pages so far.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelGuard := context.WithTimeout(ctx, 2*time.Minute) // a hang guard, not a timing assertion
	t.Cleanup(cancelGuard)

	var mu sync.Mutex
	var errs []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				errs = append(errs, m.String()+" ("+m.URL+")")
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// run runs a and fails the test on error.
func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func TestBrowserStatusPage(t *testing.T) {
	srv := httptest.NewServer(New(testMirrors(), Options{Now: func() time.Time { return now }}))
	defer srv.Close()
	ctx, consoleErrors := browser(t)

	// What a person sees on the status page: each mirror's row and state.
	run(t, ctx, "load the status page", chromedp.Navigate(srv.URL+"/"))
	if title := run(t, ctx, "read the title", chromedp.Title()); title != "gomirror" {
		t.Errorf("title: got %q, want gomirror", title)
	}
	want := map[string][]string{
		"go":     {"Go modules", "Synced", "2 hours ago", "in 4 hours", "https://proxy.golang.org", "How to use"},
		"sumdb":  {"Checksum database", "On demand"},
		"golang": {"Go archives", "Syncing"},
		"vuln":   {"Vulnerability database", "Failed", "502 Bad Gateway"},
		"oci":    {"OCI images", "Partly synced", "3 days ago"},
		"pypi":   {"PyPI", "Pending", "never"},
		"npm":    {"npm", "On demand", "unknown"},
	}
	for id, wants := range want {
		row := run(t, ctx, "read row "+id, chromedp.Text(chromedp.CSS("#mirror-"+id)))
		for _, w := range wants {
			if !strings.Contains(row, w) {
				t.Errorf("row %s reads %q, lacking %q", id, row, w)
			}
		}
	}
	png := run(t, ctx, "take a screenshot", chromedp.FullScreenshot(100))
	shot := filepath.Join(t.TempDir(), "status-page.png")
	writeShot(t, shot, png)
	if dst := os.Getenv(screenshotEnv); dst != "" {
		writeShot(t, dst, png)
	}

	// On a phone, rows become cards and the table head is hidden.
	run(t, ctx, "emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	run(t, ctx, "load the status page on a phone", chromedp.Navigate(srv.URL+"/"))
	if d := run(t, ctx, "read the table head's display", chromedp.Evaluate[string](`getComputedStyle(document.querySelector("thead")).display`)); d != "none" {
		t.Errorf("on a phone the table head shows (display %q), want cards", d)
	}
	if w := run(t, ctx, "read the page's width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("on a phone the page is %d px wide, want no horizontal scrolling past 390", w)
	}
	writeShot(t, filepath.Join(filepath.Dir(shot), "status-page-phone.png"), run(t, ctx, "take a phone screenshot", chromedp.FullScreenshot(100)))
	run(t, ctx, "reset the viewport", chromedp.ResetViewport())

	// Each help page shows the copy-paste lines with this server's URL.
	host := strings.TrimPrefix(srv.URL, "http://")
	for id, lines := range wantHelp {
		run(t, ctx, "load /help/"+id, chromedp.Navigate(srv.URL+"/help/"+id))
		text := run(t, ctx, "read /help/"+id, chromedp.Text(chromedp.CSS("main")))
		for _, line := range lines {
			line = strings.ReplaceAll(line, "mirror.example:8080", host)
			line = strings.ReplaceAll(line, "mirror.example", "127.0.0.1")
			if !strings.Contains(text, line) {
				t.Errorf("/help/%s as seen lacks %q", id, line)
			}
		}
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

func writeShot(t *testing.T, path string, png []byte) {
	t.Helper()
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
