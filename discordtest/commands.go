package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// Commands returns copies of the commands registered in a guild ("" for
// global ones), in registration order.
func (s *Server) Commands(guildID string) []*discordgo.ApplicationCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneCommands(s.commands[guildID])
}

// WaitCommands waits until at least n commands are registered in the guild
// ("" for global) and returns them.
func (s *Server) WaitCommands(ctx context.Context, guildID string, n int) ([]*discordgo.ApplicationCommand, error) {
	return waitFor(ctx, s, func() ([]*discordgo.ApplicationCommand, bool, error) {
		cs := s.commands[guildID]
		return cloneCommands(cs), len(cs) >= n, nil
	}, func() string {
		return fmt.Sprintf("wait for %d commands in %s: have %d (%s)", n, scopeName(guildID),
			len(s.commands[guildID]), commandNames(s.commands[guildID]))
	})
}

func cloneCommands(cs []*discordgo.ApplicationCommand) []*discordgo.ApplicationCommand {
	out := make([]*discordgo.ApplicationCommand, 0, len(cs))
	for _, c := range cs {
		out = append(out, cloneCommand(c))
	}
	return out
}

func cloneCommand(c *discordgo.ApplicationCommand) *discordgo.ApplicationCommand {
	var out discordgo.ApplicationCommand
	if err := json.Unmarshal(mustJSON(c), &out); err != nil {
		panic("discordtest: clone command: " + err.Error())
	}
	return &out
}

func scopeName(guildID string) string {
	if guildID == "" {
		return "global scope"
	}
	return "guild " + guildID
}

