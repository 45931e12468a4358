package referral

import "time"

// NoticeKind names a message the bot sends; commands renders each kind.
type NoticeKind string

const (
	NoticeOffer          NoticeKind = "offer"           // to a referrer: the request, Accept/Decline
	NoticeOfferClosed    NoticeKind = "offer_closed"    // to a referrer: the offer moved on (timeout, withdrawn, expired)
	NoticeWaiting        NoticeKind = "waiting"         // to the student: no referrer available yet
	NoticeAccepted       NoticeKind = "accepted"        // to the student: who will refer them, what next
	NoticeSubmitted      NoticeKind = "submitted"       // to the student: the referral is in
	NoticeReminder       NoticeKind = "reminder"        // to the referrer: please submit
	NoticeFollowUp       NoticeKind = "follow_up"       // to the student: did you hear back? outcome buttons
	NoticeOutcome        NoticeKind = "outcome"         // to the referrer: what came of their referral
	NoticeKeepInMind     NoticeKind = "keep_in_mind"    // to the referrer: remember this student
	NoticeExpired        NoticeKind = "expired"         // to the student: unmatched, apply directly
	NoticeReferrerGone   NoticeKind = "referrer_gone"   // to the student: their referrer left, looking again
	NoticePauseEnded     NoticeKind = "pause_ended"     // to a referrer: offers resume
	NoticeDMClosed       NoticeKind = "dm_closed"       // to the fallback channel: ping the user to open DMs
	NoticeDigest         NoticeKind = "digest"          // to the digest channel
	NoticeStudentMatched NoticeKind = "student_matched" // to the student: a referrer is being asked
)

// Notice is everything needed to render one message, captured when the
// state changed, so delivery later needs no further reads.
type Notice struct {
	Kind           NoticeKind `json:"kind"`
	RequestID      int64      `json:"request_id,omitempty"`
	OfferID        int64      `json:"offer_id,omitempty"`
	StudentID      string     `json:"student_id,omitempty"`
	ReferrerID     string     `json:"referrer_id,omitempty"`
	Company        string     `json:"company,omitempty"`
	Role           string     `json:"role,omitempty"`
	JobURL         string     `json:"job_url,omitempty"`
	Intro          string     `json:"intro,omitempty"`
	Note           string     `json:"note,omitempty"`
	ResumeURL      string     `json:"resume_url,omitempty"`
	VerifiedDomain string     `json:"verified_domain,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	Outcome        Outcome    `json:"outcome,omitempty"`
	FollowUp       int        `json:"follow_up,omitempty"`
	FollowUps      int        `json:"follow_ups,omitempty"`
	Due            time.Time  `json:"due,omitempty"`
	UserID         string     `json:"user_id,omitempty"` // NoticeDMClosed: whom to ping
	Digest         *Digest    `json:"digest,omitempty"`
}

// Outgoing is a notice addressed to a user's DMs or to a channel.
type Outgoing struct {
	GuildID   string
	UserID    string // DM recipient, or
	ChannelID string // channel to post in
	Notice    Notice
}

// OfferNotice is the DM that asks a referrer to refer the student.
func OfferNotice(r Request, offerID int64, referrerID, verifiedDomain string) Notice {
	f := r.Fields
	return Notice{
		Kind: NoticeOffer, RequestID: r.ID, OfferID: offerID, StudentID: r.StudentID, ReferrerID: referrerID,
		Company: r.Company.Name, Role: f.Role, JobURL: f.JobURL, Intro: f.Intro, Note: f.Note, ResumeURL: f.ResumeURL,
		VerifiedDomain: verifiedDomain,
	}
}

// Digest is one server's numbers for one week; nothing private.
type Digest struct {
	GuildID        string        `json:"guild_id"`
	Week           string        `json:"week"` // ISO week, e.g. 2026-W48
	From           time.Time     `json:"from"`
	To             time.Time     `json:"to"`
	NewRequests    int           `json:"new_requests"`
	Matched        int           `json:"matched"`
	Submitted      int           `json:"submitted"`
	Screens        int           `json:"screens"`
	Interviews     int           `json:"interviews"`
	Offers         int           `json:"offers"`
	Total          Totals        `json:"total"`
	MedianAccept   time.Duration `json:"median_accept"` // request to accept; 0 = none this week
	Wanted         []Wanted      `json:"wanted,omitempty"`
	ThankReferrers []string      `json:"thank_referrers,omitempty"` // user ids, shown without pinging
	History        []WeekCounts  `json:"history,omitempty"`         // the last weeks, oldest first, for the chart
}

// Totals are all-time counts of a server.
type Totals struct {
	Requests   int `json:"requests"`
	Matched    int `json:"matched"`
	Submitted  int `json:"submitted"`
	Screens    int `json:"screens"`
	Interviews int `json:"interviews"`
	Offers     int `json:"offers"`
}

// Wanted is a company with waiting requests and no available referrer.
type Wanted struct {
	Company string `json:"company"`
	Waiting int    `json:"waiting"`
}

// WeekCounts is one week of the digest chart.
type WeekCounts struct {
	Week       string `json:"week"`
	Requests   int    `json:"requests"`
	Submitted  int    `json:"submitted"`
	Interviews int    `json:"interviews"`
	Offers     int    `json:"offers"`
}
