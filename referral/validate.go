package referral

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Custom ids of the request modal's fields; part of the contract (PRODUCT.md).
const (
	FieldJobURL    = "job_url"
	FieldRole      = "role"
	FieldIntro     = "intro"
	FieldResumeURL = "resume_url"
	FieldNote      = "note"
)

// RequestFields is what the student typed in the request modal (field
// custom_ids job_url, role, intro, resume_url, note).
type RequestFields struct {
	JobURL    string
	Role      string
	Intro     string
	ResumeURL string
	Note      string
}

// Problem is one broken rule: Field is the modal custom_id ("job_url",
// "role", "intro", "resume_url", "note"), Message says what is wrong in plain
// words, Tip says how to make it better.
type Problem struct {
	Field   string
	Message string
	Tip     string
}

// Limits of the request modal, in runes.
const (
	MaxURLLen   = 500
	MinRoleLen  = 2
	MaxRoleLen  = 100
	MinIntroLen = 80
	MaxIntroLen = 1000
	MaxNoteLen  = 1000
)

// minIntroWords is how many distinct words of substance an intro needs once
// greetings, politeness and the ask itself are set aside. A real 2-4 sentence
// intro (year, program, school, role, one project) has well over this; "Hi,
// can you refer me to Google for the SWE intern role? Thanks!" has three.
const minIntroWords = 5

// Clean trims surrounding whitespace of every field, normalises line
// endings (\r\n and a lone \r become \n) and removes invisible and
// bidirectional control characters (CleanText); invalid UTF-8 becomes U+FFFD
// so rune counts match what Discord shows. Validate and storage use cleaned
// fields.
func (f RequestFields) Clean() RequestFields {
	return RequestFields{
		JobURL:    cleanField(f.JobURL),
		Role:      cleanField(f.Role),
		Intro:     cleanField(f.Intro),
		ResumeURL: cleanField(f.ResumeURL),
		Note:      cleanField(f.Note),
	}
}

func cleanField(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.TrimSpace(CleanText(s))
}

// Validate returns every problem of f.Clean(), in modal field order
// (job_url, role, intro, resume_url, note); nil when the request is good.
// Each field reports at most one problem, the most useful one, so the reply
// stays short enough to act on.
func (f RequestFields) Validate() []Problem {
	c := f.Clean()
	var ps []Problem
	jobOK := true
	if p, ok := linkProblem(FieldJobURL, c.JobURL); !ok {
		ps = append(ps, p)
		jobOK = false
	}
	if p, ok := roleProblem(c.Role); !ok {
		ps = append(ps, p)
	}
	if p, ok := introProblem(c.Intro); !ok {
		ps = append(ps, p)
	}
	if p, ok := linkProblem(FieldResumeURL, c.ResumeURL); !ok {
		ps = append(ps, p)
	} else if jobOK && sameLink(c.JobURL, c.ResumeURL) {
		ps = append(ps, Problem{
			Field:   FieldResumeURL,
			Message: "The resume link is the same as the job posting link.",
			Tip:     "Put the link to your resume itself here; the posting already has its own field. Check that it opens in a private browser window without signing in.",
		})
	}
	if n := utf8.RuneCountInString(c.Note); n > MaxNoteLen {
		ps = append(ps, Problem{
			Field:   FieldNote,
			Message: fmt.Sprintf("The note is %d characters long; the limit is %d.", n, MaxNoteLen),
			Tip:     "Pick the one or two reasons you fit this role best (a project, a course, an internship) and let your resume carry the rest.",
		})
	}
	return ps
}

// Truncate shortens s to at most max runes, ending with "…" when cut; it
// never splits a rune. Each invalid UTF-8 byte counts as one rune and comes
// out as U+FFFD, so the result is always valid UTF-8.
func Truncate(s string, max int) string {
	if max <= 0 {
		return ""
	}
	cut := utf8.RuneCountInString(s) > max
	if !cut && utf8.ValidString(s) {
		return s
	}
	keep := max
	if cut {
		keep = max - 1 // room for the ellipsis
	}
	var b strings.Builder
	n := 0
	for _, r := range s { // range yields U+FFFD for each invalid byte
		if n == keep {
			break
		}
		b.WriteRune(r)
		n++
	}
	if !cut {
		return b.String()
	}
	return strings.TrimRightFunc(b.String(), unicode.IsSpace) + "…"
}

// linkFault is what is wrong with a link, if anything.
type linkFault int

