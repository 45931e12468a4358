package discordtest

// LiveGatewaySessions counts the gateway sessions that have a live,
// identified (or resumed) websocket now: with several replicas of a bot,
// the ones holding the gateway.
func (s *Server) LiveGatewaySessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveSessionsLocked()
}

// PeakGatewaySessions is the most LiveGatewaySessions has been at any
// moment since the server started, so a test can tell that two never
// overlapped, not only that they don't now.
func (s *Server) PeakGatewaySessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gatewayPeak
}

func (s *Server) liveSessionsLocked() int {
	n := 0
	for _, sess := range s.sessions {
		if sess.conn != nil {
			n++
		}
	}
	return n
}

// notePeakLocked runs when a session gets a connection.
func (s *Server) notePeakLocked() {
	s.gatewayPeak = max(s.gatewayPeak, s.liveSessionsLocked())
}
