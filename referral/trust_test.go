package referral

import (
	"bytes"
	"strings"
	"testing"
)

func TestWorkEmailDomain(t *testing.T) {
	tests := []struct {
		in, domain, err string
	}{
		{"jane.doe@amazon.com", "amazon.com", ""},
		{"  Jane.Doe@Amazon.COM ", "amazon.com", ""},
		{"j+ref@mail.corp.example.co.uk", "mail.corp.example.co.uk", ""},
		{"jane@gmail.com", "", "personal mail provider"},
		{"jane@Outlook.com", "", "personal mail provider"},
		{"Jane <jane@amazon.com>", "", "doesn't look like an email"},
		{"jane", "", "doesn't look like an email"},
		{"", "", "doesn't look like an email"},
		{"jane@localhost", "", "no company domain"},
		{"jane@[127.0.0.1]", "", ""},
		{"jane@-bad.com", "", "no company domain"},
		{"a@b.c@d.com", "", "doesn't look like an email"},
		{strings.Repeat("a", 250) + "@x.com", "", "doesn't look like an email"},
	}
	for _, tt := range tests {
		d, err := WorkEmailDomain(tt.in)
		switch {
		case tt.err == "" && tt.domain != "" && (err != nil || d != tt.domain):
			t.Errorf("WorkEmailDomain(%q) = %q, %v; want %q", tt.in, d, err, tt.domain)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("WorkEmailDomain(%q) error = %v; want %q", tt.in, err, tt.err)
		case tt.err == "" && tt.domain == "" && err == nil:
			t.Errorf("WorkEmailDomain(%q) = %q; want a refusal", tt.in, d)
		}
	}
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != CodeDigits || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("NewCode() = %q; want %d digits", c, CodeDigits)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Errorf("200 codes gave only %d different ones", len(seen))
	}
}

func TestHashCode(t *testing.T) {
	salt := []byte("0123456789abcdef")
	h := HashCode(salt, "123456")
	if len(h) != 32 || bytes.Contains(h, []byte("123456")) {
		t.Errorf("HashCode = %x; want 32 bytes without the code", h)
	}
	if !bytes.Equal(h, HashCode(salt, " 123-456 ")) {
		t.Errorf("a pasted code with spaces and a dash hashes differently")
	}
	if bytes.Equal(h, HashCode([]byte("another salt....."), "123456")) || bytes.Equal(h, HashCode(salt, "123457")) {
		t.Errorf("different salt or code gave the same hash")
	}
}
