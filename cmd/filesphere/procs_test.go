package main

import "testing"

func TestServerProcs(t *testing.T) {
	cases := []struct {
		env       string
		def, want int
	}{
		{"", 1, 2},
		{"", 2, 4},
		{"", 16, 32},
		{"3", 2, 0}, // the operator's GOMAXPROCS stays
		{"1", 8, 0},
	}
	for _, c := range cases {
		if got := serverProcs(c.env, c.def); got != c.want {
			t.Errorf("serverProcs(%q, %d) = %d, want %d", c.env, c.def, got, c.want)
		}
	}
}
