package bot_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The referralbot binary, built at most once per test binary run by the
// first test that needs it and removed by TestMain.
var (
	binaryOnce sync.Once
	binaryDir  string
	binaryPath string
	binaryErr  error
)

// e2eParallel is how many tests run at once unless -parallel says: the
// end-to-end tests mostly wait (discordgo's Close sleeps a second, cron
// and the outbox tick on real time), so more of them than CPUs fit.
const e2eParallel = "8"

func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", e2eParallel)
	}
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// referralbotBinary builds ./cmd/referralbot once and returns its path.
func referralbotBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		binaryDir, binaryErr = os.MkdirTemp("", "referralbot-bin-")
		if binaryErr != nil {
			return
		}
		bin := filepath.Join(binaryDir, "referralbot")
		build := exec.Command("go", "build", "-o", bin, "./cmd/referralbot")
		build.Dir = ".." // the module root
		if out, err := build.CombinedOutput(); err != nil {
			binaryErr = fmt.Errorf("%w\n%s", err, out)
			return
		}
		binaryPath = bin
	})
	if binaryErr != nil {
		t.Fatalf("go build ./cmd/referralbot: %v", binaryErr)
	}
	return binaryPath
}
