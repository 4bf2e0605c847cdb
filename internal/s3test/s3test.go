// Package s3test runs the S3 API in-process for tests: an httptest server
// serving s3api.Server over a real storage.Engine on in-memory drives, a
// local metadata store, and IAM over the same store (with an in-memory
// sealer) whose root key is one generated key, plus ready-made
// aws-sdk-go-v2 and minio-go clients pointed at it.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/kms"
	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
	"github.com/filesphere/filesphere/storage/drive"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/sirupsen/logrus"
)

// Region is the region the server answers for and the clients sign with.
const Region = "us-east-1"

// NumDrives is the number of in-memory drives (EC 2+2).
const NumDrives = 4

// Env is one running in-process S3 server. The API is served twice: over
// TLS at URL, because aws-sdk-go-v2 sends trailer checksums
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER) only over HTTPS, and over plain HTTP
// at PlainURL, where minio-go sends signed aws-chunked streams.
type Env struct {
	URL       string // https://127.0.0.1:port
	PlainURL  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Engine    *storage.Engine
	Drives    []*drive.Memory // nil WithLocalDrives
	// DriveRoots are the drive folders WithLocalDrives.
	DriveRoots []string
	Server     *httptest.Server // TLS
	Plain      *httptest.Server
	KV         *meta.Local
	// KMS is the built-in KMS over KV (random master key): the engine's
	// key service and the admin API's key manager.
	KMS *kms.KMS
	// IAM is the server's identity service; AccessKey is its root key.
	IAM *iam.Service
}

// Option adjusts an Env before it starts.
type Option func(*options)

type options struct {
	engine   func(*storage.EngineConfig)
	api      func(*s3api.Config)
	iam      func(*iam.Config)
	logLevel logrus.Level
	local    bool
}

// WithLocalDrives puts the drives in temp folders (drive.Local behind
// drive.Instrumented, as the server wires them) instead of memory.
func WithLocalDrives() Option { return func(o *options) { o.local = true } }

// WithBlockSize sets the erasure block size.
func WithBlockSize(n int) Option {
	return WithEngineConfig(func(c *storage.EngineConfig) { c.BlockSize = n })
}

// WithInlineThreshold sets the size up to which objects live in the record.
func WithInlineThreshold(n int64) Option {
	return WithEngineConfig(func(c *storage.EngineConfig) { c.InlineThreshold = n })
}

// WithEngineConfig adjusts the engine configuration.
func WithEngineConfig(f func(*storage.EngineConfig)) Option {
	return func(o *options) {
		prev := o.engine
		o.engine = func(c *storage.EngineConfig) {
			if prev != nil {
				prev(c)
			}
			f(c)
		}
	}
}

// WithAPIConfig adjusts the s3api configuration.
func WithAPIConfig(f func(*s3api.Config)) Option {
	return func(o *options) {
		prev := o.api
		o.api = func(c *s3api.Config) {
			if prev != nil {
				prev(c)
			}
			f(c)
		}
	}
}

// WithIAMConfig adjusts the iam configuration (e.g. its clock).
func WithIAMConfig(f func(*iam.Config)) Option {
	return func(o *options) {
		prev := o.iam
		o.iam = func(c *iam.Config) {
			if prev != nil {
				prev(c)
			}
			f(c)
		}
	}
}

// WithLogLevel sets the level of server logs routed to t.Log (default Info).
func WithLogLevel(l logrus.Level) Option { return func(o *options) { o.logLevel = l } }

func (env *Env) localDrive(t testing.TB, id string, log *logrus.Entry) drive.ShardStore {
	t.Helper()
	root := t.TempDir()
	lcfg := drive.DefaultLocalConfig()
	lcfg.ID, lcfg.Root, lcfg.Logger = id, root, log
	d, err := drive.NewLocal(lcfg)
	if err != nil {
		t.Fatalf("s3test: local drive: %v", err)
	}
	icfg := drive.DefaultInstrumentedConfig()
	icfg.Logger = log
	inst, err := drive.NewInstrumented(d, icfg)
	if err != nil {
		t.Fatalf("s3test: instrumented drive: %v", err)
	}
	env.DriveRoots = append(env.DriveRoots, root)
	return inst
}

