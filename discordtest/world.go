package discordtest

import (
	"fmt"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
)

type guildRec struct {
	g        Guild
	joinedAt time.Time
	members  map[string]*memberRec
}

type memberRec struct {
	userID   string
	roles    []string
	joinedAt time.Time
}

type channelRec struct {
	id       string
	guildID  string // empty for DMs
	name     string
	dmUserID string // the recipient, for DMs
}

// everyonePermissions is what @everyone may do in a fresh server.
const everyonePermissions = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
	discordgo.PermissionReadMessageHistory | discordgo.PermissionEmbedLinks |
	discordgo.PermissionAttachFiles | discordgo.PermissionUseApplicationCommands

// botChannelPermissions is what the bot may do where interactions happen
// (app_permissions).
const botChannelPermissions = everyonePermissions | discordgo.PermissionMentionEveryone

// AddGuild adds (or replaces) a guild with its text channels and roles.
// Missing IDs are generated. A connected bot gets GUILD_CREATE.
func (s *Server) AddGuild(g Guild) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.ID == "" {
		g.ID = s.newIDLocked()
	}
	g.Channels = append([]Channel(nil), g.Channels...)
	g.Roles = append([]Role(nil), g.Roles...)
	hasEveryone := false
	for i := range g.Channels {
		if g.Channels[i].ID == "" {
			g.Channels[i].ID = s.newIDLocked()
		}
		c := g.Channels[i]
		s.channels[c.ID] = &channelRec{id: c.ID, guildID: g.ID, name: c.Name}
	}
	for i := range g.Roles {
		if g.Roles[i].ID == "" {
			g.Roles[i].ID = s.newIDLocked()
		}
		if g.Roles[i].ID == g.ID {
			hasEveryone = true
		}
	}
	if !hasEveryone {
		g.Roles = append([]Role{{ID: g.ID, Name: "@everyone", Permissions: everyonePermissions}}, g.Roles...)
	}
	rec, ok := s.guilds[g.ID]
	if !ok {
		rec = &guildRec{joinedAt: time.Now(), members: map[string]*memberRec{}}
		s.guilds[g.ID] = rec
		s.guildOrder = append(s.guildOrder, g.ID)
	}
	rec.g = g
	if g.OwnerID != "" {
		if _, ok := s.users[g.OwnerID]; ok {
			if _, ok := rec.members[g.OwnerID]; !ok {
				rec.members[g.OwnerID] = &memberRec{userID: g.OwnerID, joinedAt: time.Now()}
			}
		}
	}
	if sess := s.current; sess != nil {
		s.dispatchLocked(sess, "GUILD_CREATE", s.guildCreateLocked(rec), "")
	}
	s.notifyLocked()
}

