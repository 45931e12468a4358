package discordtest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// answer is a handler that replies with what respond returns and reports
// interactions and callback errors on channels.
func answer(dg *discordgo.Session, respond func(*discordgo.InteractionCreate) *discordgo.InteractionResponse) (<-chan *discordgo.InteractionCreate, <-chan error) {
	seen := make(chan *discordgo.InteractionCreate, 16)
	errs := make(chan error, 16)
	dg.AddHandler(func(ds *discordgo.Session, i *discordgo.InteractionCreate) {
		seen <- i
		if r := respond(i); r != nil {
			errs <- ds.InteractionRespond(i.Interaction, r)
		}
	})
	return seen, errs
}

func ephemeral(text string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: text, Flags: discordgo.MessageFlagsEphemeral}}
}

func TestRunCommandReachesHandler(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	seen, errs := answer(dg, func(*discordgo.InteractionCreate) *discordgo.InteractionResponse { return ephemeral("approved") })
	openSession(t, s, dg)
	register(t, s, dg)
	ctx := ctxT(t)

	it, err := s.RunCommand(ctx, Command{GuildID: guildID, ChannelID: generalID, UserID: bobID,
		Name: "referral-admin", Subcommand: "approve", Options: []Option{{Name: "user", Value: aliceID}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := it.Response(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatalf("InteractionRespond: %v", err)
	}
	if resp.Type != discordgo.InteractionResponseChannelMessageWithSource || !resp.Ephemeral || resp.Data.Content != "approved" {
		t.Errorf("response = type %d ephemeral %v %q; want an ephemeral reply \"approved\"", resp.Type, resp.Ephemeral, resp.Data.Content)
	}
	if m := resp.Message(); m == nil || !m.Ephemeral() || m.InteractionID != it.ID {
		t.Errorf("response message = %+v; want the ephemeral reply", m)
	}

	i := <-seen
	if i.ID != it.ID || i.Token != it.Token || i.AppID != s.ApplicationID() || i.GuildID != guildID || i.ChannelID != generalID {
		t.Errorf("interaction ids %s/%s app %s guild %s channel %s", i.ID, i.Token, i.AppID, i.GuildID, i.ChannelID)
	}
	if i.Member == nil || i.User != nil || i.Member.User.ID != bobID {
		t.Fatalf("member %+v user %+v; want member bob and no user", i.Member, i.User)
	}
	if i.Member.Permissions != discordgo.PermissionAll { // bob owns the guild
		t.Errorf("member permissions = %d; want all (owner)", i.Member.Permissions)
	}
	d := i.ApplicationCommandData()
	sub := d.Options[0]
	if d.Name != "referral-admin" || sub.Type != discordgo.ApplicationCommandOptionSubCommand || sub.Name != "approve" {
		t.Fatalf("data %s options %+v; want referral-admin > approve", d.Name, d.Options)
	}
	if u := sub.Options[0]; u.Type != discordgo.ApplicationCommandOptionUser || u.Value != aliceID ||
		d.Resolved == nil || d.Resolved.Users[aliceID].Username != "alice" || d.Resolved.Members[aliceID] == nil {
		t.Errorf("user option %+v resolved %+v; want alice resolved with member", u, d.Resolved)
	}

	// Integer options arrive as JSON numbers; permissions come from roles.
	it2, err := s.RunCommand(ctx, Command{GuildID: guildID, UserID: aliceID, Name: "referrer", Subcommand: "join",
		Options: []Option{{Name: "companies", Value: "Acme, AWS"}, {Name: "capacity", Value: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := it2.Response(ctx); err != nil {
		t.Fatal(err)
	}
	i = <-seen
	join := i.ApplicationCommandData().Options[0]
	if join.GetOption("capacity").IntValue() != 3 || join.GetOption("companies").StringValue() != "Acme, AWS" {
		t.Errorf("join options %+v", join.Options)
	}
	if i.ChannelID != generalID || i.Member.Permissions&discordgo.PermissionManageGuild != 0 {
		t.Errorf("channel %s perms %d; want #general and no Manage Server", i.ChannelID, i.Member.Permissions)
	}
	kinds := ""
	for _, e := range s.Events() {
		if e.Kind == "command" || e.Kind == "response" {
			kinds += e.Kind + " "
		}
	}
	if kinds != "command response command response " {
		t.Errorf("events %q", kinds)
	}
}

func TestRunCommandContractErrors(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	openSession(t, s, dg)
	register(t, s, dg)
	ctx := ctxT(t)
	for _, tc := range []struct {
		c    Command
		want string
	}{
		{Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "request",
			Options: []Option{{Name: "company", Value: "Acme"}, {Name: "compnay", Value: "x"}}}, `no option "compnay"`},
		{Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "request"}, `missing required option "company"`},
		{Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "ask"}, `no subcommand "ask"`},
		{Command{GuildID: guildID, UserID: aliceID, Name: "referral"}, "needs a subcommand"},
		{Command{GuildID: guildID, UserID: aliceID, Name: "refer"}, "no command /refer"},
		{Command{UserID: aliceID, Name: "referral", Subcommand: "request"}, "no command /referral registered globally"},
		{Command{GuildID: guildID, UserID: aliceID, Name: "referrer", Subcommand: "join",
			Options: []Option{{Name: "companies", Value: "Acme"}, {Name: "capacity", Value: 25}}}, "above max_value 20"},
		{Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
			Options: []Option{{Name: "request", Value: "7"}}}, "needs a number"},
		{Command{GuildID: guildID, UserID: "42", Name: "referral", Subcommand: "withdraw",
			Options: []Option{{Name: "request", Value: 7}}}, "unknown user"},
	} {
		_, err := s.RunCommand(ctx, tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RunCommand(%s %s %v) = %v; want an error containing %q", tc.c.Name, tc.c.Subcommand, tc.c.Options, err, tc.want)
		}
	}
}

func TestAutocomplete(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	seen, _ := answer(dg, func(*discordgo.InteractionCreate) *discordgo.InteractionResponse {
		return &discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "Acme", Value: "Acme"}}}}
	})
	openSession(t, s, dg)
	register(t, s, dg)
	ctx := ctxT(t)
	it, err := s.Autocomplete(ctx, Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "request",
		Options: []Option{{Name: "company", Value: "Ac"}}, Focused: "company"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := it.Response(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Type != discordgo.InteractionApplicationCommandAutocompleteResult || len(resp.Data.Choices) != 1 || resp.Data.Choices[0].Name != "Acme" {
		t.Errorf("response %+v; want one choice Acme", resp.Data)
	}
	i := <-seen
	opt := i.ApplicationCommandData().Options[0].Options[0]
	if i.Type != discordgo.InteractionApplicationCommandAutocomplete || !opt.Focused || opt.Value != "Ac" {
		t.Errorf("type %d option %+v; want autocomplete with company focused \"Ac\"", i.Type, opt)
	}
}

func TestModalRoundTrip(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	seen, errs := answer(dg, func(i *discordgo.InteractionCreate) *discordgo.InteractionResponse {
		if i.Type == discordgo.InteractionModalSubmit {
			return ephemeral("thanks")
		}
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
			CustomID: "modal/request/new/Acme", Title: "Referral at Acme",
			Components: []discordgo.MessageComponent{
				discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{
					CustomID: "job_url", Label: "Job posting link", Style: discordgo.TextInputShort, Required: true,
					Value: "https://acme.example/jobs/1"}}},
				discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{
					CustomID: "intro", Label: "Who you are", Style: discordgo.TextInputParagraph, Required: true, MinLength: 10}}},
			}}}
	})
	openSession(t, s, dg)
	register(t, s, dg)
	ctx := ctxT(t)
	it, err := s.RunCommand(ctx, Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "request",
		Options: []Option{{Name: "company", Value: "Acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	modal, err := it.Response(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatalf("modal callback: %v", err)
	}
	if v, ok := modal.Field("job_url"); modal.Type != discordgo.InteractionResponseModal || !ok || v != "https://acme.example/jobs/1" {
		t.Fatalf("modal type %d job_url %q %v", modal.Type, v, ok)
	}
	if _, err := s.SubmitModal(ctx, ModalSubmit{Modal: modal, Values: map[string]string{"intro": "short"}}); err == nil ||
		!strings.Contains(err.Error(), "min_length") {
		t.Errorf("too short intro: %v; want a min_length error", err)
	}
	if _, err := s.SubmitModal(ctx, ModalSubmit{Modal: modal, Values: map[string]string{"resume": "x"}}); err == nil ||
		!strings.Contains(err.Error(), `no field "resume"`) {
		t.Errorf("unknown field: %v; want an error", err)
	}
	<-seen // the command
	sub, err := s.SubmitModal(ctx, ModalSubmit{Modal: modal, Values: map[string]string{"intro": "I am a CS student at State"}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := sub.Response(ctx); err != nil || r.Data.Content != "thanks" {
		t.Fatalf("submit response %+v, %v", r, err)
	}
	i := <-seen
	d := i.ModalSubmitData()
	values := map[string]string{}
	for _, row := range d.Components {
		ti := row.(*discordgo.ActionsRow).Components[0].(*discordgo.TextInput)
		values[ti.CustomID] = ti.Value
	}
	if d.CustomID != "modal/request/new/Acme" || values["job_url"] != "https://acme.example/jobs/1" || values["intro"] != "I am a CS student at State" {
		t.Errorf("modal submit %s %v; want the pre-filled job_url kept and the typed intro", d.CustomID, values)
	}
	if i.Member == nil || i.ChannelID != generalID {
		t.Errorf("modal submit member %v channel %s; want where the modal was opened", i.Member, i.ChannelID)
	}
	if _, err := s.SubmitModal(ctx, ModalSubmit{Modal: modal}); err == nil {
		t.Error("a modal was submitted twice")
	}
}

func TestPressButtonInDM(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	seen, errs := answer(dg, func(i *discordgo.InteractionCreate) *discordgo.InteractionResponse {
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage, Data: &discordgo.InteractionResponseData{
			Content: "Accepted", Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.Button{Label: "Accept", CustomID: "offer/accept/1", Disabled: true}}}}}}
	})
	openSession(t, s, dg)
	ctx := ctxT(t)
	ch, err := dg.UserChannelCreate(aliceID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dg.ChannelMessageSendComplex(ch.ID, &discordgo.MessageSend{Content: "Offer: Acme SWE",
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Accept", Style: discordgo.SuccessButton, CustomID: "offer/accept/1"},
			discordgo.Button{Label: "Decline", Style: discordgo.DangerButton, CustomID: "offer/decline/1"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	offer, err := s.WaitDM(ctx, aliceID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bs := offer.Buttons(); len(bs) != 2 || bs[1].Label != "Decline" {
		t.Fatalf("buttons %+v", bs)
	}
	if _, err := s.PressButton(ctx, Press{UserID: bobID, Message: offer, Label: "Accept"}); err == nil {
		t.Error("bob pressed a button in alice's DM")
	}
	if _, err := s.PressButton(ctx, Press{UserID: aliceID, Message: offer, Label: "Maybe"}); err == nil {
		t.Error("pressed a button that does not exist")
	}
	it, err := s.PressButton(ctx, Press{UserID: aliceID, Message: offer, Label: "Accept"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := it.Response(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatalf("update callback: %v", err)
	}
	i := <-seen
	if i.User == nil || i.User.ID != aliceID || i.Member != nil || i.GuildID != "" || i.ChannelID != ch.ID {
		t.Errorf("DM press: user %v member %v guild %q channel %s; want user alice, no member, DM channel", i.User, i.Member, i.GuildID, i.ChannelID)
	}
	d := i.MessageComponentData()
	if d.CustomID != "offer/accept/1" || d.ComponentType != discordgo.ButtonComponent || i.Message == nil || i.Message.ID != offer.ID {
		t.Errorf("component data %+v message %v", d, i.Message)
	}
	updated := s.DMs(aliceID)[0]
	if updated.Content != "Accepted" || updated.Edits != 1 || !updated.Buttons()[0].Disabled {
		t.Errorf("after type 7: %q edits %d buttons %+v", updated.Content, updated.Edits, updated.Buttons())
	}
	if _, err := s.PressButton(ctx, Press{UserID: aliceID, Message: offer, Label: "Accept"}); err == nil ||
		!strings.Contains(err.Error(), "disabled") {
		t.Errorf("second press on the disabled button: %v; want an error", err)
	}
}

func TestDoubleAndLateCallbacks(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	second := make(chan error, 1)
	late := make(chan error, 1)
	dg.AddHandler(func(ds *discordgo.Session, i *discordgo.InteractionCreate) {
		if i.ApplicationCommandData().Options[0].Name == "request" {
			_ = ds.InteractionRespond(i.Interaction, ephemeral("one"))
			second <- ds.InteractionRespond(i.Interaction, ephemeral("two"))
			return
		}
		time.Sleep(300 * time.Millisecond) // too slow for the shortened deadline
		late <- ds.InteractionRespond(i.Interaction, ephemeral("late"))
	})
	openSession(t, s, dg)
	register(t, s, dg)
	ctx := ctxT(t)
	if _, err := s.RunCommand(ctx, Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "request",
		Options: []Option{{Name: "company", Value: "Acme"}}}); err != nil {
		t.Fatal(err)
	}
	if err := <-second; restCode(err) != codeAlreadyAcked || !strings.Contains(err.Error(), "already been acknowledged") {
		t.Errorf("second callback: %v; want 40060", err)
	}
	s.InteractionDeadline = 100 * time.Millisecond // read when an interaction is sent
	it, err := s.RunCommand(ctx, Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
		Options: []Option{{Name: "request", Value: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-late; restCode(err) != codeUnknownInteraction {
		t.Errorf("late callback: %v; want 10062", err)
	}
	// The refusal is final; a cancelled context only reads the state.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := it.Response(done); err == nil || !strings.Contains(err.Error(), "10062") {
		t.Errorf("after a late callback Response = %v; want no response, naming the 10062 refusal", err)
	}
}

func TestDeferredReplyAndFollowups(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	errs := make(chan error, 4)
	dg.AddHandler(func(ds *discordgo.Session, i *discordgo.InteractionCreate) {
		errs <- ds.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}})
		_, err := ds.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: str("export ready")})
		errs <- err
		_, err = ds.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: "requests.csv",
			Flags: discordgo.MessageFlagsEphemeral,
			Files: []*discordgo.File{{Name: "requests.csv", ContentType: "text/csv", Reader: bytes.NewReader([]byte("a,b\n"))}}})
		errs <- err
	})
	openSession(t, s, dg)
	register(t, s, dg)
	ctx := ctxT(t)
	it, err := s.RunCommand(ctx, Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
		Options: []Option{{Name: "request", Value: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	resp, err := it.Response(ctx)
	if err != nil || resp.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || !resp.Ephemeral {
		t.Fatalf("response %+v, %v; want an ephemeral deferral", resp, err)
	}
	orig, err := it.Original(ctx)
	if err != nil || orig.Content != "export ready" || !orig.Ephemeral() || orig.Flags&discordgo.MessageFlagsLoading != 0 {
		t.Fatalf("original %+v, %v; want the edited ephemeral reply", orig, err)
	}
	f, err := it.WaitFollowup(ctx, func(m *Message) bool { return len(m.Files) == 1 })
	if err != nil || f.Files[0].Name != "requests.csv" || string(f.Files[0].Data) != "a,b\n" || !f.Ephemeral() {
		t.Fatalf("followup %+v, %v; want the CSV, ephemeral", f, err)
	}
	if n := len(it.Followups()); n != 1 {
		t.Errorf("%d followups; want 1", n)
	}
}

func TestPressButtonOnEphemeralReply(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	seen, _ := answer(dg, func(i *discordgo.InteractionCreate) *discordgo.InteractionResponse {
		if i.Type == discordgo.InteractionMessageComponent {
			return ephemeral("deleted")
		}
		r := ephemeral("Delete all your data?")
		r.Data.Components = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Delete my data", Style: discordgo.DangerButton, CustomID: "forget/confirm"}}}}
		return r
	})
	openSession(t, s, dg)
	register(t, s, dg)
	ctx := ctxT(t)
	it, err := s.RunCommand(ctx, Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
		Options: []Option{{Name: "request", Value: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := it.Response(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-seen
	if bs := resp.Buttons(); len(bs) != 1 || bs[0].Label != "Delete my data" {
		t.Fatalf("response buttons %+v", bs)
	}
	if _, err := s.PressButton(ctx, Press{UserID: bobID, Message: resp.Message(), Label: "Delete my data"}); err == nil ||
		!strings.Contains(err.Error(), "ephemeral") {
		t.Errorf("bob pressed alice's ephemeral button: %v", err)
	}
	press, err := s.PressButton(ctx, Press{UserID: aliceID, Message: resp.Message(), Label: "Delete my data"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := press.Response(ctx); err != nil || r.Text() != "deleted" {
		t.Fatalf("press response %+v, %v", r, err)
	}
	i := <-seen
	if i.Member == nil || i.Member.User.ID != aliceID || i.User != nil || i.GuildID != guildID || i.ChannelID != generalID {
		t.Errorf("guild press: member %v user %v guild %q channel %q; want member alice in #general", i.Member, i.User, i.GuildID, i.ChannelID)
	}
	if i.Message == nil || i.Message.Flags&discordgo.MessageFlagsEphemeral == 0 {
		t.Errorf("press carries message %+v; want the ephemeral reply", i.Message)
	}
}
