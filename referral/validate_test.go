package referral

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// goodFields is a request every rule accepts; tests break one field at a time.
func goodFields() RequestFields {
	return RequestFields{
		JobURL:    "https://www.amazon.jobs/en/jobs/2871234/software-development-engineer-intern",
		Role:      "Software Development Engineer Intern",
		Intro:     "I'm a third-year Computer Science student at the University of Waterloo. Last term I interned at Shopify, building a payments reconciliation service in Go.",
		ResumeURL: "https://drive.google.com/file/d/1AbCdEf/view?usp=sharing",
		Note:      "I built a distributed key-value store for my systems course, which lines up with the team's storage work.",
	}
}

// runes returns n runes of r.
func runes(r rune, n int) string { return strings.Repeat(string(r), n) }

// realIntro returns a real-looking intro of exactly n runes, padded with a
// multi-byte rune so byte and rune counts differ.
func realIntro(n int) string {
	base := "Étudiante en 3e année d'informatique à Montréal, stage chez Ubisoft. "
	if utf8.RuneCountInString(base) > n {
		panic("realIntro: base longer than n")
	}
	return base + runes('é', n-utf8.RuneCountInString(base))
}

func fieldsOf(ps []Problem) []string {
	var fs []string
	for _, p := range ps {
		fs = append(fs, p.Field)
	}
	return fs
}

func TestValidateGood(t *testing.T) {
	f := goodFields()
	if ps := f.Validate(); ps != nil {
		t.Fatalf("Validate(good) = %+v; want nil", ps)
	}
	f.Note = ""
	if ps := f.Validate(); ps != nil {
		t.Errorf("Validate(good, no note) = %+v; want nil", ps)
	}
}