// AddUser adds (or replaces) a user.
func (s *Server) AddUser(u User) {
	if u.ID == "" {
		panic("discordtest: AddUser: empty user ID")
	}
	if u.Username == "" {
		u.Username = "user" + u.ID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = &u
	s.notifyLocked()
}

// AddMember makes a known user a member of a known guild with roles. It
// panics on unknown IDs: that is a mistake in the test's setup.
func (s *Server) AddMember(guildID, userID string, roleIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.mustMemberTargetsLocked("AddMember", guildID, userID, roleIDs)
	m := &memberRec{userID: userID, roles: append([]string(nil), roleIDs...), joinedAt: time.Now()}
	_, existed := g.members[userID]
	g.members[userID] = m
	if sess := s.current; sess != nil && sess.intents&discordgo.IntentGuildMembers != 0 {
		t := "GUILD_MEMBER_ADD"
		if existed {
			t = "GUILD_MEMBER_UPDATE"
		}
		d := s.wireMemberLocked(guildID, m, true, false)
		d.GuildID = guildID
		s.dispatchLocked(sess, t, d, "")
	}
	s.notifyLocked()
}

// SetMemberRoles replaces a member's roles (GUILD_MEMBER_UPDATE goes to a
// bot that asked for the GUILD_MEMBERS intent).
func (s *Server) SetMemberRoles(guildID, userID string, roleIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.mustMemberTargetsLocked("SetMemberRoles", guildID, userID, roleIDs)
	m, ok := g.members[userID]
	if !ok {
		panic(fmt.Sprintf("discordtest: SetMemberRoles: user %s is not a member of guild %s", userID, guildID))
	}
	m.roles = append([]string(nil), roleIDs...)
	if sess := s.current; sess != nil && sess.intents&discordgo.IntentGuildMembers != 0 {
		d := s.wireMemberLocked(guildID, m, true, false)
		d.GuildID = guildID
		s.dispatchLocked(sess, "GUILD_MEMBER_UPDATE", d, "")
	}
	s.notifyLocked()
}

func (s *Server) mustMemberTargetsLocked(op, guildID, userID string, roleIDs []string) *guildRec {
	g, ok := s.guilds[guildID]
	if !ok {
		panic(fmt.Sprintf("discordtest: %s: unknown guild %q (AddGuild first)", op, guildID))
	}
	if _, ok := s.users[userID]; !ok {
		panic(fmt.Sprintf("discordtest: %s: unknown user %q (AddUser first)", op, userID))
	}
	for _, r := range roleIDs {
		if g.role(r) == nil {
			panic(fmt.Sprintf("discordtest: %s: guild %s has no role %q", op, guildID, r))
		}
	}
	return g
}

// Username is the user's username, or the ID if the user is unknown.
func (s *Server) Username(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usernameLocked(userID)
}

func (s *Server) usernameLocked(userID string) string {
	if u, ok := s.users[userID]; ok {
		return u.Username
	}
	return userID
}

func (g *guildRec) role(id string) *Role {
	for i := range g.g.Roles {
		if g.g.Roles[i].ID == id {
			return &g.g.Roles[i]
		}
	}
	return nil
}

func (g *guildRec) firstChannel() string {
	if len(g.g.Channels) == 0 {
		return ""
	}
	return g.g.Channels[0].ID
}

// permissionsLocked computes a member's permissions from @everyone and
// their roles; the owner and administrators have all.
func (s *Server) permissionsLocked(g *guildRec, userID string, roles []string) int64 {
	if userID == g.g.OwnerID {
		return discordgo.PermissionAll
	}
	var p int64
	if r := g.role(g.g.ID); r != nil {
		p |= r.Permissions
	}
	for _, id := range roles {
		if r := g.role(id); r != nil {
			p |= r.Permissions
		}
	}
	if p&discordgo.PermissionAdministrator != 0 {
		return discordgo.PermissionAll
	}
	return p
}

// dmChannelLocked returns the user's DM channel, creating it once.
func (s *Server) dmChannelLocked(userID string) *channelRec {
	if id, ok := s.dmChannel[userID]; ok {
		return s.channels[id]
	}
	c := &channelRec{id: s.newIDLocked(), dmUserID: userID}
	s.channels[c.id] = c
	s.dmChannel[userID] = c.id
	return c
}

// Wire shapes, as Discord sends them.

type wireUser struct {
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	GlobalName    *string `json:"global_name"`
	Discriminator string  `json:"discriminator"`
	Avatar        *string `json:"avatar"`
	Bot           bool    `json:"bot,omitempty"`
	PublicFlags   int     `json:"public_flags"`
}

type wireMember struct {
	GuildID     string    `json:"guild_id,omitempty"` // gateway member events only
	User        *wireUser `json:"user,omitempty"`
	Nick        *string   `json:"nick"`
	Avatar      *string   `json:"avatar"`
	Roles       []string  `json:"roles"`
	JoinedAt    string    `json:"joined_at"`
	Deaf        bool      `json:"deaf"`
	Mute        bool      `json:"mute"`
	Flags       int       `json:"flags"`
	Pending     bool      `json:"pending"`
	Permissions string    `json:"permissions,omitempty"`
}

type wireRole struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Color       int    `json:"color"`
	Hoist       bool   `json:"hoist"`
	Position    int    `json:"position"`
	Permissions string `json:"permissions"`
	Managed     bool   `json:"managed"`
	Mentionable bool   `json:"mentionable"`
	Flags       int    `json:"flags"`
}

type wireChannel struct {
	ID                   string     `json:"id"`
	Type                 int        `json:"type"`
	GuildID              string     `json:"guild_id,omitempty"`
	Name                 string     `json:"name,omitempty"`
	Position             int        `json:"position"`
	PermissionOverwrites []any      `json:"permission_overwrites,omitempty"`
	Recipients           []wireUser `json:"recipients,omitempty"`
	Permissions          string     `json:"permissions,omitempty"`
	Flags                int        `json:"flags"`
}

