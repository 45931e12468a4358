package referral

import "strings"

// Told is what a request's student has been told about its search for a
// referrer, so that a request going back to waiting, or on to the next
// referrer, again and again says each thing once: "it's waiting" once, "a
// referrer is being asked" once. What is new is still said: who accepted,
// a decline asking for more detail, the expiry. A referrer who accepted
// and then left starts the story over: the student hears it, is promised
// a word when someone new is asked, and gets that word once.
//
// The store records it as each notice is queued (Told.After); the
// lifecycle reads it off the loaded Request. It is the kinds told, in a
// fixed order, separated by spaces ("" = nothing yet).
type Told string

// toldOrder is every kind Told keeps, in the order it spells them.
var toldOrder = []NoticeKind{NoticeReferrerGone, NoticeStudentMatched, NoticeWaiting}

// Has reports whether the student was told k in the current story.
func (t Told) Has(k NoticeKind) bool {
	for _, f := range strings.Fields(string(t)) {
		if f == string(k) {
			return true
		}
	}
	return false
}

// Tracks reports whether telling k changes Told, so the store reads the
// record only for those notices.
func Tracks(k NoticeKind) bool {
	for _, o := range toldOrder {
		if o == k {
			return true
		}
	}
	return false
}

// After is t once the student was told k. "Referrer gone" starts the
// story over, and counts as "waiting" (it says it is looking again).
func (t Told) After(k NoticeKind) Told {
	if !Tracks(k) {
		return t
	}
	has := map[NoticeKind]bool{k: true}
	if k == NoticeReferrerGone {
		has[NoticeWaiting] = true
	} else {
		for _, o := range toldOrder {
			has[o] = has[o] || t.Has(o)
		}
	}
	var out []string
	for _, o := range toldOrder {
		if has[o] {
			out = append(out, string(o))
		}
	}
	return Told(strings.Join(out, " "))
}