// New starts an Env and registers its shutdown with t.Cleanup.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	o := options{logLevel: logrus.InfoLevel}
	for _, f := range opts {
		f(&o)
	}
	log := newTestLogger(t, o.logLevel)

	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatalf("s3test: open metadata store: %v", err)
	}
	t.Cleanup(func() { _ = kv.Close() })

	set := drive.Set{}
	var members []ring.Member
	env := &Env{KV: kv}
	for i := range NumDrives {
		id := "drive" + strconv.Itoa(i+1)
		if o.local {
			set[id] = env.localDrive(t, id, log)
		} else {
			d := drive.NewMemory(id)
			set[id] = d
			env.Drives = append(env.Drives, d)
		}
		members = append(members, ring.Member{DriveID: id, NodeID: "local", Weight: 1})
	}
	rg, err := ring.New(1, members)
	if err != nil {
		t.Fatalf("s3test: ring: %v", err)
	}

	master, err := kms.GenerateMasterKey()
	if err != nil {
		t.Fatalf("s3test: master key: %v", err)
	}
	kcfg := kms.DefaultConfig()
	kcfg.MasterKey, kcfg.Log = master, log
	if env.KMS, err = kms.New(kcfg, kv); err != nil {
		t.Fatalf("s3test: kms: %v", err)
	}
	ecfg := storage.DefaultEngineConfig()
	ecfg.Log, ecfg.Keys = log, env.KMS
	if o.engine != nil {
		o.engine(&ecfg)
	}
	engine, err := storage.NewEngine(ecfg, kv, set, storage.FixedPlacement(rg))
	if err != nil {
		t.Fatalf("s3test: engine: %v", err)
	}
	t.Cleanup(func() { _ = engine.Close() })
	env.Engine = engine

	env.AccessKey = "AK" + strings.ToUpper(randomHex(9))
	env.SecretKey = randomHex(20)
	icfg := iam.DefaultConfig()
	icfg.Root = iam.RootCredentials{AccessKeyID: env.AccessKey, SecretAccessKey: env.SecretKey}
	icfg.Log = log
	// Cheap password hashing: tests create login profiles.
	icfg.Password = iam.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}
	if o.iam != nil {
		o.iam(&icfg)
	}
	sealKey := make([]byte, 32)
	_, _ = rand.Read(sealKey)
	sealer, err := iam.NewStaticSealer(sealKey, nil)
	if err != nil {
		t.Fatalf("s3test: sealer: %v", err)
	}
	ids, err := iam.New(context.Background(), icfg, kv, sealer)
	if err != nil {
		t.Fatalf("s3test: iam: %v", err)
	}
	t.Cleanup(func() { _ = ids.Close() })
	env.IAM = ids

	scfg := s3api.DefaultConfig()
	scfg.Region, scfg.Log, scfg.KMS = Region, log, env.KMS
	if o.api != nil {
		o.api(&scfg)
	}
	api, err := s3api.New(scfg, engine, ids)
	if err != nil {
		t.Fatalf("s3test: s3api: %v", err)
	}
	// net/http's own complaints (TLS handshakes, aborted streams) go to
	// the test log too; the pipe closes after both servers.
	errLog := log.WriterLevel(logrus.DebugLevel)
	t.Cleanup(func() { _ = errLog.Close() })
	start := func(tls bool) *httptest.Server {
		srv := httptest.NewUnstartedServer(api)
		// Above the API's own limit, so oversized headers get its XML answer.
		srv.Config.MaxHeaderBytes = 1 << 20
		srv.Config.ErrorLog = stdlog.New(errLog, "", 0)
		if tls {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		return srv
	}
	env.Server, env.Plain = start(true), start(false)
	env.URL, env.PlainURL = env.Server.URL, env.Plain.URL
	return env
}

func hostOf(u string) string {
	p, _ := url.Parse(u)
	return p.Host
}

// HTTPClient is an *http.Client that trusts the TLS server's certificate.
func (e *Env) HTTPClient() *http.Client { return e.Server.Client() }

// SDK returns an aws-sdk-go-v2 S3 client for the Env: path style, static
// credentials, no retries (so tests see each answer), default checksum
// behaviour (trailer checksums on uploads). opts adjust the client further.
func (e *Env) SDK(t testing.TB, opts ...func(*s3.Options)) *s3.Client {
	t.Helper()
	return s3.NewFromConfig(e.AWSConfig(), append([]func(*s3.Options){func(o *s3.Options) {
		o.BaseEndpoint = aws.String(e.URL)
		o.UsePathStyle = true
	}}, opts...)...)
}

// AWSConfig is the aws.Config the SDK client uses (over TLS). The checksum
// settings are the ones config.LoadDefaultConfig would pick (it is not used,
// so no environment or ~/.aws file leaks into tests).
func (e *Env) AWSConfig() aws.Config {
	return aws.Config{
		Region:                     Region,
		HTTPClient:                 e.HTTPClient(),
		Credentials:                credentials.NewStaticCredentialsProvider(e.AccessKey, e.SecretKey, ""),
		Retryer:                    func() aws.Retryer { return aws.NopRetryer{} },
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
}

// Minio returns a minio-go client for the Env (path-style, V4) over plain
// HTTP, where it signs every chunk of a streamed upload.
func (e *Env) Minio(t testing.TB) *minio.Client {
	t.Helper()
	return e.minio(t, hostOf(e.PlainURL), false)
}

// MinioTLS returns a minio-go client over TLS with trailing headers
// enabled, so uploads carry unsigned aws-chunked bodies with checksum
// trailers.
func (e *Env) MinioTLS(t testing.TB) *minio.Client {
	t.Helper()
	return e.minio(t, hostOf(e.URL), true)
}

func (e *Env) minio(t testing.TB, host string, secure bool) *minio.Client {
	opts := &minio.Options{
		Creds:           miniocreds.NewStaticV4(e.AccessKey, e.SecretKey, ""),
		Region:          Region,
		BucketLookup:    minio.BucketLookupPath,
		MaxRetries:      1,
		Secure:          secure,
		TrailingHeaders: secure,
	}
	if secure {
		opts.Transport = e.Server.Client().Transport
	}
	c, err := minio.New(host, opts)
	if err != nil {
		t.Fatalf("s3test: minio client: %v", err)
	}
	return c
}

// ShardCount returns the number of shards stored across all drives; tests
// use it to check that a refused upload left nothing behind.
func (e *Env) ShardCount(t testing.TB) int {
	t.Helper()
	n := 0
	for _, d := range e.Drives {
		err := d.Walk(context.Background(), "", func(drive.ShardInfo) error { n++; return nil })
		if err != nil {
			t.Fatalf("s3test: walk %s: %v", d.ID(), err)
		}
	}
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testWriter sends log lines to t.Log until the test's cleanup closes it;
// background goroutines that log later are silenced instead of panicking.
type testWriter struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func newTestLogger(t testing.TB, level logrus.Level) *logrus.Entry {
	w := &testWriter{t: t}
	// Registered first, so it runs after every other cleanup.
	t.Cleanup(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
	})
	l := logrus.New()
	l.SetOutput(w)
	l.SetLevel(level)
	l.SetFormatter(&logrus.TextFormatter{DisableColors: true, TimestampFormat: time.StampMilli, FullTimestamp: true})
	return logrus.NewEntry(l)
}
