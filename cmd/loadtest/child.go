package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildBot compiles ./cmd/referralbot into dir.
func buildBot(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	out := filepath.Join(dir, "referralbot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/referralbot/referralbot/cmd/referralbot")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build referralbot (or pass -bin): %w", err)
	}
	return out, nil
}

// botConfig is what the generated config sets; the rest keeps its defaults.
type botConfig struct {
	apiURL, dbPath, dbURL, listen, guildID string
	publicKey                              string // http mode when set
	sweep                                  string
	offerTimeout                           time.Duration
	capacity                               int
}

func (c botConfig) yaml() string {
	interactions, database := "gateway", fmt.Sprintf("path: %q", c.dbPath)
	if c.publicKey != "" {
		interactions = fmt.Sprintf("http\n  public_key: %q", c.publicKey)
	}
	if c.dbURL != "" {
		database = fmt.Sprintf("url: %q", c.dbURL)
	}
	return fmt.Sprintf(`# written by cmd/loadtest
discord:
  token: loadtest-token
  guild_ids: [%q]
  api_url: %q
  interactions: %s
database:
  %s
schedule:
  sweep: %q
  digest: "0 9 * * MON"
referrals:
  offer_timeout: %ds
  nudges: [2s, 1h]
  max_open_per_student: 20
  referrer_capacity: %d
http:
  listen: %q
  interactions_path: /interactions
log:
  level: warn
`, c.guildID, c.apiURL, interactions, database, c.sweep, int(c.offerTimeout/time.Second), c.capacity, c.listen)
}

// writeConfig writes the config and has the binary check it, so a bad one
// fails with the bot's own message naming the key.
func writeConfig(ctx context.Context, bin, path string, c botConfig) error {
	if err := os.WriteFile(path, []byte(c.yaml()), 0o600); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, bin, "check-config", "-config", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s check-config: %w\n%s", bin, err, out)
	}
	return nil
}

// freeLoopbackAddr picks a free port on 127.0.0.1 for the bot's http.listen.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// mustLoopback refuses any address that is not on this machine.
func mustLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address; loadtest only loads this machine", rawURL)
	}
	return nil
}

// child is a process this command started; stop ends it by its PID.
type child struct {
	name    string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error // valid once done is closed
	logPath string
}

func startChild(name, logPath string, verbose bool, stderr io.Writer, bin string, args ...string) (*child, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	var out io.Writer = logFile
	if verbose {
		out = io.MultiWriter(logFile, stderr)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a Ctrl-C reaches only this command, which
	// then stops the child in order; and a signal if this command dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{}), logPath: logPath}
	go func() {
		c.err = cmd.Wait()
		logFile.Close()
		close(c.done)
	}()
	return c, nil
}

// exited reports an error if the child is gone.
func (c *child) exited() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s (pid %d) exited: %v; its log ends:\n%s", c.name, c.cmd.Process.Pid, c.err, c.logTail())
	default:
		return nil
	}
}

// stop sends SIGTERM to the child's PID, and SIGKILL after 10 s.
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func (c *child) logTail() string {
	b, _ := os.ReadFile(c.logPath)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// memory is a child's resident memory from /proc/PID/status, in bytes.
type memory struct{ rss, hwm int64 }

func (c *child) memory() (memory, error) { return procMemory(c.cmd.Process.Pid) }

func procMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	var m memory
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), ":")
		if !found {
			continue
		}
		fields := strings.Fields(v) // "12345 kB"
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			m.rss = n << 10
		case "VmHWM":
			m.hwm = n << 10
		}
	}
	return m, nil
}

// cpu is the CPU time (user and system) a process has used so far, from
// /proc/PID/stat; clock ticks are 1/100 s on Linux.
func cpu(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime is the
	// 14th field of the line, stime the 15th.
	_, rest, found := strings.Cut(string(b), ") ")
	fields := strings.Fields(rest)
	if !found || len(fields) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// scrape reads the named samples (without labels) from the bot's /metrics.
func scrape(ctx context.Context, addr string, names ...string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, found := strings.Cut(sc.Text(), " ")
		if !found {
			continue
		}
		for _, want := range names {
			if name == want {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err == nil {
					out[name] = f
				}
			}
		}
	}
	return out, sc.Err()
}

// waitHealthy polls the bot's /healthz until it answers 200.
func waitHealthy(ctx context.Context, addr string, bot *child) error {
	for {
		if err := bot.exited(); err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("bot not healthy at http://%s/healthz", addr), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
