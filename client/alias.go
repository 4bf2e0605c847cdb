package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Alias names an S3 endpoint and how to sign for it. Remote paths start
// with an alias name: NAME/bucket/key.
type Alias struct {
	Name string `json:"-"`
	// URL is the endpoint (scheme, host, port). An amazonaws.com URL, or
	// none, means AWS: the SDK resolves the regional endpoint and uses
	// virtual-host-style requests.
	URL    string `json:"url,omitempty"`
	Region string `json:"region,omitempty"`
	// PathStyle is "auto" (path-style for custom endpoints, virtual-host
	// for AWS), "on" or "off".
	PathStyle string `json:"path_style,omitempty"`
	// CACert is a PEM bundle to trust; Insecure skips verification.
	CACert   string `json:"ca_cert,omitempty"`
	Insecure bool   `json:"insecure,omitempty"`
	// Credentials says where the keys come from.
	Credentials CredentialRef `json:"credentials"`
}

// CredentialRef is the stored form of a credential source. Kind selects
// the SourceFactory: "static" (keys in this file), "profile" (an aws
// profile, resolved by the SDK's shared config: credential_process, SSO,
// assume-role), "env" (the SDK's default chain: AWS_* variables, then the
// default profile). A login session (a later `filesphere login`) is a
// further kind naming its Session.
type CredentialRef struct {
	Kind         string `json:"kind"`
	AccessKey    string `json:"access_key,omitempty"`
	SecretKey    string `json:"secret_key,omitempty"`
	SessionToken string `json:"session_token,omitempty"`
	Profile      string `json:"profile,omitempty"`
	Session      string `json:"session,omitempty"`
}

// Credential kinds built in.
const (
	KindStatic  = "static"
	KindProfile = "profile"
	KindEnv     = "env"
)

var aliasName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Validate checks the alias before it is stored.
func (a Alias) Validate() error {
	if !aliasName.MatchString(a.Name) {
		return usageErrorf("alias name %q: use letters, digits, '-' and '_' (up to 64, starting with a letter or digit)", a.Name)
	}
	if a.URL != "" {
		u, err := url.Parse(a.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("alias %s: URL %q: want http:// or https:// with a host", a.Name, a.URL)
		}
		if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
			return usageErrorf("alias %s: URL %q: give only scheme, host and port", a.Name, a.URL)
		}
	} else if a.Credentials.Kind == KindStatic {
		return usageErrorf("alias %s: give the endpoint URL", a.Name)
	}
	switch a.PathStyle {
	case "", "auto", "on", "off":
	default:
		return usageErrorf("alias %s: path style %q: want auto, on or off", a.Name, a.PathStyle)
	}
	c := a.Credentials
	switch c.Kind {
	case KindStatic:
		if c.AccessKey == "" || c.SecretKey == "" {
			return usageErrorf("alias %s: give both an access key and a secret key", a.Name)
		}
	case KindProfile:
		if c.Profile == "" {
			return usageErrorf("alias %s: name the aws profile", a.Name)
		}
	case "":
		return usageErrorf("alias %s: no credential kind", a.Name)
	}
	return nil
}

// IsAWS reports whether the alias points at Amazon S3.
func (a Alias) IsAWS() bool {
	if a.URL == "" {
		return true
	}
	u, err := url.Parse(a.URL)
	return err == nil && (u.Hostname() == "amazonaws.com" || strings.HasSuffix(u.Hostname(), ".amazonaws.com"))
}

// pathStyle resolves "auto".
func (a Alias) pathStyle() bool {
	switch a.PathStyle {
	case "on":
		return true
	case "off":
		return false
	}
	return !a.IsAWS()
}

// configFile is config.json.
type configFile struct {
	Version int              `json:"version"`
	Aliases map[string]Alias `json:"aliases"`
}

const configVersion = 1

// AliasStore reads and writes the aliases in <Dir>/config.json, a file
// of mode 0600 in a folder of mode 0700 (it holds secrets).
type AliasStore struct {
	path string
}

// NewAliasStore is the store in dir.
func NewAliasStore(dir string) *AliasStore {
	return &AliasStore{path: filepath.Join(dir, "config.json")}
}

// Path is the file's location.
func (s *AliasStore) Path() string { return s.path }

func (s *AliasStore) load() (configFile, error) {
	cf := configFile{Version: configVersion, Aliases: map[string]Alias{}}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return cf, nil
	}
	if err != nil {
		return cf, err
	}
	if err := json.Unmarshal(b, &cf); err != nil {
		return cf, fmt.Errorf("%s: %w", s.path, err)
	}
	if cf.Version != configVersion {
		return cf, fmt.Errorf("%s: version %d, this binary reads %d", s.path, cf.Version, configVersion)
	}
	if cf.Aliases == nil {
		cf.Aliases = map[string]Alias{}
	}
	for name, a := range cf.Aliases {
		a.Name = name
		cf.Aliases[name] = a
	}
	return cf, nil
}

// save writes the file atomically (temp file, fsync, rename), 0600.
func (s *AliasStore) save(cf configFile) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, append(b, '\n'))
}

// writeFileAtomic replaces path with data (mode 0600) so a reader sees
// the old or the new content, never a torn one.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Get returns the alias called name.
func (s *AliasStore) Get(name string) (Alias, bool, error) {
	cf, err := s.load()
	if err != nil {
		return Alias{}, false, err
	}
	a, ok := cf.Aliases[name]
	return a, ok, nil
}

// List returns the aliases sorted by name.
func (s *AliasStore) List() ([]Alias, error) {
	cf, err := s.load()
	if err != nil {
		return nil, err
	}
	out := make([]Alias, 0, len(cf.Aliases))
	for _, a := range cf.Aliases {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Alias) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Set adds or replaces an alias.
func (s *AliasStore) Set(a Alias) error {
	if err := a.Validate(); err != nil {
		return err
	}
	cf, err := s.load()
	if err != nil {
		return err
	}
	a.URL = strings.TrimRight(a.URL, "/")
	if a.CACert != "" {
		if a.CACert, err = filepath.Abs(a.CACert); err != nil {
			return err
		}
		if _, err := os.Stat(a.CACert); err != nil {
			return usageErrorf("alias %s: --ca-cert: %v", a.Name, err)
		}
	}
	cf.Aliases[a.Name] = a
	return s.save(cf)
}

// Remove deletes an alias; removing one that does not exist is an error.
func (s *AliasStore) Remove(name string) error {
	cf, err := s.load()
	if err != nil {
		return err
	}
	if _, ok := cf.Aliases[name]; !ok {
		return &NoAliasError{Name: name}
	}
	delete(cf.Aliases, name)
	return s.save(cf)
}

// NoAliasError is a remote path or command naming an unknown alias.
type NoAliasError struct{ Name string }

func (e *NoAliasError) Error() string {
	return fmt.Sprintf("no alias %q (see filesphere alias list)", e.Name)
}
