package referral

import (
	"strings"
	"testing"
	"unicode"
)

func TestNormalizeCompany(t *testing.T) {
	amazon := Company{Key: "amazon", Name: "Amazon"}
	meta := Company{Key: "meta", Name: "Meta"}
	google := Company{Key: "google", Name: "Google"}
	microsoft := Company{Key: "microsoft", Name: "Microsoft"}
	x := Company{Key: "x", Name: "X"}
	jpm := Company{Key: "jpmorganchase", Name: "JPMorgan Chase"}
	bytedance := Company{Key: "bytedance", Name: "ByteDance"}
	tests := []struct {
		in   string
		want Company
	}{
		// aliases
		{"Amazon", amazon},
		{"amazon", amazon},
		{"AWS", amazon},
		{"Amazon Web Services", amazon},
		{"Amazon.com", amazon},
		{"Amazon.com, Inc.", amazon},
		{"Facebook", meta},
		{"Meta Platforms, Inc.", meta},
		{"Instagram", meta},
		{"WhatsApp", meta},
		{"Alphabet", google},
		{"Google LLC", google},
		{"YouTube", google},
		{"DeepMind", google},
		{"Google DeepMind", google},
		{"MSFT", microsoft},
		{"LinkedIn", microsoft},
		{"GitHub", microsoft},
		{"Microsoft Corporation", microsoft},
		{"Twitter", x},
		{"X Corp", x},
		{"X Corp.", x},
		{"x", x},
		{"JPMorgan Chase", jpm},
		{"JPMC", jpm},
		{"J.P. Morgan", jpm},
		{"jp morgan", jpm},
		{"JP-Morgan", jpm},
		{"J.P. Morgan Chase & Co.", jpm},
		{"Bytedance", bytedance},
		{"TikTok", bytedance},
		{"tik tok", bytedance},
		// case, spaces, punctuation
		{"  GOOGLE  ", google},
		{"g.o.o.g.l.e", google},
		{"Goldman Sachs & Co. LLC", Company{Key: "goldmansachs", Name: "Goldman Sachs"}},
		{"Samsung Electronics Co., Ltd.", Company{Key: "samsung", Name: "Samsung"}},
		{"Bloomberg L.P.", Company{Key: "bloomberg", Name: "Bloomberg"}},
		{"Spotify AB", Company{Key: "spotify", Name: "Spotify"}},
		{"Banco Santander, S.A.", Company{Key: "bancosantander", Name: "Banco Santander, S.A."}},
		{"Acme L.L.C.", Company{Key: "acme", Name: "Acme L.L.C."}},
		{"societe generale", Company{Key: "sociétégénérale", Name: "Société Générale"}},
		{"SOCIÉTÉ GÉNÉRALE", Company{Key: "sociétégénérale", Name: "Société Générale"}},
		// unknown names keep their spelling
		{"  Acme   Widgets\tInc. ", Company{Key: "acmewidgets", Name: "Acme Widgets Inc."}},
		{"acme widgets, llc", Company{Key: "acmewidgets", Name: "acme widgets, llc"}},
		{"Initech GmbH", Company{Key: "initech", Name: "Initech GmbH"}},
		{"Hooli Corp", Company{Key: "hooli", Name: "Hooli Corp"}},
		{"Hooli Co", Company{Key: "hooli", Name: "Hooli Co"}},
		{"Pied Piper Ltd", Company{Key: "piedpiper", Name: "Pied Piper Ltd"}},
		{"Macy's", Company{Key: "macys", Name: "Macy's"}},
		{"AT&T", Company{Key: "att", Name: "AT&T"}},
		{"3M", Company{Key: "3m", Name: "3M"}},
		{"Crédit Agricole", Company{Key: "créditagricole", Name: "Crédit Agricole"}},
		{"Яндекс", Company{Key: "яндекс", Name: "Яндекс"}},
		{"腾讯", Company{Key: "腾讯", Name: "腾讯"}},
		// a suffix alone is a name, not nothing
		{"Inc.", Company{Key: "inc", Name: "Inc."}},
		{"Co", Company{Key: "co", Name: "Co"}},
		// nothing to compare
		{"", Company{}},
		{"   ", Company{}},
		{"!!! ---", Company{}},
	}
	for _, tt := range tests {
		if got := NormalizeCompany(tt.in); got != tt.want {
			t.Errorf("NormalizeCompany(%q) = %+v; want %+v", tt.in, got, tt.want)
		}
	}
}

// TestCompanyTable checks that every alias lands on its own company (no two
// entries claim the same key) and that canonical names are fixed points.
func TestCompanyTable(t *testing.T) {
	for _, e := range companyTable {
		want := NormalizeCompany(e.name)
		if want.Name != e.name {
			t.Errorf("NormalizeCompany(%q) = %+v; want Name %q", e.name, want, e.name)
		}
		for _, a := range e.aliases {
			if got := NormalizeCompany(a); got != want {
				t.Errorf("NormalizeCompany(%q) = %+v; want %+v", a, got, want)
			}
		}
	}
	if n := len(companyTable); n < 30 {
		t.Errorf("companyTable has %d companies; want at least 30", n)
	}
}

