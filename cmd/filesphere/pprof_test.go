package main

import (
	"errors"
	"testing"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:6060", true},
		{"[::1]:6060", true},
		{"localhost:6060", true},
		{"127.0.0.2:6060", true},
		{"0.0.0.0:6060", false},
		{":6060", false},
		{"10.1.2.3:6060", false},
		{"example.com:6060", false},
		{"[::]:6060", false},
	}
	for _, tt := range tests {
		err := checkLoopback(tt.addr)
		if (err == nil) != tt.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
		if !tt.ok && !errors.Is(err, errNotLoopback) {
			t.Errorf("checkLoopback(%q) = %v, want errNotLoopback", tt.addr, err)
		}
	}
}
