// Package browsertest runs a real headless Chromium for the tests of the
// web dashboard, and records what the pages it opens ask for and what
// Chromium complains about (CSP refusals, failed loads, script), so a test
// can check the page as a member's browser shows it.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Timeout bounds everything one test does in its browser after start.
const Timeout = 60 * time.Second

// ExecPath finds Debian's chromium, or fails the test saying how to
// install it; CI installs it in .ci/run.
func ExecPath(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatalf("chromium is not installed: this test drives a real headless Chromium. Install it with " +
		"`DEBIAN_FRONTEND=noninteractive apt-get install -y chromium` (as root; .ci/run does this when it is missing)")
	return ""
}

// ArtifactDir is where screenshots go: $REFERRALBOT_ARTIFACTS, or a
// temporary directory of the test.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("REFERRALBOT_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("REFERRALBOT_ARTIFACTS=%s: %v", dir, err)
	}
	return dir
}

// Browser is one headless Chromium with a new empty profile and one tab.
type Browser struct {
	t   testing.TB
	ctx context.Context // the tab, bounded by Timeout

	artifacts string // ArtifactDir, once a screenshot needs it

	mu       sync.Mutex // the events arrive on chromedp's goroutine
	requests []string
	problems []string
}

// Start starts Chromium for the test; it is closed when the test ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	exe := ExecPath(t)
	output := &lockedBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), // a new empty profile
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(output),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	// The first run starts the browser; a deadline on it would stop the
	// whole browser when it passes, so the deadline comes after.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium (%s): %v\n%s", exe, err, output.String())
	}
	b := &Browser{t: t}
	if err := chromedp.Listen(bctx, b.listen); err != nil {
		t.Fatalf("listen to chromium's events: %v", err)
	}
	tctx, cancel := context.WithTimeout(bctx, Timeout)
	t.Cleanup(cancel)
	b.ctx = tctx
	return b
}

// Context is the tab's context, for chromedp.Run and chromedp.Do.
func (b *Browser) Context() context.Context { return b.ctx }

func (b *Browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	case *cdplog.EventEntryAdded:
		// CSP refusals, failed loads and the like arrive here.
		b.problems = append(b.problems, fmt.Sprintf("%s %s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
	case *runtime.EventConsoleAPICalled:
		b.problems = append(b.problems, "console."+string(ev.Type))
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text)
	}
}

// Requests lists the URLs the tab has asked for so far, in order.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// Problems lists what Chromium has reported so far: log entries (CSP
// refusals, failed loads), console calls and exceptions.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// OtherOrigins lists the requests so far to anything but the scheme and
// host of base (and those that are not URLs at all).
func (b *Browser) OtherOrigins(base string) []string {
	b.t.Helper()
	origin, err := url.Parse(base)
	if err != nil {
		b.t.Fatalf("OtherOrigins(%q): %v", base, err)
	}
	var out []string
	for _, r := range b.Requests() {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != origin.Scheme || u.Host != origin.Host {
			out = append(out, r)
		}
	}
	return out
}

// ComputedStyle is the computed value of property on the first element
// sel matches, or "" if the element has no such property.
func (b *Browser) ComputedStyle(sel, property string) string {
	b.t.Helper()
	props, err := chromedp.Run(b.ctx, chromedp.ComputedStyle(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("computed style of %s: %v", sel, err)
	}
	for _, p := range props {
		if p.Name == property {
			return p.Value
		}
	}
	return ""
}

// Screenshot writes the whole page as PNG to name in ArtifactDir, logs
// and returns the path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if b.artifacts == "" {
		b.artifacts = ArtifactDir(b.t)
	}
	path := filepath.Join(b.artifacts, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

// lockedBuffer keeps Chromium's output, written from chromedp's goroutine,
// for the message of a failed start.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
