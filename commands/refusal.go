package commands

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/referralbot/referralbot/referral"
)

// refusal is an answer to the user for an action that was not done. Its
// text is shown as is, so it never carries internal details.
type refusal string

func (r refusal) Error() string { return string(r) }

// A topic is what an interaction acts on, so a store refusal can be worded
// for it: "already done" reads differently for an offer and a withdrawal.
// Each route and subcommand names its topic; "" is anything else.
type topic string

const (
	aboutOffer     topic = "offer"     // Accept, Decline
	aboutReason    topic = "reason"    // the reasons after Decline, and the pause it offers
	aboutEdit      topic = "edit"      // Edit request after referrers asked for more detail
	aboutSubmitted topic = "submitted" // Referral submitted
	aboutOutcome   topic = "outcome"   // follow-up buttons, /referral outcome
	aboutKeep      topic = "keep"      // Keep me in mind
	aboutWithdraw  topic = "withdraw"  // /referral withdraw
	aboutDraft     topic = "draft"     // Edit request, the request modal
	aboutReport    topic = "report"    // Report and its confirmation
	aboutCode      topic = "code"      // Enter code and its modal
	aboutReferrer  topic = "referrer"  // the caller's own referrer profile
	aboutResume    topic = "resume"    // /referrer resume
	aboutApprove   topic = "approve"   // /referral-admin approve
	aboutRemove    topic = "remove"    // /referral-admin remove
)

const (
	movedOn   = "Thank you, but this request has moved on (it timed out, was withdrawn or closed), so there's nothing to do. Nothing changed."
	noProfile = "You don't have a referrer profile in this server yet. Create one with /referrer join."
)

