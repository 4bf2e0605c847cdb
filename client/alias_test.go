package client_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filesphere/filesphere/client"
)

func TestAliasStoreKeepsSecretsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg")
	for _, asJSON := range []bool{false, true} {
		cfg := client.DefaultConfig()
		var out bytes.Buffer
		cfg.Dir, cfg.Stdout, cfg.Stderr, cfg.JSON = dir, &out, &out, asJSON
		c, err := client.New(cfg)
		must(t, err)
		must(t, c.AliasSet(client.Alias{Name: "fs", URL: "http://127.0.0.1:9000/", Credentials: client.CredentialRef{
			Kind: client.KindStatic, AccessKey: "AKEXAMPLE", SecretKey: "very-secret-value"}}))
		must(t, c.AliasSet(client.Alias{Name: "aws", Credentials: client.CredentialRef{Kind: client.KindProfile, Profile: "dev"}}))
		must(t, c.AliasList())
		if strings.Contains(out.String(), "very-secret-value") {
			t.Fatalf("the secret is printed (json=%v):\n%s", asJSON, out.String())
		}
		if !strings.Contains(out.String(), "AKEXAMPLE") || !strings.Contains(out.String(), "aws profile dev") {
			t.Fatalf("alias list (json=%v):\n%s", asJSON, out.String())
		}
		if asJSON {
			var recs []client.AliasRecord
			for _, l := range lines(out.String()) {
				var r client.AliasRecord
				must(t, json.Unmarshal([]byte(l), &r))
				recs = append(recs, r)
			}
			if len(recs) != 4 || recs[2].Name != "aws" || recs[3].URL != "http://127.0.0.1:9000" || recs[3].Kind != "static" {
				t.Fatalf("records %+v", recs)
			}
		}
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "config.json"): 0o600} {
		st, err := os.Stat(path)
		must(t, err)
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	s := client.NewAliasStore(dir)
	a, ok, err := s.Get("fs")
	if err != nil || !ok || a.Credentials.SecretKey != "very-secret-value" || a.URL != "http://127.0.0.1:9000" {
		t.Fatalf("get: %+v %v %v", a, ok, err)
	}
	must(t, s.Remove("fs"))
	var nae *client.NoAliasError
	if err := s.Remove("fs"); !errors.As(err, &nae) {
		t.Fatalf("removing a missing alias: %v", err)
	}
}

func TestAliasValidate(t *testing.T) {
	static := client.CredentialRef{Kind: client.KindStatic, AccessKey: "a", SecretKey: "b"}
	tests := []struct {
		name string
		a    client.Alias
		ok   bool
	}{
		{"static", client.Alias{Name: "fs", URL: "https://s3.example.com:9000", Credentials: static}, true},
		{"profile for AWS", client.Alias{Name: "aws", Credentials: client.CredentialRef{Kind: client.KindProfile, Profile: "p"}}, true},
		{"env", client.Alias{Name: "e_1-x", URL: "http://h", Credentials: client.CredentialRef{Kind: client.KindEnv}}, true},
		{"slash in name", client.Alias{Name: "a/b", URL: "http://h", Credentials: static}, false},
		{"dot name", client.Alias{Name: ".", URL: "http://h", Credentials: static}, false},
		{"no scheme", client.Alias{Name: "fs", URL: "s3.example.com", Credentials: static}, false},
		{"path in URL", client.Alias{Name: "fs", URL: "http://h/bucket", Credentials: static}, false},
		{"user in URL", client.Alias{Name: "fs", URL: "http://u:p@h", Credentials: static}, false},
		{"static without URL", client.Alias{Name: "fs", Credentials: static}, false},
		{"half keys", client.Alias{Name: "fs", URL: "http://h", Credentials: client.CredentialRef{Kind: client.KindStatic, AccessKey: "a"}}, false},
		{"profile without name", client.Alias{Name: "fs", Credentials: client.CredentialRef{Kind: client.KindProfile}}, false},
		{"path style", client.Alias{Name: "fs", URL: "http://h", PathStyle: "sometimes", Credentials: static}, false},
	}
	for _, tc := range tests {
		err := tc.a.Validate()
		var ue *client.UsageError
		if (err == nil) != tc.ok || (err != nil && !errors.As(err, &ue)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if !(client.Alias{URL: "https://s3.eu-west-1.amazonaws.com"}).IsAWS() || (client.Alias{URL: "http://127.0.0.1:9000"}).IsAWS() {
		t.Error("IsAWS")
	}
}

func TestParseLocation(t *testing.T) {
	known := func(n string) bool { return n == "fs" }
	tests := []struct {
		in   string
		want client.Location
	}{
		{"fs", client.Location{Alias: "fs"}},
		{"fs/", client.Location{Alias: "fs"}},
		{"fs/b", client.Location{Alias: "fs", Bucket: "b"}},
		{"fs/b/", client.Location{Alias: "fs", Bucket: "b"}},
		{"fs/b/k", client.Location{Alias: "fs", Bucket: "b", Key: "k"}},
		{"fs/b/dir/", client.Location{Alias: "fs", Bucket: "b", Key: "dir/"}},
		{"fs/b/a//b c", client.Location{Alias: "fs", Bucket: "b", Key: "a//b c"}},
		{"./fs/b", client.Location{Local: "./fs/b"}},
		{"/fs/b", client.Location{Local: "/fs/b"}},
		{"other/b/k", client.Location{Local: "other/b/k"}},
		{"file.txt", client.Location{Local: "file.txt"}},
		{".", client.Location{Local: "."}},
	}
	for _, tc := range tests {
		if got := client.ParseLocation(tc.in, known); got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
