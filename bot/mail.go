package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/referralbot/referralbot/commands"
	"github.com/referralbot/referralbot/config"
)

// mailTimeout bounds one delivery to the mail server, connection included.
const mailTimeout = 30 * time.Second

// mailer sends the verification emails of /referrer verify through the
// smtp: settings with go-mail. Each Send runs in its own goroutine; close
// cancels what is still running and waits for it, so nothing touches the
// store after the bot stopped.
type mailer struct {
	cfg    config.SMTP
	logger *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

var _ commands.Mailer = (*mailer)(nil)

func newMailer(cfg config.SMTP, logger *slog.Logger) *mailer {
	ctx, cancel := context.WithCancel(context.Background())
	return &mailer{cfg: cfg, logger: logger, ctx: ctx, cancel: cancel}
}

// Send delivers m in the background and calls done with the result.
func (m *mailer) Send(msg commands.Mail, done func(error)) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		done(errors.New("the bot is shutting down"))
		return
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(m.ctx, mailTimeout)
		defer cancel()
		done(m.send(ctx, msg))
	}()
}

// close stops new mails, cancels the ones in flight and waits for them.
func (m *mailer) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

func (m *mailer) send(ctx context.Context, in commands.Mail) error {
	msg := mail.NewMsg()
	if err := msg.From(m.cfg.From); err != nil {
		return fmt.Errorf("smtp.from: %w", err)
	}
	if err := msg.To(in.To); err != nil {
		return errors.New("the address was refused as invalid")
	}
	msg.Subject(in.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, in.Text)

	client, err := mail.NewClient(m.cfg.Host, m.clientOptions()...)
	if err != nil {
		return fmt.Errorf("mail client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail server: %w", err)
	}
	return nil
}

// clientOptions: port 465 is implicit TLS; any other port must offer
// STARTTLS, except a relay on this machine (loopback), where TLS is used
// when offered. Credentials are sent only when a username is set.
func (m *mailer) clientOptions() []mail.Option {
	opts := []mail.Option{mail.WithPort(m.cfg.Port), mail.WithTimeout(mailTimeout)}
	loopback := isLoopback(m.cfg.Host)
	switch {
	case m.cfg.Port == 465:
		opts = append(opts, mail.WithSSL())
	case loopback:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if m.cfg.Username != "" {
		auth := mail.SMTPAuthAutoDiscover
		if loopback {
			// Discovery offers no plain-text mechanism without TLS; go-mail
			// allows PLAIN unencrypted to a loopback address only.
			auth = mail.SMTPAuthPlain
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(m.cfg.Username), mail.WithPassword(m.cfg.Password))
	}
	return opts
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
