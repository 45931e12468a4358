package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// healthcheck asks the running bot's /healthz, at http.listen, whether it is
// well: the Dockerfile's HEALTHCHECK runs it, as the slim image has no curl.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := configFlags("healthcheck", args, tokenOptional(getenv), stderr)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("healthcheck: unexpected argument %q; the only flag is -config FILE", rest[0])
	}
	target, err := healthzURL(cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: nothing answers at %s (%v); is the bot running with this config?", target, errors.Unwrap(err))
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s: %s", target, res.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "ok: %s answered %s\n", target, res.Status)
	return nil
}

// healthzURL is where /healthz answers for a bot listening on listen: a
// wildcard address is reached on loopback, as the check runs beside the bot.
func healthzURL(listen string) (string, error) {
	if listen == "" {
		return "", errors.New("http.listen is empty, so the bot serves no /healthz; set http.listen, e.g. 127.0.0.1:8080")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("http.listen %q is not host:port: %v", listen, err)
	}
	if port == "0" {
		return "", fmt.Errorf("http.listen %q picks a random port, which the healthcheck cannot find; set a fixed port, e.g. 127.0.0.1:8080", listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