// TestValidateOneField breaks one field of a good request per case and wants
// exactly one problem, on that field, whose message mentions want.
func TestValidateOneField(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*RequestFields)
		field string
		want  string // substring of the message
	}{
		{"job missing", func(f *RequestFields) { f.JobURL = "" }, FieldJobURL, "missing"},
		{"job blank", func(f *RequestFields) { f.JobURL = " \n\t " }, FieldJobURL, "missing"},
		{"job ftp", func(f *RequestFields) { f.JobURL = "ftp://jobs.example.com/123" }, FieldJobURL, "http"},
		{"job javascript", func(f *RequestFields) { f.JobURL = "javascript:alert(1)" }, FieldJobURL, "http"},
		{"job mailto", func(f *RequestFields) { f.JobURL = "mailto:hr@example.com" }, FieldJobURL, "http"},
		{"job relative", func(f *RequestFields) { f.JobURL = "/en/jobs/123" }, FieldJobURL, "website"},
		{"job no host", func(f *RequestFields) { f.JobURL = "https://" }, FieldJobURL, "website"},
		{"job no host path", func(f *RequestFields) { f.JobURL = "https:///jobs/1" }, FieldJobURL, "website"},
		{"job opaque", func(f *RequestFields) { f.JobURL = "https:jobs.example.com" }, FieldJobURL, "website"},
		{"job undotted host", func(f *RequestFields) { f.JobURL = "https://amazon/jobs/1" }, FieldJobURL, "website"},
		{"job no scheme", func(f *RequestFields) { f.JobURL = "amazon.jobs/en/jobs/123" }, FieldJobURL, "https://"},
		{"job no scheme port", func(f *RequestFields) { f.JobURL = "www.example.com:8080/jobs" }, FieldJobURL, "https://"},
		{"job space", func(f *RequestFields) { f.JobURL = "https://example.com/jobs/software engineer" }, FieldJobURL, "spaces"},
		{"job two links", func(f *RequestFields) { f.JobURL = "https://a.example.com\nhttps://b.example.com" }, FieldJobURL, "spaces"},
		{"job userinfo", func(f *RequestFields) { f.JobURL = "https://amazon.jobs@evil.example.com/x" }, FieldJobURL, "user name"},
		{"job bad escape", func(f *RequestFields) { f.JobURL = "https://example.com/%zz" }, FieldJobURL, "valid"},
		{"job too long", func(f *RequestFields) { f.JobURL = "https://example.com/" + runes('a', MaxURLLen-19) }, FieldJobURL, "501"},
		{"role missing", func(f *RequestFields) { f.Role = "  " }, FieldRole, "missing"},
		{"role one rune", func(f *RequestFields) { f.Role = "é" }, FieldRole, "too short"},
		{"role too long", func(f *RequestFields) { f.Role = runes('ü', MaxRoleLen+1) }, FieldRole, "101"},
		{"role no letters", func(f *RequestFields) { f.Role = "1234" }, FieldRole, "letters"},
		{"role link", func(f *RequestFields) { f.Role = "https://amazon.jobs/en/jobs/1" }, FieldRole, "link"},
		{"intro missing", func(f *RequestFields) { f.Intro = "" }, FieldIntro, "missing"},
		{"intro short", func(f *RequestFields) { f.Intro = "I'm a 2nd-year CS student at McGill who builds Discord bots in Go." }, FieldIntro, "at least 80"},
		{"intro 79", func(f *RequestFields) { f.Intro = realIntro(79) }, FieldIntro, "79 characters"},
		{"intro 1001", func(f *RequestFields) { f.Intro = realIntro(1001) }, FieldIntro, "1001 characters"},
		{"intro no letters", func(f *RequestFields) { f.Intro = runes('1', 90) + " 🙂🙂🙂" }, FieldIntro, "no words"},
		{"intro one char", func(f *RequestFields) { f.Intro = runes('a', 90) }, FieldIntro, "placeholder"},
		{"intro one word", func(f *RequestFields) { f.Intro = strings.Repeat("test ", 20) }, FieldIntro, "placeholder"},
		{"intro two words", func(f *RequestFields) { f.Intro = strings.Repeat("hello world ", 10) }, FieldIntro, "placeholder"},
		{"intro lorem", func(f *RequestFields) {
			f.Intro = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore."
		}, FieldIntro, "placeholder"},
		{"intro keyboard mash", func(f *RequestFields) { f.Intro = strings.Repeat("asdfghjkl", 10) }, FieldIntro, "who you are"},
		{"intro greetings only", func(f *RequestFields) {
			f.Intro = "Hello there! I hope you are doing well today. Thank you so much for your time and consideration, have a great day!"
		}, FieldIntro, "who you are"},
		{"resume missing", func(f *RequestFields) { f.ResumeURL = "" }, FieldResumeURL, "missing"},
		{"resume ftp", func(f *RequestFields) { f.ResumeURL = "ftp://files.example.com/cv.pdf" }, FieldResumeURL, "http"},
		{"resume file url", func(f *RequestFields) { f.ResumeURL = "file:///C:/Users/me/resume.pdf" }, FieldResumeURL, "file"},
		{"resume windows path", func(f *RequestFields) { f.ResumeURL = `C:\Users\me\Resume 2026.pdf` }, FieldResumeURL, "file"},
		{"resume unix path", func(f *RequestFields) { f.ResumeURL = "/home/me/cv.pdf" }, FieldResumeURL, "file"},
		{"resume file name", func(f *RequestFields) { f.ResumeURL = "resume.pdf" }, FieldResumeURL, "file"},
		{"resume pdf host", func(f *RequestFields) { f.ResumeURL = "https://resume.pdf" }, FieldResumeURL, "website"},
		{"resume relative", func(f *RequestFields) { f.ResumeURL = "docs/cv" }, FieldResumeURL, "website"},
		{"resume numeric tld", func(f *RequestFields) { f.ResumeURL = "https://cv.123/x" }, FieldResumeURL, "website"},
		{"resume same as job", func(f *RequestFields) { f.ResumeURL = f.JobURL }, FieldResumeURL, "same"},
		{"resume same as job loosely", func(f *RequestFields) {
			f.ResumeURL = "http://amazon.jobs/en/jobs/2871234/Software-Development-Engineer-Intern/"
		}, FieldResumeURL, "same"},
		{"note too long", func(f *RequestFields) { f.Note = runes('ß', MaxNoteLen+1) }, FieldNote, "1001"},
	}
	for _, tt := range tests {
		f := goodFields()
		tt.edit(&f)
		ps := f.Validate()
		if len(ps) != 1 || ps[0].Field != tt.field || !strings.Contains(ps[0].Message, tt.want) {
			t.Errorf("%s: Validate(%+v) = %+v; want one %s problem mentioning %q", tt.name, f, ps, tt.field, tt.want)
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		edit func(*RequestFields)
	}{
		{"http job", func(f *RequestFields) { f.JobURL = "http://careers.example.com/jobs/42" }},
		{"HTTPS upper", func(f *RequestFields) { f.JobURL = "HTTPS://careers.example.com/jobs/42" }},
		{"job with query and port", func(f *RequestFields) { f.JobURL = "https://jobs.example.com:8443/view?id=42&src=lnkd#apply" }},
		{"ip host", func(f *RequestFields) { f.ResumeURL = "http://192.0.2.7/cv.pdf" }},
		{"job at max", func(f *RequestFields) { f.JobURL = "https://example.com/" + runes('a', MaxURLLen-20) }},
		{"job surrounded by spaces", func(f *RequestFields) { f.JobURL = "  " + f.JobURL + "\r\n" }},
		{"role two runes", func(f *RequestFields) { f.Role = "QA" }},
		{"role at max", func(f *RequestFields) { f.Role = runes('ü', MaxRoleLen) }},
		{"intro 80", func(f *RequestFields) { f.Intro = realIntro(80) }},
		{"intro 1000", func(f *RequestFields) { f.Intro = realIntro(1000) }},
		{"note at max", func(f *RequestFields) { f.Note = runes('ß', MaxNoteLen) }},
		{"note blank", func(f *RequestFields) { f.Note = " \r\n " }},
	}
	for _, tt := range tests {
		f := goodFields()
		tt.edit(&f)
		if ps := f.Validate(); ps != nil {
			t.Errorf("%s: Validate(%+v) = %+v; want nil", tt.name, f, ps)
		}
	}
}

