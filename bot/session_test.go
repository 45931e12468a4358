package bot

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

func TestOpenError(t *testing.T) {
	unauthorized := &discordgo.RESTError{Response: &http.Response{StatusCode: http.StatusUnauthorized, Status: "401 Unauthorized"}}
	tests := []struct {
		name    string
		err     error
		refused bool
	}{
		{"rest 401", unauthorized, true},
		{"gateway 4004", &websocket.CloseError{Code: 4004, Text: "Authentication failed."}, true},
		{"rest 500", &discordgo.RESTError{Response: &http.Response{StatusCode: http.StatusInternalServerError}}, false},
		{"gateway 4013", &websocket.CloseError{Code: 4013}, false},
		{"network", errors.New("dial tcp: connection refused"), false},
	}
	for _, tt := range tests {
		err := openError(tt.err)
		refused := strings.Contains(err.Error(), "refused the bot token") && strings.Contains(err.Error(), "Developer Portal")
		if refused != tt.refused {
			t.Errorf("openError(%s) = %v; want token refused = %v", tt.name, err, tt.refused)
		}
		if !tt.refused && !errors.Is(err, tt.err) {
			t.Errorf("openError(%s) = %v; want it to wrap the original", tt.name, err)
		}
	}
}