func (s *Server) wireUserLocked(id string) wireUser {
	u, ok := s.users[id]
	if !ok {
		u = &User{ID: id, Username: "user" + id}
	}
	w := wireUser{ID: u.ID, Username: u.Username, Discriminator: "0", Bot: u.Bot}
	if u.GlobalName != "" {
		name := u.GlobalName
		w.GlobalName = &name
	}
	return w
}

func (s *Server) wireMemberLocked(guildID string, m *memberRec, withUser, withPerms bool) wireMember {
	w := wireMember{Roles: append([]string{}, m.roles...), JoinedAt: m.joinedAt.UTC().Format(time.RFC3339Nano)}
	if withUser {
		u := s.wireUserLocked(m.userID)
		w.User = &u
	}
	if withPerms {
		w.Permissions = strconv.FormatInt(s.permissionsLocked(s.guilds[guildID], m.userID, m.roles), 10)
	}
	return w
}

func wireRoles(g Guild) []wireRole {
	out := make([]wireRole, 0, len(g.Roles))
	for i, r := range g.Roles {
		out = append(out, wireRole{ID: r.ID, Name: r.Name, Position: i, Permissions: strconv.FormatInt(r.Permissions, 10)})
	}
	return out
}

func (s *Server) wireChannelLocked(c *channelRec) wireChannel {
	if c.dmUserID != "" {
		return wireChannel{ID: c.id, Type: int(discordgo.ChannelTypeDM), Recipients: []wireUser{s.wireUserLocked(c.dmUserID)}}
	}
	pos := 0
	if g, ok := s.guilds[c.guildID]; ok {
		for i, gc := range g.g.Channels {
			if gc.ID == c.id {
				pos = i
			}
		}
	}
	return wireChannel{ID: c.id, Type: int(discordgo.ChannelTypeGuildText), GuildID: c.guildID, Name: c.name,
		Position: pos, PermissionOverwrites: []any{}}
}

type wireGuild struct {
	ID                          string        `json:"id"`
	Name                        string        `json:"name"`
	Icon                        *string       `json:"icon"`
	OwnerID                     string        `json:"owner_id"`
	Roles                       []wireRole    `json:"roles"`
	Emojis                      []any         `json:"emojis"`
	Features                    []string      `json:"features"`
	PreferredLocale             string        `json:"preferred_locale"`
	VerificationLevel           int           `json:"verification_level"`
	DefaultMessageNotifications int           `json:"default_message_notifications"`
	ApplicationID               *string       `json:"application_id"`
	JoinedAt                    string        `json:"joined_at,omitempty"`
	Large                       *bool         `json:"large,omitempty"`
	Unavailable                 *bool         `json:"unavailable,omitempty"`
	MemberCount                 int           `json:"member_count,omitempty"`
	Members                     []wireMember  `json:"members,omitempty"`
	Channels                    []wireChannel `json:"channels,omitempty"`
	Threads                     []any         `json:"threads,omitempty"`
	VoiceStates                 []any         `json:"voice_states,omitempty"`
	Presences                   []any         `json:"presences,omitempty"`
}

// wireGuildLocked is the REST guild object.
func (s *Server) wireGuildLocked(g *guildRec) wireGuild {
	return wireGuild{ID: g.g.ID, Name: g.g.Name, OwnerID: g.g.OwnerID, Roles: wireRoles(g.g),
		Emojis: []any{}, Features: []string{}, PreferredLocale: "en-US"}
}

// guildCreateLocked is the gateway GUILD_CREATE payload: the guild with
// its channels and the bot's own member.
func (s *Server) guildCreateLocked(g *guildRec) wireGuild {
	w := s.wireGuildLocked(g)
	f := false
	w.Large, w.Unavailable = &f, &f
	w.JoinedAt = g.joinedAt.UTC().Format(time.RFC3339Nano)
	w.MemberCount = len(g.members) + 1
	botMember := s.wireMemberLocked(g.g.ID, &memberRec{userID: s.bot.ID, joinedAt: g.joinedAt}, true, false)
	w.Members = []wireMember{botMember}
	for _, c := range g.g.Channels {
		w.Channels = append(w.Channels, s.wireChannelLocked(s.channels[c.ID]))
	}
	w.Threads, w.VoiceStates, w.Presences = []any{}, []any{}, []any{}
	return w
}