func TestValidateSeveralInFieldOrder(t *testing.T) {
	f := RequestFields{
		JobURL:    "javascript:alert(1)",
		Role:      "",
		Intro:     "can you refer me pls",
		ResumeURL: "ftp://x.example.com/cv.pdf",
		Note:      runes('x', MaxNoteLen+1),
	}
	got := strings.Join(fieldsOf(f.Validate()), ",")
	want := "job_url,role,intro,resume_url,note"
	if got != want {
		t.Errorf("Validate(%+v) fields = %s; want %s", f, got, want)
	}

	empty := RequestFields{}
	got = strings.Join(fieldsOf(empty.Validate()), ",")
	if want := "job_url,role,intro,resume_url"; got != want {
		t.Errorf("Validate(empty) fields = %s; want %s", got, want)
	}
}

func TestValidateBareAsks(t *testing.T) {
	asks := []string{
		"Hi, can you refer me? please please thank you so much!!! please please thank you so much!!!",
		"Hi, can you refer me?",
		"hello sir, please refer me for this job. i really need it, thank you so much in advance for your help and time!!",
		"Referral pls!!! Referral pls!!! Referral pls!!! Referral pls!!! Referral pls!!! Referral pls!!!",
		"Hey! I'm looking for a referral. Would you be able to refer me? I'd really appreciate it, thanks sooooo much!!!",
		"Hi! Can you refer me for the software engineer intern role at Google? Thank you so much, I'd really appreciate it!",
		"Dear Sir/Madam, I am interested in this position and would be grateful if you could kindly provide a referral. Regards",
		"Heyyy can u refer me plzzz?? i am a hardworking and passionate person, a fast learner, and a perfect fit for this job",
	}
	for _, intro := range asks {
		f := goodFields()
		f.Intro = intro
		ps := f.Validate()
		if len(ps) != 1 || ps[0].Field != FieldIntro {
			t.Errorf("Validate(intro %q) = %+v; want one intro problem", intro, ps)
			continue
		}
		if len(intro) >= MinIntroLen && !strings.Contains(ps[0].Message, "who you are") {
			t.Errorf("Validate(intro %q) message = %q; want it to say the intro lacks who you are", intro, ps[0].Message)
		}
	}
}

