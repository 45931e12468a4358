package bot_test

import (
	"strconv"
	"testing"
)

// Every write transaction reports how long it held the writer: the
// histogram is on /metrics, and a write adds to it before its answer.
func TestWriteHoldTimeInMetrics(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	count := func() float64 {
		v, err := strconv.ParseFloat(h.metric("referralbot_write_transaction_seconds_count"), 64)
		if err != nil {
			t.Fatalf("referralbot_write_transaction_seconds_count: %v", err)
		}
		return v
	}
	before := count()
	h.setupDigest()
	if after := count(); after <= before {
		t.Errorf("referralbot_write_transaction_seconds_count after /referral-admin setup = %v; want more than %v", after, before)
	}
	if v := h.metric(`referralbot_write_transaction_seconds_bucket{le="+Inf"}`); v == "0" {
		t.Errorf("referralbot_write_transaction_seconds +Inf bucket = %s; want the writes counted", v)
	}
}
