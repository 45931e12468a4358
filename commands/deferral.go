package commands

import (
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// AnswerEditor delivers an answer that came after the interaction was
// deferred: over REST, with the interaction's token.
type AnswerEditor interface {
	// EditOriginal replaces the deferred reply (or, after a deferred
	// update, the message the component is on).
	EditOriginal(i *discordgo.Interaction, edit *discordgo.WebhookEdit) error
	// Followup sends a new message in the interaction's thread of replies.
	Followup(i *discordgo.Interaction, params *discordgo.WebhookParams) error
}

// DeferAfterDefault is when an unanswered interaction is deferred: early
// enough inside Discord's 3 s for the deferral to arrive however the
// network is, late enough that almost nothing needs one.
const DeferAfterDefault = 1500 * time.Millisecond

// tooSlowForForm answers a deferred interaction whose answer was a form:
// Discord opens forms only as the first answer.
const tooSlowForForm = "That took me too long, so Discord won't open the form now. Please try again."

// answerer sends the one answer of an interaction: at once when the
// handler is quick, or as a deferral followed by an edit when it is slow
// (deferNow, from a timer or before a handler known to be slow).
type answerer struct {
	i      *discordgo.Interaction
	resp   Responder
	editor AnswerEditor
	timer  *time.Timer

	mu       sync.Mutex
	answered bool          // the final answer went, or is going, as the callback
	deferred chan struct{} // non-nil once deferring; closed when the deferral was sent
	deferErr error
}

// canDefer says whether an interaction of this type has a deferred form:
// autocomplete does not, and without an editor the answer could not follow.
func (a *answerer) canDefer() bool {
	return a.editor != nil && a.i.Type != discordgo.InteractionApplicationCommandAutocomplete && a.i.Type != discordgo.InteractionPing
}

// deferAfter defers the interaction if no answer is given within d.
func (a *answerer) deferAfter(d time.Duration) {
	if d > 0 && a.canDefer() {
		a.timer = time.AfterFunc(d, a.deferNow)
	}
}

// deferNow acknowledges the interaction, showing "thinking..." (or, for a
// button, keeping its message as it is) until the answer follows.
func (a *answerer) deferNow() {
	if !a.canDefer() {
		return
	}
	a.mu.Lock()
	if a.answered || a.deferred != nil {
		a.mu.Unlock()
		return
	}
	done := make(chan struct{})
	a.deferred = done
	a.mu.Unlock()
	a.deferErr = a.resp.InteractionRespond(a.i, deferral(a.i))
	close(done)
}

// deferral is the acknowledgement that fits the interaction: an ephemeral
// "thinking" reply for commands and forms, a silent one for components.
func deferral(i *discordgo.Interaction) *discordgo.InteractionResponse {
	if i.Type == discordgo.InteractionMessageComponent {
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}
	}
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	}
}

// answer sends the handler's answer: as the callback, or, once deferred,
// as the edit or followup that completes the deferral.
func (a *answerer) answer(r *discordgo.InteractionResponse) error {
	if a.timer != nil {
		a.timer.Stop()
	}
	a.mu.Lock()
	done := a.deferred
	if done == nil {
		a.answered = true
	}
	a.mu.Unlock()
	if done == nil {
		return a.resp.InteractionRespond(a.i, r)
	}
	<-done
	if a.deferErr != nil {
		return a.deferErr // Discord never had the interaction acknowledged
	}
	return a.follow(r)
}

// follow completes a deferral with r.
func (a *answerer) follow(r *discordgo.InteractionResponse) error {
	data := r.Data
	if data == nil {
		data = &discordgo.InteractionResponseData{}
	}
	if r.Type == discordgo.InteractionResponseModal {
		data = ephemeral(tooSlowForForm).Data
	}
	if a.i.Type == discordgo.InteractionMessageComponent && r.Type != discordgo.InteractionResponseUpdateMessage {
		// The deferral left the button's message alone; a reply of its
		// own is a followup.
		return a.editor.Followup(a.i, &discordgo.WebhookParams{
			Content: data.Content, Embeds: data.Embeds, Components: data.Components, Files: data.Files,
			AllowedMentions: data.AllowedMentions, Flags: data.Flags,
		})
	}
	edit := &discordgo.WebhookEdit{Files: data.Files, AllowedMentions: data.AllowedMentions}
	content := data.Content
	edit.Content = &content
	embeds := data.Embeds
	if embeds == nil {
		embeds = []*discordgo.MessageEmbed{}
	}
	edit.Embeds = &embeds
	components := data.Components
	if components == nil {
		components = []discordgo.MessageComponent{}
	}
	edit.Components = &components
	return a.editor.EditOriginal(a.i, edit)
}