func TestParseCompanies(t *testing.T) {
	tests := []struct {
		in   string
		want string // Names joined by "|"
	}{
		{"Amazon, AWS", "Amazon"},
		{"Amazon, Google", "Amazon|Google"},
		{"google; amazon\nmeta", "Google|Amazon|Meta"},
		{"AWS, Facebook, amazon.com, Instagram, Stripe", "Amazon|Meta|Stripe"},
		{" , Acme Inc. ,, acme, ACME LLC ;", "Acme Inc."},
		{"Jane Street\r\nTwo Sigma", "Jane Street|Two Sigma"},
		{"a,b,c,d,e,f,g,h,i,j", "a|b|c|d|e|f|g|h|i|j"},
		{"a,b,c,d,e,f,g,h,i,j,A,B", "a|b|c|d|e|f|g|h|i|j"}, // duplicates don't count
		{"???, Amazon", "Amazon"},
		{strings.Repeat("é", MaxCompanyLen), strings.Repeat("é", MaxCompanyLen)},
	}
	for _, tt := range tests {
		cs, err := ParseCompanies(tt.in)
		if err != nil {
			t.Errorf("ParseCompanies(%q) error %v; want %s", tt.in, err, tt.want)
			continue
		}
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
		}
		if got := strings.Join(names, "|"); got != tt.want {
			t.Errorf("ParseCompanies(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseCompaniesErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // substring of the error
	}{
		{"", "no company"},
		{" , ;\n ", "no company"},
		{"!!!", "no company"},
		{"a,b,c,d,e,f,g,h,i,j,k", "at most 10"},
		{strings.Repeat("é", MaxCompanyLen+1), "more than 60"},
		{"Amazon Google Meta Microsoft Apple Netflix Stripe Shopify Uber Airbnb", "commas"},
	}
	for _, tt := range tests {
		cs, err := ParseCompanies(tt.in)
		if err == nil {
			t.Errorf("ParseCompanies(%q) = %+v; want an error mentioning %q", tt.in, cs, tt.want)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "companies: ") || !strings.Contains(msg, tt.want) {
			t.Errorf("ParseCompanies(%q) error %q; want it to start with \"companies: \" and mention %q", tt.in, msg, tt.want)
		}
		if cs != nil {
			t.Errorf("ParseCompanies(%q) = %+v with an error; want nil", tt.in, cs)
		}
	}
}

func TestMatchCompanies(t *testing.T) {
	var known []Company
	for _, n := range []string{"Stripe", "Amazon", "Meta", "Goldman Sachs", "Morgan Stanley", "JPMorgan Chase", "Airbnb", "Shopify", "Instacart", "Snap", "amazon"} {
		known = append(known, NormalizeCompany(n))
	}
	tests := []struct {
		query string
		limit int
		want  string
	}{
		{"", 25, "Airbnb|Amazon|Goldman Sachs|Instacart|JPMorgan Chase|Meta|Morgan Stanley|Shopify|Snap|Stripe"},
		{"", 3, "Airbnb|Amazon|Goldman Sachs"},
		{"  ", 25, "Airbnb|Amazon|Goldman Sachs|Instacart|JPMorgan Chase|Meta|Morgan Stanley|Shopify|Snap|Stripe"},
		{"s", 25, "Shopify|Snap|Stripe|Goldman Sachs|Instacart|JPMorgan Chase|Morgan Stanley"},
		{"S", 2, "Shopify|Snap"},
		{"morgan", 25, "Morgan Stanley|JPMorgan Chase"},
		{"J.P. Mor", 25, "JPMorgan Chase"},
		{"aws", 25, "Amazon"},
		{"face", 25, "Meta"},
		{"insta", 25, "Instacart|Meta"},
		{"AMAZON INC", 25, "Amazon"},
		{"sachs", 25, "Goldman Sachs"},
		{"zzz", 25, ""},
		{"a", 0, ""},
	}
	for _, tt := range tests {
		var names []string
		for _, c := range MatchCompanies(tt.query, known, tt.limit) {
			names = append(names, c.Name)
		}
		if got := strings.Join(names, "|"); got != tt.want {
			t.Errorf("MatchCompanies(%q, known, %d) = %s; want %s", tt.query, tt.limit, got, tt.want)
		}
	}
}

func keyIsClean(key string) bool {
	for _, r := range key {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r)) || unicode.IsUpper(r) || unicode.IsTitle(r) {
			return false
		}
	}
	return true
}

func FuzzNormalizeCompany(f *testing.F) {
	for _, s := range []string{"Amazon.com, Inc.", "J.P. Morgan", "Société Générale", "  Acme   Co  ", "ϒ\u0301\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c := NormalizeCompany(name)
		if !keyIsClean(c.Key) {
			t.Fatalf("NormalizeCompany(%q) = %+v; want a key of lowercase letters and digits", name, c)
		}
		if strings.ContainsFunc(c.Name, isBidiControl) {
			t.Fatalf("NormalizeCompany(%q) = %+v; want a name without bidirectional controls", name, c)
		}
		if (c.Key == "") != (c.Name == "") {
			t.Fatalf("NormalizeCompany(%q) = %+v; want Key and Name both set or both empty", name, c)
		}
		if again := NormalizeCompany(c.Name); again != c {
			t.Fatalf("NormalizeCompany(%q) = %+v; want %+v (normalising Name again)", c.Name, again, c)
		}
		if _, err := ParseCompanies(name); err == nil && c.Key == "" && !strings.ContainsAny(name, ",;\n\r") {
			t.Fatalf("ParseCompanies(%q) = no error; want one for a name without letters or digits", name)
		}
	})
}