func TestValidateRealIntros(t *testing.T) {
	intros := []string{
		"Hi! I'm Priya, a 2nd-year Computer Science student at McGill. I'd love a referral for the Backend Intern role: I built a Discord bot in Go that 3,000 students use.",
		"Final-year Electrical Engineering student at UBC, graduating May 2026. Looking for a referral for the Hardware Engineer new grad role; I did two co-ops at AMD on DDR validation.",
		"I'm a master's student in Data Science at NYU (class of 2026). Previously I spent two years as an analyst at Deloitte. The Data Scientist role fits my work on churn models.",
		"我是多伦多大学计算机科学专业三年级的学生，去年夏天在阿里巴巴实习，负责推荐系统的后端开发。我想申请贵公司的软件工程师实习岗位，因为它和我的经历非常契合，希望能得到您的内推，谢谢！",
	}
	for _, intro := range intros {
		f := goodFields()
		f.Intro = intro
		if ps := f.Validate(); ps != nil {
			t.Errorf("Validate(intro %q) = %+v; want nil", intro, ps)
		}
	}
}

// TestProblemTips checks every tip a user can get: present, and plain text
// that neither pings anyone nor renders as a markdown link.
func TestProblemTips(t *testing.T) {
	inputs := []RequestFields{
		{},
		{JobURL: "ftp://a.example.com", Role: "x", Intro: "can you refer me", ResumeURL: "https://", Note: runes('n', 2000)},
		{JobURL: "a b", Role: runes('r', 200), Intro: runes('i', 2000), ResumeURL: "x.example.com/cv", Note: ""},
		{JobURL: "https://u:p@a.example.com", Role: "https://x.example.com", Intro: runes('a', 90), ResumeURL: "https://example.com/" + runes('a', 600)},
		{JobURL: "https://a.example.com/1", Role: "12", Intro: "hello there, hope you are well, thanks so much for your time, have a good day, thanks!!", ResumeURL: "https://a.example.com/1"},
		{JobURL: "%zz", Intro: "1111111111"},
	}
	seen := 0
	for _, f := range inputs {
		for _, p := range f.Validate() {
			seen++
			if p.Message == "" || p.Tip == "" {
				t.Errorf("Validate(%+v) gave %+v; want a message and a tip", f, p)
			}
			for _, bad := range []string{"<@", "@everyone", "@here", "](", "`", "**"} {
				if strings.Contains(p.Tip, bad) || strings.Contains(p.Message, bad) {
					t.Errorf("problem %+v contains %q; want plain text", p, bad)
				}
			}
		}
	}
	if seen < 20 {
		t.Errorf("saw %d problems; want the inputs to exercise at least 20", seen)
	}
}

