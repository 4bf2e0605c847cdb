package main

import (
	"strings"
	"testing"

	"github.com/filesphere/filesphere/erasure"
)

// TestServerBitrotFlag: --bitrot and FILESPHERE_BITROT take the two
// algorithms and refuse anything else before the server starts.
func TestServerBitrotFlag(t *testing.T) {
	cmd := newServerCmd()
	if got := cmd.Flags().Lookup("bitrot").DefValue; got != string(erasure.DefaultBitrot) {
		t.Fatalf("default %q, want %q", got, erasure.DefaultBitrot)
	}
	for _, tc := range []struct {
		flag, env string
	}{
		{flag: "md5"},
		{flag: "SHA256"},
		{env: "blake3"},
	} {
		t.Setenv("FILESPHERE_BITROT", tc.env)
		cmd := newServerCmd()
		args := []string{"--data", t.TempDir()}
		if tc.flag != "" {
			args = append(args, "--bitrot", tc.flag)
		}
		cmd.SetArgs(args)
		cmd.SetOut(&strings.Builder{})
		cmd.SetErr(&strings.Builder{})
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), "bitrot algorithm") {
			t.Errorf("flag %q env %q: %v, want a bitrot algorithm error", tc.flag, tc.env, err)
		}
	}
	for _, s := range []string{"sha256", "highwayhash"} {
		var b bitrotFlag
		if err := b.Set(s); err != nil || b.String() != s {
			t.Errorf("Set(%q): %v, %q", s, err, b.String())
		}
	}
}
