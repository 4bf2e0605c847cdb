package bench

import (
	"strings"
	"testing"
)

func TestParseAndFormatSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		fmt  string
	}{
		{"4KiB", 4 << 10, "4KiB"},
		{"64MiB", 64 << 20, "64MiB"},
		{"1.5MiB", 3 << 19, "1.5MiB"},
		{"4096", 4096, "4KiB"},
		{"4KB", 4000, "3.91KiB"},
		{"0", 0, "0B"},
		{"1GiB", 1 << 30, "1GiB"},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
		if f := FormatSize(tc.want); f != tc.fmt {
			t.Errorf("FormatSize(%d) = %q, want %q", tc.want, f, tc.fmt)
		}
	}
	for _, bad := range []string{"", "big", "-4KiB", "4 parsecs"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestParseMix(t *testing.T) {
	m, err := ParseMix("get=45,stat=30,put=15,delete=10")
	if err != nil || m != DefaultMix() {
		t.Fatalf("ParseMix(default) = %+v, %v", m, err)
	}
	if m, err := ParseMix("put=1"); err != nil || m != (Mix{Put: 1}) {
		t.Fatalf("ParseMix(put=1) = %+v, %v", m, err)
	}
	for _, bad := range []string{"", "get=0", "get=-1", "get", "copy=3", "get=x"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
	if got := DefaultMix().String(); got != "get=45,stat=30,put=15,delete=10" {
		t.Fatalf("String() = %q", got)
	}
}

func validConfig() Config {
	c := DefaultConfig()
	c.Endpoint, c.AccessKey, c.SecretKey = "http://127.0.0.1:9000", "AK", "SK"
	c.Profiles = []Profile{{Op: OpGet, Size: 4096, Concurrency: 4}}
	return c
}

func TestConfigValidate(t *testing.T) {
	c := validConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p := c.Profiles[0]
	if p.Name != "get-4KiB" || p.Objects != 1000 || p.Duration != c.Duration {
		t.Fatalf("defaults not filled: %+v", p)
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no scheme", func(c *Config) { c.Endpoint = "127.0.0.1:9000" }, "http"},
		{"path in endpoint", func(c *Config) { c.Endpoint = "http://h:1/bucket" }, "path-style"},
		{"no credentials", func(c *Config) { c.SecretKey = "" }, "credentials"},
		{"client", func(c *Config) { c.Client = "curl" }, "client"},
		{"payload", func(c *Config) { c.Payload = "chunked" }, "payload"},
		{"duration", func(c *Config) { c.Duration = 0 }, "duration"},
		{"max errors", func(c *Config) { c.MaxErrors = 2 }, "max errors"},
		{"bucket name", func(c *Config) { c.Bucket = "Bad_Bucket" }, "bucket"},
		{"no profiles", func(c *Config) { c.Profiles = nil }, "no profiles"},
		{"concurrency", func(c *Config) { c.Profiles[0].Concurrency = 0 }, "concurrency"},
		{"size", func(c *Config) { c.Profiles[0].Size = 6 << 30 }, "5 GiB"},
		{"op", func(c *Config) { c.Profiles[0].Op = "copy" }, "unknown load"},
		{"name", func(c *Config) { c.Profiles[0].Name = "a/b" }, "must not contain"},
		{"duplicate", func(c *Config) { c.Profiles = append(c.Profiles, c.Profiles[0]) }, "twice"},
		{"page size", func(c *Config) { c.ListMaxKeys = 1001 }, "page size"},
		{"mix", func(c *Config) { c.Mix = Mix{} }, "mix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestDefaultObjects(t *testing.T) {
	for _, tc := range []struct {
		op   Op
		size int64
		conc int
		want int
	}{
		{OpPut, 4096, 8, 0},
		{OpList, 1024, 8, 5000},
		{OpGet, 4096, 32, 1000},
		{OpGet, 64 << 20, 8, 16},
		{OpMixed, 1 << 20, 16, 1000},
		{OpGet, 1 << 30, 8, 16}, // at least two per worker
		{OpGet, 0, 4, 1000},
	} {
		if got := DefaultObjects(tc.op, tc.size, tc.conc); got != tc.want {
			t.Errorf("DefaultObjects(%s, %d, %d) = %d, want %d", tc.op, tc.size, tc.conc, got, tc.want)
		}
	}
}

func TestProfileSets(t *testing.T) {
	std, err := ProfileSet("standard")
	if err != nil {
		t.Fatal(err)
	}
	// The issue's reference loads: these shapes are what "FileSphere /
	// null" ratios are quoted for, so they must not drift silently.
	want := []struct {
		name string
		op   Op
		size int64
		conc int
		objs int
	}{
		{"put-64MiB", OpPut, 64 << 20, 8, 0},
		{"get-64MiB", OpGet, 64 << 20, 8, 16},
		{"put-4KiB", OpPut, 4 << 10, 32, 0},
		{"get-4KiB", OpGet, 4 << 10, 32, 1000},
		{"mixed-1MiB", OpMixed, 1 << 20, 16, 500},
		{"list-5000", OpList, 1 << 10, 8, 5000},
	}
	if len(std) != len(want) {
		t.Fatalf("standard has %d profiles, want %d", len(std), len(want))
	}
	for i, w := range want {
		p := std[i]
		if p.Name != w.name || p.Op != w.op || p.Size != w.size || p.Concurrency != w.conc || p.Objects != w.objs || p.Duration != 0 {
			t.Errorf("standard[%d] = %+v, want %+v", i, p, w)
		}
	}
	for _, name := range ProfileSetNames() {
		set, err := ProfileSet(name)
		if err != nil {
			t.Fatal(err)
		}
		c := validConfig()
		c.Profiles = set
		if err := c.Validate(); err != nil {
			t.Errorf("set %s does not validate: %v", name, err)
		}
	}
	if _, err := ProfileSet("warp"); err == nil {
		t.Error("unknown set accepted")
	}
	sel, err := SelectProfiles(std, []string{"list-5000", "put-4KiB"})
	if err != nil || len(sel) != 2 || sel[0].Name != "put-4KiB" || sel[1].Name != "list-5000" {
		t.Fatalf("SelectProfiles = %+v, %v; want put-4KiB, list-5000 in set order", sel, err)
	}
	if _, err := SelectProfiles(std, []string{"put-1TiB"}); err == nil {
		t.Fatal("selecting an unknown profile succeeded")
	}
}
