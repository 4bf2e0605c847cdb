package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
)

// runAdmin runs `filesphere admin ARGS…` in-process and returns stdout and
// the error main would print.
func runAdmin(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(append([]string{"admin"}, args...))
	err := root.Execute()
	return out.String(), err
}

// clearCredentialEnv keeps the developer's environment out of a test.
func clearCredentialEnv(t *testing.T) {
	for _, k := range []string{"FILESPHERE_ROOT_USER", "FILESPHERE_ROOT_PASSWORD", "FILESPHERE_ACCESS_KEY",
		"FILESPHERE_SECRET_KEY", "FILESPHERE_DATA", "FILESPHERE_ENDPOINT", "FILESPHERE_CA_CERT", "FILESPHERE_INSECURE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func writeCreds(t *testing.T, dir, ak, sk string) {
	t.Helper()
	b, _ := json.Marshal(rootCredentials{AccessKey: ak, SecretKey: sk})
	if err := os.WriteFile(filepath.Join(dir, credentialsFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAdminCredentialSources(t *testing.T) {
	clearCredentialEnv(t)
	dir := t.TempDir()
	writeCreds(t, dir, "FILEKEY", "file-secret")
	tests := []struct {
		name     string
		flags    adminFlags
		env      [2]string
		wantAK   string
		wantErr  string
		noFileAt string
	}{
		{name: "flags win", flags: adminFlags{accessKey: "FLAGKEY", secretKey: "flag-secret", dataDir: dir}, env: [2]string{"ENVKEY", "env-secret"}, wantAK: "FLAGKEY"},
		{name: "environment next", flags: adminFlags{dataDir: dir}, env: [2]string{"ENVKEY", "env-secret"}, wantAK: "ENVKEY"},
		{name: "file last", flags: adminFlags{dataDir: dir}, wantAK: "FILEKEY"},
		{name: "half flags", flags: adminFlags{accessKey: "FLAGKEY", dataDir: dir}, wantErr: "both an access key and a secret key"},
		{name: "no file", flags: adminFlags{dataDir: filepath.Join(dir, "nope")}, wantErr: "--data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FILESPHERE_ROOT_USER", tc.env[0])
			t.Setenv("FILESPHERE_ROOT_PASSWORD", tc.env[1])
			c, err := tc.flags.credentials()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.AccessKeyID != tc.wantAK {
				t.Fatalf("credentials %q, %v; want %q", c.AccessKeyID, err, tc.wantAK)
			}
		})
	}
	corrupt := t.TempDir()
	os.WriteFile(filepath.Join(corrupt, credentialsFile), []byte("{"), 0o600)
	if _, err := (&adminFlags{dataDir: corrupt}).credentials(); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupt file: %v", err)
	}
}

// TestAdminReadsLocalCredentialsFile: with no keys given, a request is
// signed with the access key from <data>/root-credentials.json.
func TestAdminReadsLocalCredentialsFile(t *testing.T) {
	clearCredentialEnv(t)
	dir := t.TempDir()
	writeCreds(t, dir, "LOCALKEY123", "local-secret")
	var auth string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Write([]byte(`{"node_id":"n1","healthy":true}`))
	}))
	defer ts.Close()
	if _, err := runAdmin(t, "cluster", "status", "--json", "--endpoint", ts.URL, "--data", dir); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=LOCALKEY123/") {
		t.Fatalf("request signed as %q, want the stored access key", auth)
	}
}