const (
	linkOK linkFault = iota
	linkEmpty
	linkTooLong
	linkSpace
	linkNoScheme // "amazon.jobs/en/jobs/123": fine once https:// is in front
	linkScheme   // ftp:, javascript:, mailto: ...
	linkNoHost   // relative, "https://", "https://localhost"
	linkUserinfo // "https://user@host": odd in a link for a stranger, and a known disguise
	linkFile     // "resume.pdf", "C:\\Users\\...", "file:///...": a file on the student's computer
	linkInvalid
)

// checkLink accepts absolute http(s) links to a named website.
func checkLink(s string) linkFault {
	if s == "" {
		return linkEmpty
	}
	if utf8.RuneCountInString(s) > MaxURLLen {
		return linkTooLong
	}
	if localFile(s) {
		return linkFile
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return linkSpace
	}
	u, err := url.Parse(s)
	if err != nil {
		if missingScheme(s) {
			return linkNoScheme
		}
		return linkInvalid
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		// "www.example.com:8080/x" parses with scheme "www.example.com";
		// a real scheme has no dot in it.
		if (u.Scheme == "" || strings.Contains(u.Scheme, ".")) && missingScheme(s) {
			return linkNoScheme
		}
		if u.Scheme == "" {
			return linkNoHost
		}
		return linkScheme
	}
	if u.Opaque != "" || !goodHost(u.Hostname()) {
		return linkNoHost
	}
	if u.User != nil {
		return linkUserinfo
	}
	return linkOK
}

// missingScheme reports whether s is a web link once "https://" is added.
func missingScheme(s string) bool {
	if strings.Contains(s, "://") || strings.HasPrefix(s, "/") {
		return false
	}
	u, err := url.Parse("https://" + s)
	return err == nil && u.User == nil && goodHost(u.Hostname())
}

// goodHost wants a public IP address or a dotted name, which rules out empty
// hosts, "localhost", private and loopback addresses, typos like "https://amazon/jobs" and file names like
// "https://resume.pdf".
func goodHost(h string) bool {
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return publicIP(ip)
	}
	h = strings.TrimSuffix(h, ".")
	i := strings.LastIndexByte(h, '.')
	if i <= 0 || strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
		return false
	}
	tld := strings.ToLower(h[i+1:])
	return strings.IndexFunc(tld, unicode.IsLetter) >= 0 && !fileExtensions[tld]
}

// publicIP refuses addresses that lead into the reader's own machine or
// network (loopback, private, link-local, unspecified, multicast): a link
// for a stranger to open never points there, and such links are a way to
// probe whoever clicks them.
func publicIP(ip netip.Addr) bool {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast())
}

// fileExtensions are endings of documents, never of websites.
var fileExtensions = map[string]bool{
	"pdf": true, "doc": true, "docx": true, "odt": true, "rtf": true, "txt": true, "tex": true,
	"png": true, "jpg": true, "jpeg": true, "pages": true,
}

// localFile reports a path or file name instead of a link.
func localFile(s string) bool {
	l := strings.ToLower(s)
	if strings.HasPrefix(l, "file:") || strings.HasPrefix(l, "\\\\") ||
		(len(l) > 2 && l[0] >= 'a' && l[0] <= 'z' && l[1] == ':' && (l[2] == '\\' || l[2] == '/')) {
		return true
	}
	if strings.Contains(l, "://") || (strings.Contains(l, "/") && !strings.HasPrefix(l, "/")) {
		return false // a web address, maybe without https://
	}
	i := strings.LastIndexByte(l, '.')
	return i >= 0 && fileExtensions[l[i+1:]]
}

// sameLink compares links loosely: scheme, case and a trailing slash aside.
func sameLink(a, b string) bool {
	strip := func(s string) string {
		s = strings.ToLower(s)
		s = strings.TrimPrefix(s, "https://")
		s = strings.TrimPrefix(s, "http://")
		s = strings.TrimPrefix(s, "www.")
		return strings.TrimRight(s, "/")
	}
	return strip(a) == strip(b)
}