func TestClean(t *testing.T) {
	f := RequestFields{
		JobURL:    "  https://a.example.com/1 \n",
		Role:      "\tSWE Intern ",
		Intro:     "\r\n line one\r\nline two\rline three \r\n",
		ResumeURL: "\u00a0https://b.example.com/cv.pdf\u3000",
		Note:      "bad \xff byte",
	}
	want := RequestFields{
		JobURL:    "https://a.example.com/1",
		Role:      "SWE Intern",
		Intro:     "line one\nline two\nline three",
		ResumeURL: "https://b.example.com/cv.pdf",
		Note:      "bad \uFFFD byte",
	}
	if got := f.Clean(); got != want {
		t.Errorf("Clean(%+v) = %+v; want %+v", f, got, want)
	}
	if got := want.Clean(); got != want {
		t.Errorf("Clean(%+v) = %+v; want it unchanged", want, got)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello", 10, "hello"},
		{"hello", 4, "hel…"},
		{"hello", 1, "…"},
		{"hello", 0, ""},
		{"hello", -3, ""},
		{"", 3, ""},
		{"héllo wörld", 6, "héllo…"}, // the space before the cut goes
		{"日本語のテキスト", 4, "日本語…"},
		{"日本語", 3, "日本語"},
		{"👍🏽👍🏽", 3, "👍🏽…"}, // an emoji with a skin tone is two runes
		{"ab\xffcd", 10, "ab\uFFFDcd"},
		{"ab\xff\xfecd", 4, "ab\uFFFD…"},
		{"\xe6\x97", 5, "\uFFFD\uFFFD"}, // a rune cut short is two invalid bytes
		{"\xe6\x97\xe6\x97\xe6\x97", 3, "\uFFFD\uFFFD…"},
	}
	for _, tt := range tests {
		got := Truncate(tt.s, tt.max)
		if got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q; want %q", tt.s, tt.max, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q; want valid UTF-8", tt.s, tt.max, got)
		}
		if tt.max >= 0 && utf8.RuneCountInString(got) > tt.max {
			t.Errorf("Truncate(%q, %d) = %q has %d runes; want at most %d", tt.s, tt.max, got, utf8.RuneCountInString(got), tt.max)
		}
	}
}

var fieldIDs = map[string]bool{FieldJobURL: true, FieldRole: true, FieldIntro: true, FieldResumeURL: true, FieldNote: true}

func FuzzValidate(f *testing.F) {
	g := goodFields()
	f.Add(g.JobURL, g.Role, g.Intro, g.ResumeURL, g.Note)
	f.Add("", "", "", "", "")
	f.Add("javascript:alert(1)", "é", "Hi, can you refer me? please please thank you so much!!!", "ftp://x", "\xff\r\n")
	f.Fuzz(func(t *testing.T, job, role, intro, resume, note string) {
		in := RequestFields{JobURL: job, Role: role, Intro: intro, ResumeURL: resume, Note: note}
		c := in.Clean()
		if again := c.Clean(); again != c {
			t.Fatalf("Clean(Clean(%+v)) = %+v; want %+v", in, again, c)
		}
		for _, v := range []string{c.JobURL, c.Role, c.Intro, c.ResumeURL, c.Note} {
			if strings.ContainsFunc(v, isBidiControl) {
				t.Fatalf("Clean(%+v) = %+v; still holds a bidirectional control", in, c)
			}
		}
		order := map[string]int{FieldJobURL: 0, FieldRole: 1, FieldIntro: 2, FieldResumeURL: 3, FieldNote: 4}
		last := -1
		for _, p := range in.Validate() {
			if !fieldIDs[p.Field] {
				t.Fatalf("Validate(%+v) gave field %q; want one of the modal ids", in, p.Field)
			}
			if order[p.Field] <= last {
				t.Fatalf("Validate(%+v) = problems out of field order at %+v", in, p)
			}
			last = order[p.Field]
			if p.Message == "" || p.Tip == "" {
				t.Fatalf("Validate(%+v) gave %+v; want a message and a tip", in, p)
			}
		}
		for _, max := range []int{0, 1, 7} {
			got := Truncate(intro, max)
			if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max {
				t.Fatalf("Truncate(%q, %d) = %q; want valid UTF-8 of at most %d runes", intro, max, got, max)
			}
		}
	})
}

func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}
