package iam

import (
	"fmt"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	tests := []struct {
		name string
		mod  func(c *Config)
	}{
		{"root secret without id", func(c *Config) { c.Root.SecretAccessKey = "x" }},
		{"root id too short", func(c *Config) { c.Root = RootCredentials{"ab", "secretsecret"} }},
		{"account id not 12 digits", func(c *Config) { c.AccountID = "12345" }},
		{"zero cache", func(c *Config) { c.CacheSize = 0 }},
		{"negative consistent reads", func(c *Config) { c.MaxConsistentReads = -1 }},
		{"zero flush interval", func(c *Config) { c.LastUsedFlushInterval = 0 }},
		{"weak password hash", func(c *Config) { c.Password.SaltLen = 4 }},
		{"short minimum password", func(c *Config) { c.MinPasswordLength = 3 }},
		{"no clock", func(c *Config) { c.Now = nil }},
		{"no random source", func(c *Config) { c.Rand = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			if c.Validate() == nil {
				t.Fatal("accepted")
			}
		})
	}
	c := DefaultConfig()
	c.Root = RootCredentials{"admin", "very-secret-value"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if strings.Contains(fmt.Sprintf(f, c), "very-secret-value") {
			t.Fatalf("%s of Config prints the root secret", f)
		}
	}
}