func linkProblem(field, s string) (Problem, bool) {
	fault := checkLink(s)
	if fault == linkOK {
		return Problem{}, true
	}
	what, tip, example := "job posting link", jobLinkTip, "https://careers.example.com/jobs/123"
	if field == FieldResumeURL {
		what, tip, example = "resume link", resumeLinkTip, "https://drive.google.com/file/d/..."
	}
	var msg string
	switch fault {
	case linkEmpty:
		msg = fmt.Sprintf("The %s is missing.", what)
	case linkTooLong:
		msg = fmt.Sprintf("The %s is %d characters long; the limit is %d.", what, utf8.RuneCountInString(s), MaxURLLen)
		if field == FieldJobURL {
			tip = "Copy the posting's plain address: the part after ? is usually tracking and can go, as long as the page still opens."
		} else {
			tip = "Use the file's share link; storage services give a short one, and a PDF on your own site works too."
		}
	case linkSpace:
		msg = fmt.Sprintf("The %s has spaces or line breaks in it.", what)
		tip = "Paste only the link itself, copied from the browser's address bar, with nothing before or after it. " + tip
	case linkNoScheme:
		msg = fmt.Sprintf("The %s doesn't start with https://.", what)
		tip = "Copy the full link from the browser's address bar, or add https:// in front of it."
	case linkScheme:
		msg = fmt.Sprintf("The %s must be a web link starting with http:// or https://.", what)
	case linkNoHost:
		msg = fmt.Sprintf("The %s doesn't name a website (like %s).", what, example)
	case linkFile:
		msg = fmt.Sprintf("The %s points to a file on your computer, which nobody else can open.", what)
		tip = "Upload the file (a Google Drive or Dropbox share set to anyone with the link works) and paste the share link here."
	case linkUserinfo:
		msg = fmt.Sprintf("The %s has a user name or password before the website.", what)
		tip = "Share the public link, which starts with https:// followed directly by the website. " + tip
	default:
		msg = fmt.Sprintf("The %s isn't a valid web address.", what)
	}
	return Problem{Field: field, Message: msg, Tip: tip}, false
}

const (
	jobLinkTip    = "Link the exact posting you're applying to (the page with the job title and the Apply button), so the referrer can find the job ID in their referral tool."
	resumeLinkTip = "Link your resume as a PDF that anyone with the link can open without signing in (a Google Drive or Dropbox share set to anyone with the link works), and test it in a private browser window."
	roleTip       = "Write the job title as the posting shows it, e.g. Software Engineer Intern (Summer 2026), so the referrer picks the right opening."
	introTip      = "In 2-4 sentences say who you are (year, program, school), which role you want, and one thing you have done that fits it, like a project or an internship. Specific beats polite: the request already asks for the referral."
)

func roleProblem(s string) (Problem, bool) {
	n := utf8.RuneCountInString(s)
	p := Problem{Field: FieldRole, Tip: roleTip}
	switch {
	case n == 0:
		p.Message = "The role is missing."
	case n > MaxRoleLen:
		p.Message = fmt.Sprintf("The role is %d characters long; the limit is %d.", n, MaxRoleLen)
		p.Tip = "Keep just the job title from the posting here; why you fit belongs in the intro or the note."
	case strings.Contains(s, "://") || strings.HasPrefix(strings.ToLower(s), "www."):
		p.Message = "The role looks like a link."
		p.Tip = "Put links in the link fields and write the job title here, e.g. Data Analyst Intern."
	case n < MinRoleLen:
		p.Message = fmt.Sprintf("The role is too short (%d character; at least %d).", n, MinRoleLen)
	case strings.IndexFunc(s, unicode.IsLetter) < 0:
		p.Message = "The role has no letters in it."
	default:
		return Problem{}, true
	}
	return p, false
}

func introProblem(s string) (Problem, bool) {
	n := utf8.RuneCountInString(s)
	p := Problem{Field: FieldIntro, Tip: introTip}
	a := analyzeIntro(s)
	switch {
	case n == 0:
		p.Message = "The intro is missing."
	case n > MaxIntroLen:
		p.Message = fmt.Sprintf("The intro is %d characters long; the limit is %d.", n, MaxIntroLen)
		p.Tip = "Keep what a referrer reads first (who you are, which role, why you fit) in 2-4 sentences, and let your resume carry the details."
	case a.letters == 0:
		p.Message = "The intro has no words in it."
	case a.substance < minIntroWords && a.ask:
		p.Message = "The intro is mostly a request for a referral; it doesn't say who you are yet."
	case a.repetitive:
		p.Message = "The intro looks like placeholder text: the same letters or words repeated."
	case a.substance < minIntroWords && n >= MinIntroLen:
		p.Message = "The intro doesn't say who you are yet: it's mostly greetings and thanks."
	case n < MinIntroLen:
		p.Message = fmt.Sprintf("The intro is %d characters long; it needs at least %d.", n, MinIntroLen)
	default:
		return Problem{}, true
	}
	return p, false
}

