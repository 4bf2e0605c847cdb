package bench

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/sirupsen/logrus"
)

// Op is the kind of load a profile applies.
type Op string

// The loads a profile can apply.
const (
	OpPut   Op = "put"   // PUT new objects back to back
	OpGet   Op = "get"   // GET random objects of an uploaded set
	OpMixed Op = "mixed" // GET/STAT/PUT/DELETE on an uploaded set, weighted by Config.Mix
	OpList  Op = "list"  // page through a listing of an uploaded set
)

// Ops lists every Op in the order commands and docs show them.
var Ops = []Op{OpPut, OpGet, OpMixed, OpList}

// ParseOp reads an Op name.
func ParseOp(s string) (Op, error) {
	for _, o := range Ops {
		if string(o) == s {
			return o, nil
		}
	}
	return "", fmt.Errorf("unknown load %q (want put, get, mixed or list)", s)
}

// PayloadMode is how PUT bodies are signed.
type PayloadMode string

// Payload modes. Signed computes the body's SHA-256 for every request, as
// the aws cli and SDKs do over plain HTTP; unsigned sends UNSIGNED-PAYLOAD,
// as they do over HTTPS (where the SDKs then add a trailer checksum, see
// ClientSDK).
const (
	PayloadSigned   PayloadMode = "signed"
	PayloadUnsigned PayloadMode = "unsigned"
)

// ClientKind selects the S3 client implementation.
type ClientKind string

// Client kinds. ClientHTTP is net/http with requests signed by the SDK's
// SigV4 signer and no other per-request work; ClientSDK is the full
// aws-sdk-go-v2 S3 client (its middleware stack, no retries, checksums only
// where an operation requires them).
const (
	ClientHTTP ClientKind = "http"
	ClientSDK  ClientKind = "sdk"
)

// Mix weighs the operations of the mixed load. The default is warp's:
// 45 % GET, 30 % STAT, 15 % PUT, 10 % DELETE.
type Mix struct {
	Get, Stat, Put, Delete int
}

// DefaultMix is the default mixed-load distribution.
func DefaultMix() Mix { return Mix{Get: 45, Stat: 30, Put: 15, Delete: 10} }

// ParseMix reads "get=45,stat=30,put=15,delete=10"; names left out weigh 0.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(val)
		if !ok || err != nil || n < 0 {
			return Mix{}, fmt.Errorf("mix %q: want name=weight pairs such as get=45,stat=30,put=15,delete=10", s)
		}
		switch strings.ToLower(name) {
		case "get":
			m.Get = n
		case "stat", "head":
			m.Stat = n
		case "put":
			m.Put = n
		case "delete":
			m.Delete = n
		default:
			return Mix{}, fmt.Errorf("mix %q: unknown operation %q", s, name)
		}
	}
	return m, m.validate()
}

func (m Mix) total() int { return m.Get + m.Stat + m.Put + m.Delete }

func (m Mix) validate() error {
	if m.Get < 0 || m.Stat < 0 || m.Put < 0 || m.Delete < 0 || m.total() == 0 {
		return errors.New("mix: weights must be non-negative and not all zero")
	}
	return nil
}

// String is the ParseMix form.
func (m Mix) String() string {
	return fmt.Sprintf("get=%d,stat=%d,put=%d,delete=%d", m.Get, m.Stat, m.Put, m.Delete)
}

// Profile is one load to measure.
type Profile struct {
	// Name labels the profile in reports and its keys; default "<op>-<size>".
	Name string
	Op   Op
	// Size of each object in bytes (0 is allowed: empty objects).
	Size int64
	// Concurrency is the number of workers, each with at most one request
	// in flight.
	Concurrency int
	// Objects is the set uploaded before a get, mixed or list load (not
	// timed); 0 picks DefaultObjects. Ignored by put.
	Objects int
	// Duration of the timed phase; 0 uses Config.Duration.
	Duration time.Duration
}

// DefaultObjects is the object set a get/mixed/list profile uploads first
// when Objects is 0: list 5,000 keys; get and mixed 1 GiB worth of
// objects, at least 2 per worker and at most 1,000.
func DefaultObjects(op Op, size int64, concurrency int) int {
	switch op {
	case OpPut:
		return 0
	case OpList:
		return 5000
	}
	n := 1000
	if size > 0 {
		n = int(min(int64(n), (1<<30)/size))
	}
	return max(n, 2*concurrency)
}

func (p Profile) withDefaults(d time.Duration) Profile {
	if p.Name == "" {
		p.Name = string(p.Op) + "-" + FormatSize(p.Size)
	}
	if p.Objects == 0 {
		p.Objects = DefaultObjects(p.Op, p.Size, p.Concurrency)
	}
	if p.Duration == 0 {
		p.Duration = d
	}
	return p
}

func (p Profile) validate() error {
	if _, err := ParseOp(string(p.Op)); err != nil {
		return err
	}
	switch {
	case p.Size < 0:
		return fmt.Errorf("profile %s: size must not be negative", p.Name)
	case p.Size > 5<<30:
		return fmt.Errorf("profile %s: size %s is above S3's 5 GiB single-PUT limit", p.Name, FormatSize(p.Size))
	case p.Concurrency < 1:
		return fmt.Errorf("profile %s: concurrency must be at least 1", p.Name)
	case p.Objects < 0:
		return fmt.Errorf("profile %s: objects must not be negative", p.Name)
	case p.Op != OpPut && p.Objects < 1:
		return fmt.Errorf("profile %s: a %s load needs at least one object", p.Name, p.Op)
	case p.Duration < 0:
		return fmt.Errorf("profile %s: duration must not be negative", p.Name)
	case strings.ContainsAny(p.Name, "/ "):
		return fmt.Errorf("profile name %q must not contain '/' or spaces", p.Name)
	}
	return nil
}

