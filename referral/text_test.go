package referral

import (
	"strings"
	"testing"
)

func TestCleanTextRemovesInvisibleKeepsOrdinaryUnicode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"Zoë from Universidad de São Paulo", "Zoë from Universidad de São Paulo"},
		{"我是计算机专业的学生", "我是计算机专业的学生"},
		{"I ship 🚀 and 👩‍💻 daily ❤️", "I ship 🚀 and 👩‍💻 daily ❤️"}, // ZWJ and variation selector stay
		{"flag 🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F ok", "flag 🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F ok"},
		{"line one\nline two\tand a tab", "line one\nline two\tand a tab"},
		{"evil \u202Efdp.exe", "evil fdp.exe"},                       // right-to-left override
		{"\u202Aembedded\u202C \u202Bright\u202C", "embedded right"}, // embeddings and pop
		{"\u2066iso\u2069 \u2067rtl\u2069 \u2068first\u2069", "iso rtl first"},
		{"marks \u200E\u200F\u061C gone", "marks  gone"},
		{"zero\u200Bwidth\u2060joiner\uFEFF", "zerowidthjoiner"},
		{"soft\u00ADhyphen", "softhyphen"},
		{"bell\a and esc\x1b[31m", "bell and esc[31m"},
		{"c1 \u0085\u009b here", "c1  here"},
		{"tags \U000E0001\U000E0041\U000E0042 smuggled", "tags  smuggled"}, // tags outside a flag
	}
	for _, tt := range tests {
		if got := CleanText(tt.in); got != tt.want {
			t.Errorf("CleanText(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestRequestFieldsCleanStripsBidiFromEveryField(t *testing.T) {
	in := RequestFields{
		JobURL:    "https://careers.example.com/\u202Ejobs/1",
		Role:      "Software\u2066 Engineer\u2069 Intern",
		Intro:     "I am a third-year \u202Ecomputer science\u202C student at Example University who built a compiler.",
		ResumeURL: "https://drive.example.org/\u200Bresume",
		Note:      "Note \u2067with\u2069 isolate",
	}
	c := in.Clean()
	for _, v := range []string{c.JobURL, c.Role, c.Intro, c.ResumeURL, c.Note} {
		if strings.ContainsFunc(v, invisible) {
			t.Errorf("Clean() field %q still holds an invisible character", v)
		}
	}
	if c.Role != "Software Engineer Intern" {
		t.Errorf("Clean().Role = %q; want %q", c.Role, "Software Engineer Intern")
	}
}

func TestLinksToPrivateAddressesRefused(t *testing.T) {
	refused := []string{
		"http://127.0.0.1/resume.html", "https://127.8.9.10/x", "http://10.0.0.5/jobs", "https://172.16.0.1/a",
		"https://172.31.255.255/a", "http://192.168.1.1/admin", "http://169.254.169.254/latest/meta-data",
		"http://[::1]/x", "http://[fc00::1]/x", "http://[fd12:3456::1]/x", "http://[fe80::1]/x", "http://0.0.0.0/x",
		"http://[::ffff:127.0.0.1]/x", "http://[::]/x", "http://224.0.0.1/x",
	}
	for _, link := range refused {
		if got := checkLink(link); got != linkNoHost {
			t.Errorf("checkLink(%q) = %v; want linkNoHost (same as localhost)", link, got)
		}
		f := goodFields()
		f.ResumeURL = link
		ps := f.Validate()
		if len(ps) != 1 || ps[0].Field != FieldResumeURL || !strings.Contains(ps[0].Message, "doesn't name a website") {
			t.Errorf("Validate with resume_url %q = %+v; want one resume_url problem that it doesn't name a website", link, ps)
		}
	}
	for _, link := range []string{"https://8.8.8.8/jobs", "http://[2001:db8::1]/x", "https://172.32.0.1/x", "https://192.169.0.1/x"} {
		if got := checkLink(link); got != linkOK {
			t.Errorf("checkLink(%q) = %v; want linkOK for a public address", link, got)
		}
	}
}

func TestCompanyNamesMustReadAsNames(t *testing.T) {
	refused := []struct{ in, want string }{
		{"<@123456789012345678>", "is a mention"},
		{"<@!123456789012345678>", "is a mention"},
		{"<@&123456789012345678>", "is a mention"},
		{"<#123456789012345678>", "is a mention"},
		{"@everyone", "is a mention"},
		{"Google, @here", "is a mention"},
		{"**", "only formatting characters"},
		{"Amazon, ||  ||", "only formatting characters"},
		{"> ~~", "only formatting characters"},
		{"``", "only formatting characters"},
	}
	for _, tt := range refused {
		_, err := ParseCompanies(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "companies:") {
			t.Errorf("ParseCompanies(%q) error = %v; want one starting companies: that says %q", tt.in, err, tt.want)
		}
		if !strings.Contains(tt.in, ",") {
			_, err := ParseCompany(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "company:") {
				t.Errorf("ParseCompany(%q) error = %v; want one starting company: that says %q", tt.in, err, tt.want)
			}
		}
	}
	for _, name := range []string{"AT&T", "E*TRADE", "Yahoo!", "Procter & Gamble", "Société Générale", "株式会社メルカリ", "email@here.com"} {
		c, err := ParseCompany(name)
		if err != nil || c.Key == "" {
			t.Errorf("ParseCompany(%q) = %+v, %v; want a company", name, c, err)
		}
	}
	if c, err := ParseCompany("Goo\u202Egle"); err != nil || c.Name != "Google" {
		t.Errorf("ParseCompany(%q) = %+v, %v; want Google with the override removed", "Goo\u202Egle", c, err)
	}
	if _, err := ParseCompany("   "); err == nil || !strings.HasPrefix(err.Error(), "company:") {
		t.Errorf("ParseCompany(blank) error = %v; want a company: error", err)
	}
}

func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"plain", "evil \u202Efdp.exe", "🏴\U000E0067\U000E007F", "\U000E0041", "\xff\u2066"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := CleanText(s)
		if again := CleanText(c); again != c {
			t.Fatalf("CleanText(CleanText(%q)) = %q; want %q", s, again, c)
		}
		for _, r := range c {
			if (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x200B {
				t.Fatalf("CleanText(%q) = %q; still holds U+%04X", s, c, r)
			}
		}
	})
}