// refusals words every refusal of the store (referral.Err*) for users. The
// first row whose topics include the interaction's topic (or that has no
// topics) and whose errors match wins. In the text, {request} is the
// request's number ("#12") and {user} the member an admin acted on.
var refusals = []struct {
	topics []topic
	errs   []error
	text   string
}{
	{[]topic{aboutSubmitted}, []error{referral.ErrAlreadyDone}, "Already done: this referral is marked as submitted."},
	{[]topic{aboutOffer, aboutSubmitted}, []error{referral.ErrNotYours}, "This was sent to another referrer, so only they can answer it. Nothing changed."},
	{[]topic{aboutOffer, aboutSubmitted}, []error{referral.ErrMovedOn, referral.ErrNotFound, referral.ErrWrongState}, movedOn},
	{[]topic{aboutOffer}, []error{referral.ErrAlreadyDone}, "Already done: you answered this before. Nothing changed."},

	{[]topic{aboutReason}, []error{referral.ErrNotYours}, "This was sent to another referrer, so only they can answer it. Nothing changed."},
	{[]topic{aboutReason}, []error{referral.ErrAlreadyDone}, "Already noted: you gave a reason for this one. Thank you."},
	{[]topic{aboutReason}, []error{referral.ErrMovedOn, referral.ErrNotFound}, "There's nothing to note here any more. Nothing changed."},
	{[]topic{aboutReason}, []error{referral.ErrNotReferrer, referral.ErrNoReferrerHere}, noProfile},
	{[]topic{aboutEdit}, []error{referral.ErrNotFound, referral.ErrNotYours},
		"That request isn't one of yours, so there's nothing to edit. /referral status lists your requests."},
	{[]topic{aboutEdit, aboutDraft}, []error{referral.ErrEditNotOpen},
		"That request isn't looking for a referrer any more (accepted, closed or withdrawn), so it can't be edited now. /referral status shows where it stands."},

	{[]topic{aboutKeep}, []error{referral.ErrAlreadyDone}, "Already done: your referrer was asked to keep you in mind."},
	{[]topic{aboutOutcome, aboutKeep}, []error{referral.ErrNotFound, referral.ErrNotYours},
		"Request {request} isn't one of yours, so I changed nothing. /referral status lists your requests."},
	{[]topic{aboutOutcome, aboutKeep}, []error{referral.ErrAlreadyDone}, "Already done: request {request} has that answer recorded."},
	{[]topic{aboutOutcome, aboutKeep}, []error{referral.ErrWrongState},
		"Request {request} can't take an outcome now: there is one only after a referrer accepted it, and not after it was closed. " +
			"/referral status shows where it stands."},

	// The same answer for someone else's request and none, so request
	// numbers reveal nothing about others.
	{[]topic{aboutWithdraw}, []error{referral.ErrNotFound, referral.ErrNotYours},
		"You have no request {request}. /referral status lists your requests and their numbers."},
	{[]topic{aboutWithdraw}, []error{referral.ErrAlreadyDone}, "Request {request} is already withdrawn."},
	{[]topic{aboutWithdraw}, []error{referral.ErrWrongState},
		"Request {request} can't be withdrawn any more: only requests that are waiting, with a referrer or accepted can be. " +
			"If the referral was submitted, tell how it went with /referral outcome instead."},

	{[]topic{aboutDraft}, []error{referral.ErrNotFound}, "This draft is gone: it was sent or deleted. Start again with /referral request."},
	{[]topic{aboutDraft}, []error{referral.ErrNotYours}, "This draft belongs to someone else, so you can't edit it."},

	{[]topic{aboutReport}, []error{referral.ErrAlreadyDone}, "You already reported the referrer of this request; the admins have it. Nothing changed."},
	{[]topic{aboutReport}, []error{referral.ErrNotFound, referral.ErrNotYours}, "This request isn't yours, so there's nothing to report here."},
	{[]topic{aboutReport}, []error{referral.ErrWrongState}, "Only a referrer who accepted your request can be reported, and this one has none."},

	{[]topic{aboutCode}, []error{referral.ErrNotFound},
		"This code isn't waiting any more: it was used, or your referrer profile was deleted. Run /referrer verify for a new one."},
	{[]topic{aboutCode}, []error{referral.ErrNotYours}, "This button belongs to someone else, so I did nothing."},

	{[]topic{aboutResume}, []error{referral.ErrAlreadyDone}, "You're not paused, so nothing changed."},
	{[]topic{aboutReferrer, aboutResume}, []error{referral.ErrNotReferrer, referral.ErrNoReferrerHere, referral.ErrNotFound}, noProfile},
	{[]topic{aboutReferrer, aboutResume}, []error{referral.ErrUnderReview},
		"A student reported a problem, so you're paused until a server admin has looked at it; only an admin can end this pause. Nothing changed."},

	{[]topic{aboutApprove}, []error{referral.ErrNotReferrer, referral.ErrNoReferrerHere, referral.ErrNotFound},
		"{user} has no referrer profile here; they need to run /referrer join first."},
	{[]topic{aboutApprove}, []error{referral.ErrAlreadyDone}, "{user} is already approved."},
	{[]topic{aboutRemove}, []error{referral.ErrNotReferrer, referral.ErrNoReferrerHere, referral.ErrNotFound},
		"{user} has no referrer profile here, so there was nothing to remove."},

	// Anywhere else.
	{nil, []error{referral.ErrNotFound}, "I couldn't find that. It may have been deleted; /referral status lists your requests."},
	{nil, []error{referral.ErrNotYours}, "That belongs to someone else, so I left it alone."},
	{nil, []error{referral.ErrMovedOn}, "Thanks, but this request has moved on, so there's nothing to do here."},
	{nil, []error{referral.ErrAlreadyDone}, "Already done; nothing changed."},
	{nil, []error{referral.ErrTooManyOpen}, "You have as many open requests as allowed. Withdraw one with /referral withdraw first."},
	{nil, []error{referral.ErrDuplicateJob}, "You already have an open request for this job link; /referral status shows it."},
	{nil, []error{referral.ErrNotReferrer, referral.ErrNoReferrerHere}, "You don't have a referrer profile in this server. Create one with /referrer join."},
	{nil, []error{referral.ErrWrongState}, "That isn't possible at the request's current stage; /referral status shows where it stands."},
	{nil, []error{referral.ErrSelfReferral}, "You can't refer yourself."},
	{nil, []error{referral.ErrNothingToForget}, "There's nothing stored about you, so nothing was deleted."},
}

// refusalText words err for the interaction c; "" means err is not a
// refusal but a failure.
func refusalText(err error, c *call) string {
	var ref refusal
	if errors.As(err, &ref) {
		return string(ref)
	}
	if errors.As(err, new(referral.ErrTransition)) {
		err = referral.ErrWrongState // a transition the rules forbid reads like a wrong state
	}
	for _, row := range refusals {
		if len(row.topics) > 0 && !slices.Contains(row.topics, c.topic) {
			continue
		}
		for _, e := range row.errs {
			if errors.Is(err, e) {
				return fillRefusal(row.text, c)
			}
		}
	}
	return ""
}

func fillRefusal(text string, c *call) string {
	request := ""
	if c.request > 0 {
		request = "#" + strconv.FormatInt(c.request, 10)
	}
	user := mention(c.target)
	return strings.NewReplacer("{request}", request, "{user}", user).Replace(text)
}