// Config is one benchmark run: where, how to sign, and the profiles to run
// one after another.
type Config struct {
	// Endpoint is the S3 endpoint URL (http or https), path-style.
	Endpoint string
	// Endpoints are more endpoints of the same store (a cluster's other
	// nodes): requests go to Endpoint and these in turn.
	Endpoints                          []string
	AccessKey, SecretKey, SessionToken string
	Region                             string
	// Bucket to use; empty creates a fresh one, removed at the end. A
	// given bucket that does not exist is created and removed too; one
	// that exists is kept (only the run's objects are removed).
	Bucket string
	// Client selects the implementation; Payload how PUT bodies are signed.
	Client  ClientKind
	Payload PayloadMode
	// Insecure skips TLS certificate verification; CACertFile is a PEM
	// bundle to trust instead of the system roots.
	Insecure   bool
	CACertFile string
	// RequestTimeout bounds each request (0 = none).
	RequestTimeout time.Duration
	// Duration is the timed phase of a profile that gives none.
	Duration time.Duration
	Profiles []Profile
	// Mix weighs the mixed load's operations.
	Mix Mix
	// ListMaxKeys is the page size of list loads.
	ListMaxKeys int
	// MaxErrors is the highest tolerated share of failed operations
	// (0.01 = 1 %); above it Run returns an *ErrorRateError.
	MaxErrors float64
	// ServerPID, when non-zero, is a local process whose resident memory
	// is sampled during each timed phase (Linux /proc).
	ServerPID int
	// Seed makes key choice and the mixed schedule reproducible; 0 picks a
	// random seed (reported).
	Seed uint64
	// Target, when set, is used instead of a client built from Endpoint
	// (tests pass the in-memory twin).
	Target Client
	Log    *logrus.Entry
	Now    func() time.Time
}

// DefaultConfig is a 30 s run with the HTTP client and signed payloads.
func DefaultConfig() Config {
	return Config{
		Region:         "us-east-1",
		Client:         ClientHTTP,
		Payload:        PayloadSigned,
		RequestTimeout: 5 * time.Minute,
		Duration:       30 * time.Second,
		Mix:            DefaultMix(),
		ListMaxKeys:    1000,
		Log:            logrus.NewEntry(logrus.StandardLogger()).WithField("component", "bench"),
		Now:            time.Now,
	}
}

func checkEndpoint(ep string) error {
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("endpoint %q: want an http:// or https:// URL", ep)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return fmt.Errorf("endpoint %q: give only scheme, host and port (requests are path-style)", ep)
	}
	return nil
}

// Validate checks the configuration and fills the profiles' defaults.
func (c *Config) Validate() error {
	if c.Target == nil {
		for _, ep := range append([]string{c.Endpoint}, c.Endpoints...) {
			if err := checkEndpoint(ep); err != nil {
				return err
			}
		}
		if c.AccessKey == "" || c.SecretKey == "" {
			return errors.New("no credentials: give --access-key and --secret-key or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		}
		if c.Region == "" {
			return errors.New("region must not be empty")
		}
	}
	switch {
	case c.Client != ClientHTTP && c.Client != ClientSDK:
		return fmt.Errorf("client %q: want http or sdk", c.Client)
	case c.Payload != PayloadSigned && c.Payload != PayloadUnsigned:
		return fmt.Errorf("payload %q: want signed or unsigned", c.Payload)
	case c.Duration <= 0:
		return errors.New("duration must be positive")
	case c.RequestTimeout < 0:
		return errors.New("request timeout must not be negative")
	case c.ListMaxKeys < 1 || c.ListMaxKeys > 1000:
		return errors.New("list page size must be 1..1000")
	case c.MaxErrors < 0 || c.MaxErrors > 1:
		return errors.New("max errors is a share of operations, 0..1")
	case len(c.Profiles) == 0:
		return errors.New("no profiles to run")
	case c.Log == nil || c.Now == nil:
		return errors.New("config needs Log and Now")
	}
	if c.Bucket != "" && !validBucketName(c.Bucket) {
		return fmt.Errorf("bucket %q is not a valid S3 bucket name", c.Bucket)
	}
	if err := c.Mix.validate(); err != nil {
		return err
	}
	c.Profiles = slices.Clone(c.Profiles) // defaults go into Run's copy only
	names := map[string]bool{}
	for i := range c.Profiles {
		c.Profiles[i] = c.Profiles[i].withDefaults(c.Duration)
		p := c.Profiles[i]
		if err := p.validate(); err != nil {
			return err
		}
		if names[p.Name] {
			return fmt.Errorf("profile name %q is used twice", p.Name)
		}
		names[p.Name] = true
	}
	return nil
}

func validBucketName(s string) bool {
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '-' || r == '.') && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

// ParseSize reads a size such as "4KiB", "64MiB", "1.5MiB", "4KB" (1000s)
// or "4096".
func ParseSize(s string) (int64, error) {
	n, err := humanize.ParseBytes(s)
	if err != nil || n > 1<<62 {
		return 0, fmt.Errorf("size %q: want a byte count such as 4KiB, 64MiB or 4096", s)
	}
	return int64(n), nil
}

// FormatSize prints a size compactly in binary units: 4KiB, 64MiB, 1.5MiB,
// 1000B.
func FormatSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) + units[i]
}
