package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// callbackResponder answers gateway interactions by POSTing the callback
// through the session's client itself. discordgo v0.29.0 keeps a rate-limit
// bucket for every distinct URL and never drops one; every callback URL
// holds the interaction's id and token, so answering through the session
// grows its memory with every interaction handled. Callbacks are not
// rate limited per route anyway, and must land within Discord's 3 s.
type callbackResponder struct {
	s *discordgo.Session
	// budget is how long one answer may take in all, retry included.
	budget time.Duration
	// pause is the wait before retrying a 5xx or a failed connection.
	pause time.Duration
}

func newCallbackResponder(s *discordgo.Session) *callbackResponder {
	return &callbackResponder{s: s, budget: 3 * time.Second, pause: 100 * time.Millisecond}
}

// InteractionRespond encodes r exactly as discordgo does (JSON, or
// multipart with payload_json and files[n] when it carries files) and
// sends it, retrying once after a 429 or a 5xx if the wait fits the budget.
func (c *callbackResponder) InteractionRespond(i *discordgo.Interaction, r *discordgo.InteractionResponse, options ...discordgo.RequestOption) error {
	var files []*discordgo.File
	if r.Data != nil {
		files = r.Data.Files
	}
	return c.send(http.MethodPost, discordgo.EndpointInteractionResponse(i.ID, i.Token), r, files, options)
}

// send encodes data (with files, as multipart) and sends it within the
// budget, retrying once after a 429 or a 5xx if the wait fits.
func (c *callbackResponder) send(method, endpoint string, data any, files []*discordgo.File, options []discordgo.RequestOption) error {
	contentType, body := "application/json", []byte(nil)
	var err error
	if len(files) > 0 {
		contentType, body, err = discordgo.MultipartBodyWithJSON(data, files)
	} else {
		body, err = discordgo.Marshal(data)
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.budget)
	defer cancel()
	for attempt := 0; ; attempt++ {
		wait, err := c.post(ctx, method, endpoint, contentType, body, options)
		if wait < 0 || attempt > 0 {
			return err
		}
		if deadline, _ := ctx.Deadline(); time.Until(deadline) < wait+200*time.Millisecond {
			return err // no time left to be heard
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}

// post sends one attempt. wait >= 0 says it may be retried after wait.
func (c *callbackResponder) post(ctx context.Context, method, endpoint, contentType string, body []byte, options []discordgo.RequestOption) (wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, method, endpoint, bytes.NewReader(body))
	if err != nil {
		return -1, err
	}
	if c.s.Token != "" {
		req.Header.Set("Authorization", c.s.Token)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", c.s.UserAgent)
	cfg := &discordgo.RequestConfig{Request: req, Client: c.s.Client, MaxRestRetries: c.s.MaxRestRetries,
		ShouldRetryOnRateLimit: c.s.ShouldRetryOnRateLimit}
	for _, o := range options {
		o(cfg)
	}
	resp, err := cfg.Client.Do(cfg.Request)
	if err != nil {
		// The URL holds the interaction token: keep it out of the error.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = fmt.Errorf("%s interaction answer: %w", strings.ToLower(method), uerr.Err)
		}
		if ctx.Err() != nil {
			return -1, err
		}
		return c.pause, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) // read to the end, so the connection is reused
		return -1, nil
	}
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return -1, err
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		wait = c.pause
		var rl discordgo.TooManyRequests
		if discordgo.Unmarshal(respBody, &rl) == nil && rl.RetryAfter > 0 {
			wait = rl.RetryAfter
		}
		return wait, restError(req, resp, respBody)
	case resp.StatusCode >= 500:
		return c.pause, restError(req, resp, respBody)
	}
	return -1, restError(req, resp, respBody)
}

// restError is discordgo's error for a refused call, so callers that
// inspect *discordgo.RESTError keep working.
func restError(req *http.Request, resp *http.Response, body []byte) error {
	e := &discordgo.RESTError{Request: req, Response: resp, ResponseBody: body}
	var msg *discordgo.APIErrorMessage
	if discordgo.Unmarshal(body, &msg) == nil {
		e.Message = msg
	}
	return e
}

// EditOriginal completes a deferral by editing the interaction's original
// message, through the same path as the callback (no rate-limit bucket
// per token URL, one retry).
func (c *callbackResponder) EditOriginal(i *discordgo.Interaction, edit *discordgo.WebhookEdit) error {
	return c.send(http.MethodPatch, discordgo.EndpointWebhookMessage(i.AppID, i.Token, "@original"), edit, edit.Files, nil)
}

// Followup completes a deferral with a new message.
func (c *callbackResponder) Followup(i *discordgo.Interaction, params *discordgo.WebhookParams) error {
	return c.send(http.MethodPost, discordgo.EndpointWebhookToken(i.AppID, i.Token), params, params.Files, nil)
}
