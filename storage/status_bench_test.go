package storage

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkStudentRequests is /referral status's query on a fresh test
// store: a student with none and one with three requests.
func BenchmarkStudentRequests(b *testing.B) {
	t := &testing.T{}
	s, _, _ := openTest(t)
	defer s.Close()
	join(t, s, "u-ref", true)
	for i := range 3 {
		request(t, s, "u-stu", fmt.Sprintf("https://jobs.example/%d", i))
	}
	ctx := context.Background()
	for _, who := range []string{"nobody", "u-stu"} {
		b.Run(who, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.StudentRequests(ctx, who); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
