package harness

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BrowserTimeout bounds all the work of one Browser.
const BrowserTimeout = 3 * time.Minute

// Browser starts headless Chromium (the Debian package at Chromium, with a
// private profile and no background traffic) for the test and returns a
// chromedp context driving one of its tabs. A missing Chromium fails the
// test, as any missing client does. The browser is shut down at cleanup.
func Browser(t testing.TB) context.Context {
	t.Helper()
	RequireTool(t, Chromium)
	profile := t.TempDir()
	out := &testLogWriter{t: t}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Env("HOME=" + profile),
		chromedp.CombinedOutput(out),
		chromedp.WSURLReadTimeout(time.Minute),
	}
	if os.Getenv("FS_BROWSER_VERBOSE") == "" {
		opts = append(opts, chromedp.Flag("log-level", "3"))
	}
	deadline, stop := context.WithTimeout(context.Background(), BrowserTimeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(deadline, opts...)
	ctx, cancelTab := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	// Registered after the profile's TempDir, so Chromium has exited
	// before its profile is removed.
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		stop()
		out.close()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", Chromium, err)
	}
	return ctx
}

// testLogWriter sends the browser's own output to the test log, until
// the test ends.
type testLogWriter struct {
	t      testing.TB
	mu     sync.Mutex
	closed bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Logf("chromium: %s", p)
	}
	return len(p), nil
}

func (w *testLogWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}