// introStats is what the bare-ask heuristic looks at.
type introStats struct {
	letters    int  // letters in the text
	ask        bool // a word of the refer/referral family
	substance  int  // distinct words that are not greeting, politeness, filler or the ask
	repetitive bool // one or two words, or a handful of letters, over and over
}

// analyzeIntro splits the intro into lowercase words (apostrophes dropped,
// so "I'm" is "im"; each character of scripts written without spaces, such
// as Chinese or Thai, counts as a word) and measures them.
func analyzeIntro(s string) introStats {
	var st introStats
	if strings.Contains(strings.ToLower(s), "lorem ipsum") {
		st.repetitive = true
	}
	letterSet := map[rune]bool{}
	all := map[string]bool{}
	sub := map[string]bool{}
	nwords := 0
	var w []rune
	flush := func() {
		if len(w) == 0 {
			return
		}
		word := string(w)
		w = w[:0]
		nwords++
		all[word] = true
		switch {
		case isAskWord(word):
			st.ask = true
		case introFiller[word] || introFiller[squeezeRepeats(word)]:
		case utf8.RuneCountInString(word) < 2 && !spaceless(introFirstRune(word)):
			// "a", "u", stray letters
		case strings.IndexFunc(word, unicode.IsLetter) < 0:
			// bare numbers support a claim but are not one
		default:
			sub[word] = true
		}
	}
	for _, r := range s {
		switch {
		case r == '\'' || r == '’':
			// "I'm" -> "im"
		case unicode.IsLetter(r) && spaceless(r):
			flush()
			w = append(w, r)
			flush()
			st.letters++
			letterSet[r] = true
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			r = unicode.ToLower(r)
			w = append(w, r)
			if unicode.IsLetter(r) {
				st.letters++
				letterSet[r] = true
			}
		default:
			flush()
		}
	}
	flush()
	st.substance = len(sub)
	if st.letters >= 10 && (len(letterSet) <= 4 || (nwords >= 4 && len(all) <= 2)) {
		st.repetitive = true
	}
	return st
}

// isAskWord matches refer, referral, referrals, referred, "referal",
// "refferal", ref and refs.
func isAskWord(w string) bool {
	return strings.HasPrefix(w, "refer") || strings.HasPrefix(w, "reffer") || w == "ref" || w == "refs"
}

// spaceless reports scripts written without spaces between words.
func spaceless(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

func introFirstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// squeezeRepeats folds repeated letters ("pleeease", "thankss", "soooo") so that
// stretched words still match the filler list.
func squeezeRepeats(w string) string {
	var b strings.Builder
	var last rune = -1
	for _, r := range w {
		if r != last {
			b.WriteRune(r)
		}
		last = r
	}
	return b.String()
}

// introFiller is what a bare ask is made of besides the ask itself:
// greetings, politeness, function words, generic job words and the
// self-praise of a copied template. Whatever is left is substance: a school,
// a program, a year, a project, a skill, a company.
var introFiller = introWordSet(`
hi hii hello helo hey heya hiya yo dear greetings good morning afternoon evening day night sir sirs madam mam maam
there all everyone everybody folks guys team friend friends bro buddy mate hola namaste
please pls plz plis pleas pleez kindly thanks thank thx tx ty tysm thankyou thnx tnx thanx much so very really realy truly
deeply greatly highly lot lots alot appreciate apreciate appreciated appreciation appreciative grateful gratefully
thankful sincerely regards best cheers warm warmly kind advance time consideration help helping helpful support
favor favour sorry bother bothering disturb disturbing hope hoping doing well fine great awesome amazing nice cool ok
okay lol haha pretty also still
i im id ive ill me my mine myself we us our you your youre yours u ur it its this that these those a an the to for of
in on at by from with about as and or but if is are am was were be been being do does did dont can cant could would
will wont should shall may might must have has had get got getting give giving any anyone anybody someone somebody
some one here just only again now today soon asap urgent urgently quick quickly possible possibly maybe perhaps able
willing wondering wonder ask asking request requesting reach reaching out up into like love want wanted wanting need
needed needing looking look seeking seek searching find finding interested interest opportunity opportunities job
jobs role roles position positions opening openings vacancy vacancies apply applying applied application company
yes no not what who how why when where which let know tell send sent sending share sharing attached attach resume cv
link below above message dm contact connect connection chance consider considering then than too more really other
hardworking hard working motivated passionate dedicated enthusiastic eager person individual candidate fast learner
driven excited keen fit perfect ideal sure happy glad
`)

func introWordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