func TestAdminErrorsAreOneLine(t *testing.T) {
	clearCredentialEnv(t)
	tests := []struct {
		name   string
		status int
		body   string
		args   []string
		want   string
	}{
		{"S3 error", 403, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Access Denied.</Message><Resource>/.filesphere/admin/v1/heal</Resource><RequestId>1A2B3C</RequestId><HostId>1A2B3C</HostId></Error>`,
			[]string{"heal"}, "heal: AccessDenied: Access Denied. (request 1A2B3C)"},
		{"S3 error with a long message", 404, "<Error><Code>NoSuchNode</Code><Message>Node \"n9\" is\n  not a member of the cluster.</Message><RequestId>FF</RequestId></Error>",
			[]string{"node", "drain", "n9"}, `node drain: NoSuchNode: Node "n9" is not a member of the cluster. (request FF)`},
		{"not S3", 502, "<html>\n<body>Bad gateway</body>\n</html>", []string{"heal", "status"},
			"heal status: HTTP 502 Bad Gateway: <html> <body>Bad gateway</body> </html>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer ts.Close()
			_, err := runAdmin(t, append(tc.args, "--endpoint", ts.URL, "--access-key", "AK", "--secret-key", "SK")...)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %q, want %q", err, tc.want)
			}
		})
	}
}

func sampleHealStatus() s3api.AdminHealStatus {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	full := &storage.HealReport{Started: started, Duration: "2s", Streams: 100, Healthy: 90, Healed: 4, Waiting: 6,
		Redundancy: map[int]int{3: 94, 2: 6}, RedundancyBytes: map[int]int64{3: 94 << 20, 2: 6 << 20}}
	return s3api.AdminHealStatus{
		Leader: "n1",
		HealStatus: storage.HealStatus{Running: true, Started: started, Scanned: 40, Expected: 100, Healed: 3, Failed: 1,
			Waiting: 6, StreamsPerS: 12.5, ETA: "5s", Passes: 7, Last: full, LastFull: full, Dirty: 2, DirtyAll: true,
			DrivesOffline: []string{"n4-d1"},
			Sweep:         &storage.SweepStatus{Active: true, Ring: 7, Placed: 6, CheckRing: true, Started: started, Visited: 4200, Checked: 31, Progress: 0.42},
			Scrub:         &storage.ScrubStatus{Period: "720h0m0s", Cycle: 3, Started: started, Progress: 0.12, Due: 0.2, Behind: true, Records: 1200}},
		Unreachable: []s3api.AdminUnreachableNode{{Node: "n4", UnreachableSeconds: 8.2, LostAfterSeconds: 10}},
	}
}

func TestAdminHealStatusTable(t *testing.T) {
	var out bytes.Buffer
	if err := printHealStatus(&out, sampleHealStatus()); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"leader n1", "40 of 100 streams", "12.5 streams/s", "ETA 5s", "healed 3", "failed 1",
		"waiting 6", "2 streams queued for repair", "to ring 7 (ring change): 42% of records, 4200 read, 31 streams checked",
		"cycle 3 over 720h0m0s", "12.0% done, 20.0% due (behind)", "n4-d1 (streams with a shard there wait",
		"last full scan: admin heal, ", "GOOD SHARDS", "94.0 MiB", "6.0 MiB", "waiting: n4 unreachable 8 s, lost after 10 s"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if i, j := strings.Index(text, "\n  3 "), strings.Index(text, "\n  2 "); i < 0 || j < i {
		t.Errorf("redundancy levels not listed from full down:\n%s", text)
	}

	// A finished scrub cycle newer than the last admin heal is the full
	// scan shown; with neither, the table says there is none.
	st := sampleHealStatus()
	st.Scrub.Last = &storage.ScrubCycle{Cycle: 2, Finished: st.Started.Add(time.Hour), Redundancy: map[int]int{3: 7}, RedundancyBytes: map[int]int64{3: 7 << 20}}
	out.Reset()
	if err := printHealStatus(&out, st); err != nil || !strings.Contains(out.String(), "last full scan: scrub cycle 2, finished") ||
		!strings.Contains(out.String(), "7.0 MiB") {
		t.Errorf("with a newer scrub cycle:\n%s", out.String())
	}
	st.Scrub.Last, st.LastFull, st.Running = nil, nil, false
	out.Reset()
	if err := printHealStatus(&out, st); err != nil || strings.Contains(out.String(), "GOOD SHARDS") || !strings.Contains(out.String(), "no full scan yet") {
		t.Errorf("without any full scan:\n%s", out.String())
	}
	for _, tc := range []struct {
		s    float64
		want string
	}{{0, "0 s"}, {8.4, "8 s"}, {90, "1 min 30 s"}, {600, "10 min"}, {3660, "1 h 1 min"}} {
		if got := seconds(tc.s); got != tc.want {
			t.Errorf("seconds(%v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestAdminLifecycleStatusTable(t *testing.T) {
	var out bytes.Buffer
	next := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	st := s3api.AdminLifecycleStatus{Leader: "n2", LifecycleStatus: storage.LifecycleStatus{Day: "2s", Passes: 7,
		Totals:  map[string]int64{"delete_marker": 4, "abort_upload": 1},
		Last:    &storage.LifecycleReport{Started: next, Duration: "12ms", Due: 5, Actions: map[string]int{"delete_marker": 4, "abort_upload": 1}, LagSeconds: 3},
		NextDue: &next, Rescans: []storage.LifecycleRescan{{Bucket: "photos", Phase: "keys", Scanned: 300, Changed: 12, Started: next}}}}
	if err := printLifecycleStatus(&out, st); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"leader n2", "a day lasts 2s", "7 done", "5 due", "1 abort_upload, 4 delete_marker", "lag 3 s",
		"photos: keys, 300 visited, 12 re-planned"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
}

func TestAdminHealStatusJSONAndTable(t *testing.T) {
	clearCredentialEnv(t)
	body, _ := json.Marshal(sampleHealStatus())
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != s3api.AdminPrefix+"/heal/status" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, 400)
			return
		}
		w.Write(body)
	}))
	defer ts.Close()
	out, err := runAdmin(t, "heal", "status", "--json", "--endpoint", ts.URL, "--access-key", "AK", "--secret-key", "SK")
	var st s3api.AdminHealStatus
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Leader != "n1" || st.Unreachable[0].Node != "n4" {
		t.Fatalf("--json: %v %q", err, out)
	}
	out, err = runAdmin(t, "heal", "status", "--endpoint", ts.URL, "--access-key", "AK", "--secret-key", "SK")
	if err != nil || !strings.Contains(out, "waiting: n4 unreachable 8 s, lost after 10 s") {
		t.Fatalf("table: %v %q", err, out)
	}
}

// TestAdminNodeDrainPolls: one POST starts the drain, GETs poll until the
// server says the node is safe to turn off.
func TestAdminNodeDrainPolls(t *testing.T) {
	clearCredentialEnv(t)
	var mu sync.Mutex
	var calls []string
	left := []int{3, 1, 0}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.Method+" "+r.URL.Query().Get("node"))
		st := s3api.AdminDrainStatus{Node: "n3", Draining: true, ReferencedShards: 5}
		if r.Method == http.MethodGet {
			st.ReferencedShards, left = left[0], left[1:]
			if st.ReferencedShards == 0 {
				st = s3api.AdminDrainStatus{Node: "n3", Removed: true, SafeToTurnOff: true}
			}
		}
		json.NewEncoder(w).Encode(st)
	}))
	defer ts.Close()
	out, err := runAdmin(t, "node", "drain", "n3", "--poll", "1ms", "--endpoint", ts.URL, "--access-key", "AK", "--secret-key", "SK")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"n3 is draining: 5 shards", "3 shards still on n3", "1 shards still on n3", "safe to turn off"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := strings.Join(calls, ","); got != "POST n3,GET n3,GET n3,GET n3" {
		t.Fatalf("calls %s, want one POST then GETs", got)
	}
}
