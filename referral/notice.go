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
	NoticeNeedsDetail    NoticeKind = "needs_detail"    // to the student: referrers asked for more detail, Edit request
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
	Tips           []Problem  `json:"tips,omitempty"`         // NoticeNeedsDetail: the weakest fields
	SubmittedAt    time.Time  `json:"submitted_at,omitempty"` // NoticeFollowUp: when the referral went in
}

// Outgoing is a notice addressed to a user's DMs or to a channel.
type Outgoing struct {
	GuildID   string
	UserID    string // DM recipient, or
	ChannelID string // channel to post in
	Notice    Notice
}

// The notice constructors: every message the lifecycle sends is built
// here, so what a notice carries is decided in one place.

// OfferNotice is the DM that asks a referrer to refer the student.
func OfferNotice(r Request, offerID int64, referrerID, verifiedDomain string) Notice {
	f := r.Fields
	return Notice{
		Kind: NoticeOffer, RequestID: r.ID, OfferID: offerID, StudentID: r.StudentID, ReferrerID: referrerID,
		Company: r.Company.Name, Role: f.Role, JobURL: f.JobURL, Intro: f.Intro, Note: f.Note, ResumeURL: f.ResumeURL,
		VerifiedDomain: verifiedDomain,
	}
}

// about is the part every request notice shares.
func about(kind NoticeKind, r Request) Notice {
	return Notice{Kind: kind, RequestID: r.ID, Company: r.Company.Name, Role: r.Fields.Role}
}

// OfferClosedNotice tells a referrer the request moved on: "timeout",
// "withdrawn" or "expired".
func OfferClosedNotice(r Request, reason string) Notice {
	n := about(NoticeOfferClosed, r)
	n.Reason = reason
	return n
}

// WaitingNotice tells the student nobody is free to ask now.
func WaitingNotice(r Request) Notice { return about(NoticeWaiting, r) }

// StudentMatchedNotice tells the student of a waiting request that a
// referrer is being asked.
func StudentMatchedNotice(r Request) Notice { return about(NoticeStudentMatched, r) }

// AcceptedNotice tells the student who will refer them.
func AcceptedNotice(r Request, referrerID string) Notice {
	n := about(NoticeAccepted, r)
	n.ReferrerID, n.StudentID, n.JobURL = referrerID, r.StudentID, r.Fields.JobURL
	return n
}

// SubmittedNotice tells the student the referral is in and when the first
// check-in comes.
func SubmittedNotice(r Request, referrerID string, firstCheckIn time.Time, checkIns int) Notice {
	n := about(NoticeSubmitted, r)
	n.ReferrerID, n.StudentID, n.Due, n.FollowUps = referrerID, r.StudentID, firstCheckIn, checkIns
	return n
}

// ReminderNotice asks the referrer to submit, with what they need at hand.
func ReminderNotice(r Request) Notice {
	n := about(NoticeReminder, r)
	n.StudentID, n.JobURL, n.ResumeURL = r.StudentID, r.Fields.JobURL, r.Fields.ResumeURL
	return n
}

// FollowUpNotice asks the student how it went (check-in n of all).
func FollowUpNotice(r Request, n, all int) Notice {
	out := about(NoticeFollowUp, r)
	out.StudentID, out.ReferrerID, out.FollowUp, out.FollowUps, out.Outcome = r.StudentID, r.ReferrerID, n, all, r.Outcome
	out.SubmittedAt = r.SubmittedAt
	return out
}

// OutcomeNotice tells the referrer what came of their referral.
func OutcomeNotice(r Request, o Outcome) Notice {
	n := about(NoticeOutcome, r)
	n.StudentID, n.Outcome = r.StudentID, o
	return n
}

// KeepInMindNotice asks the referrer to remember the student.
func KeepInMindNotice(r Request) Notice {
	n := about(NoticeKeepInMind, r)
	n.StudentID = r.StudentID
	return n
}

// ExpiredNotice points the student to applying directly.
func ExpiredNotice(r Request) Notice {
	n := about(NoticeExpired, r)
	n.JobURL = r.Fields.JobURL
	return n
}

// ReferrerGoneNotice tells the student their referrer left and the request
// is looking again.
func ReferrerGoneNotice(r Request) Notice { return about(NoticeReferrerGone, r) }

// ReportNotice tells the fallback channel a student reported a referrer.
func ReportNotice(r Request, studentID, referrerID string) Notice {
	n := about(NoticeReport, r)
	n.StudentID, n.ReferrerID = studentID, referrerID
	return n
}

// NeedsDetailNotice tells the student that referrers asked for more detail,
// with tips for the weakest fields; never who asked.
func NeedsDetailNotice(r Request, tips []Problem) Notice {
	n := about(NoticeNeedsDetail, r)
	n.Tips = tips
	return n
}

// PauseEndedNotice tells a referrer offers resume.
func PauseEndedNotice() Notice { return Notice{Kind: NoticePauseEnded} }

// RoleLostNotice tells a referrer the referrer role is gone.
func RoleLostNotice() Notice { return Notice{Kind: NoticeRoleLost} }

// DMClosedNotice pings a user in the fallback channel to open their DMs.
func DMClosedNotice(userID string, requestID int64) Notice {
	return Notice{Kind: NoticeDMClosed, UserID: userID, RequestID: requestID}
}

// DigestNotice is the week's digest for the digest channel.
func DigestNotice(d Digest) Notice { return Notice{Kind: NoticeDigest, Digest: &d} }

// ToUser addresses a notice to a user's DMs.
func ToUser(guildID, userID string, n Notice) Outgoing {
	return Outgoing{GuildID: guildID, UserID: userID, Notice: n}
}

// ToChannel addresses a notice to a channel.
func ToChannel(guildID, channelID string, n Notice) Outgoing {
	return Outgoing{GuildID: guildID, ChannelID: channelID, Notice: n}
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
