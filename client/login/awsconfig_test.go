package login

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteCredentialProcess(t *testing.T) {
	tests := []struct {
		name, before, profile, want string
	}{
		{"new file", "", "dev", "[profile dev]\ncredential_process = fs credentials --profile dev\n"},
		{"default section", "[default]\nregion = eu-west-1\n", "default",
			"[default]\nregion = eu-west-1\ncredential_process = fs credentials --profile default\n"},
		{"replaces the old line, keeps the rest", "[profile dev]\ncredential_process = old\nregion = x\n[profile other]\nregion = y\n", "dev",
			"[profile dev]\ncredential_process = fs credentials --profile dev\nregion = x\n[profile other]\nregion = y\n"},
		{"appends a missing section", "[profile other]\nregion = y\n", "dev",
			"[profile other]\nregion = y\n\n[profile dev]\ncredential_process = fs credentials --profile dev\n"},
		{"section in the middle", "[profile dev]\nregion = x\n[default]\nregion = z\n", "dev",
			"[profile dev]\nregion = x\ncredential_process = fs credentials --profile dev\n[default]\nregion = z\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), ".aws", "config")
			if tc.before != "" {
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(tc.before), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteCredentialProcess(p, tc.profile, "fs credentials --profile "+tc.profile); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(p)
			if string(got) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if err := WriteCredentialProcess(filepath.Join(t.TempDir(), "c"), "x", "evil\n[default]"); err == nil {
		t.Fatal("a command with a line break was written")
	}
}

func TestRefreshMargin(t *testing.T) {
	for _, tc := range []struct{ life, want time.Duration }{
		{time.Hour, 5 * time.Minute}, {40 * time.Second, 10 * time.Second}, {0, 0},
	} {
		if got := refreshMargin(tc.life); got != tc.want {
			t.Errorf("refreshMargin(%s) = %s, want %s", tc.life, got, tc.want)
		}
	}
}

func TestProfileFileMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "profiles", "x.json")
	if err := saveProfile(p, &Profile{RefreshToken: "r", TokenURL: "u"}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", st, err)
	}
	if _, err := loadProfile(p); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Profile: "../etc", Dir: t.TempDir()}
	if _, err := cfg.profilePath(); err == nil {
		t.Fatal("a profile name with a path was accepted")
	}
}