func commandNames(cs []*discordgo.ApplicationCommand) string {
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// commandScope checks the app and guild of a commands route.
func (s *Server) commandScopeLocked(r *http.Request) (string, result, bool) {
	if app := r.PathValue("app"); app != s.appID {
		return "", notFound(codeUnknownApplication, "Unknown Application", "application "+app+" is not the bot's ("+s.appID+")"), false
	}
	gid := r.PathValue("guild")
	if gid != "" {
		if _, found := s.guilds[gid]; !found {
			return "", failure(http.StatusForbidden, codeMissingAccess, "Missing Access", "the bot is not in guild "+gid), false
		}
	}
	return gid, result{}, true
}

func (s *Server) listCommands(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, res, found := s.commandScopeLocked(r)
	if !found {
		return res
	}
	return ok(orEmpty(cloneCommands(s.commands[gid])))
}

func (s *Server) getCommand(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, res, found := s.commandScopeLocked(r)
	if !found {
		return res
	}
	i := indexCommand(s.commands[gid], r.PathValue("cmd"))
	if i < 0 {
		return notFound(codeUnknownCommand, "Unknown application command", "command "+r.PathValue("cmd"))
	}
	return ok(cloneCommand(s.commands[gid][i]))
}

func indexCommand(cs []*discordgo.ApplicationCommand, id string) int {
	for i, c := range cs {
		if c.ID == id {
			return i
		}
	}
	return -1
}

func decodeCommand(raw json.RawMessage) (*discordgo.ApplicationCommand, error) {
	var c discordgo.ApplicationCommand
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// prepareCommandLocked gives a command Discord's server-side fields, keeping the ID
// of a same-named command of the same type, as Discord does.
func (s *Server) prepareCommandLocked(c *discordgo.ApplicationCommand, gid string, existing []*discordgo.ApplicationCommand) {
	if c.Type == 0 {
		c.Type = discordgo.ChatApplicationCommand
	}
	c.ApplicationID = s.appID
	c.GuildID = gid
	c.Version = s.newIDLocked()
	c.ID = ""
	for _, e := range existing {
		if e.Name == c.Name && e.Type == c.Type {
			c.ID = e.ID
		}
	}
	if c.ID == "" {
		c.ID = s.newIDLocked()
	}
}

func (s *Server) overwriteCommands(r *http.Request) result {
	p, err := readPayload(r)
	if err != nil {
		return failure(http.StatusBadRequest, 0, "400: Bad Request", err.Error())
	}
	var raws []json.RawMessage
	if e := decodeJSON(p.json, &raws); e != nil {
		return badJSON(e)
	}
	f := &formErrors{}
	cmds := make([]*discordgo.ApplicationCommand, 0, len(raws))
	seen := map[string]bool{}
	for i, raw := range raws {
		c, err := decodeCommand(raw)
		if err != nil {
			f.add(fmt.Sprint(i), "MODEL_TYPE_CONVERT", "Could not decode command: %v", err)
			continue
		}
		validateCommand(f, fmt.Sprintf("%d.", i), c)
		key := fmt.Sprintf("%d/%s", max(c.Type, 1), c.Name)
		if seen[key] {
			f.add(fmt.Sprintf("%d.name", i), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
		}
		seen[key] = true
		cmds = append(cmds, c)
	}
	if len(cmds) > 110 {
		f.add("", "BASE_TYPE_MAX_LENGTH", "Must be 110 or fewer in length.")
	}
	if !f.empty() {
		return f.result()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, res, found := s.commandScopeLocked(r)
	if !found {
		return res
	}
	for _, c := range cmds {
		s.prepareCommandLocked(c, gid, s.commands[gid])
	}
	s.commands[gid] = cmds
	s.registered = true
	s.addEventLocked(Event{Kind: "register", GuildID: gid,
		Summary: fmt.Sprintf("bulk overwrite in %s: %d command(s): %s", s.scopeLabelLocked(gid), len(cmds), commandNames(cmds))})
	return ok(orEmpty(cloneCommands(cmds)))
}

func (s *Server) scopeLabelLocked(gid string) string {
	if g, found := s.guilds[gid]; found {
		return "guild " + g.g.Name
	}
	return scopeName(gid)
}

func (s *Server) createCommand(r *http.Request) result {
	p, err := readPayload(r)
	if err != nil {
		return failure(http.StatusBadRequest, 0, "400: Bad Request", err.Error())
	}
	c, err := decodeCommand(p.json)
	if err != nil {
		return badJSON(&apiError{Message: "The request body contains invalid JSON.", Code: 50109, detail: err.Error()})
	}
	f := &formErrors{}
	validateCommand(f, "", c)
	if !f.empty() {
		return f.result()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, res, found := s.commandScopeLocked(r)
	if !found {
		return res
	}
	s.prepareCommandLocked(c, gid, s.commands[gid])
	status := http.StatusCreated
	if i := indexCommand(s.commands[gid], c.ID); i >= 0 {
		s.commands[gid][i] = c // same name: an upsert
		status = http.StatusOK
	} else {
		s.commands[gid] = append(s.commands[gid], c)
	}
	s.registered = true
	s.addEventLocked(Event{Kind: "register", GuildID: gid,
		Summary: fmt.Sprintf("created /%s in %s", c.Name, s.scopeLabelLocked(gid))})
	return result{status: status, body: cloneCommand(c)}
}

func (s *Server) editCommand(r *http.Request) result {
	p, err := readPayload(r)
	if err != nil {
		return failure(http.StatusBadRequest, 0, "400: Bad Request", err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, res, found := s.commandScopeLocked(r)
	if !found {
		return res
	}
	i := indexCommand(s.commands[gid], r.PathValue("cmd"))
	if i < 0 {
		return notFound(codeUnknownCommand, "Unknown application command", "command "+r.PathValue("cmd"))
	}
	c := cloneCommand(s.commands[gid][i])
	id := c.ID
	if e := decodeJSON(p.json, c); e != nil { // fields present replace the old ones
		return badJSON(e)
	}
	f := &formErrors{}
	validateCommand(f, "", c)
	if !f.empty() {
		return f.result()
	}
	c.ID, c.ApplicationID, c.GuildID, c.Version = id, s.appID, gid, s.newIDLocked()
	s.commands[gid][i] = c
	s.addEventLocked(Event{Kind: "register", GuildID: gid,
		Summary: fmt.Sprintf("edited /%s in %s", c.Name, s.scopeLabelLocked(gid))})
	return ok(cloneCommand(c))
}

func (s *Server) deleteCommand(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid, res, found := s.commandScopeLocked(r)
	if !found {
		return res
	}
	cs := s.commands[gid]
	i := indexCommand(cs, r.PathValue("cmd"))
	if i < 0 {
		return notFound(codeUnknownCommand, "Unknown application command", "command "+r.PathValue("cmd"))
	}
	name := cs[i].Name
	s.commands[gid] = append(cs[:i:i], cs[i+1:]...)
	s.addEventLocked(Event{Kind: "register", GuildID: gid,
		Summary: fmt.Sprintf("deleted /%s in %s", name, s.scopeLabelLocked(gid))})
	return noContent()
}
