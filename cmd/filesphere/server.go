package main

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/filesphere/filesphere/erasure"
	"github.com/filesphere/filesphere/internal/connguard"
	"github.com/filesphere/filesphere/kms"
	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

// serverFlags are the server command's settings.
type serverFlags struct {
	address   string
	dataDir   string
	domain    string
	region    string
	ecData    int
	ecParity  int
	bitrot    bitrotFlag
	logFormat string
	logLevel  string
	accessLog bool
	drain     time.Duration
	nodeID    string
	cluster   string
	advertise string
	join      string
	lostAfter time.Duration
	// chunkGrace is how long an unreferenced deduplicated chunk stays.
	chunkGrace time.Duration
	// repairEvery, repairBandwidth, repairRate, scrubPeriod and
	// scrubBandwidth tune the background repairer.
	repairEvery     time.Duration
	repairBandwidth int64
	repairRate      float64
	scrubPeriod     time.Duration
	scrubBandwidth  int64
	// lifecycleDay is how long a lifecycle day lasts; lifecycleRate
	// paces the lifecycle worker.
	lifecycleDay  time.Duration
	lifecycleRate float64
	// objectCache bounds the engine's cache of small decoded objects.
	objectCache   int64
	metricsPublic bool
	// Slow-client defences: connection bound, header/idle timeouts, body
	// minimum rate, upload memory.
	maxConns          int
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration
	bodyReadTimeout   time.Duration
	minBodyRate       int64
	uploadMemory      int64
	tls               tlsFlags
	kmsKeyFile        string
	directIO          bool
	pprofAddress      string
	console           consoleFlags
	oauth             oauthFlags
}

func newServerCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server [flags] [DRIVE...]",
		Short: "Run an S3 server on local drive folders",
		Long: `Run a FileSphere node serving the S3 API.

With no DRIVE arguments the node uses four drive folders <data>/drive1 ... <data>/drive4
(created if missing) with erasure coding 2+2. With arguments, those folders are the drives.

Root credentials come from FILESPHERE_ROOT_USER and FILESPHERE_ROOT_PASSWORD. When unset, the
first start generates random ones, stores them in <data>/root-credentials.json (mode 0600) and
prints them once; later starts reuse them and print only the access key.

Users, groups, roles, access keys and policies are managed with the IAM API on the same
endpoint (aws iam --endpoint-url ..., or filesphere admin user|group|policy|key). Their secrets
are sealed with the KMS master key: --kms-master-key-file, else $FILESPHERE_KMS_MASTER_KEY, else
<data>/kms-master.key, generated on a standalone node's first start. Every node of a cluster needs
the same master key: copy the key file to a joining node's data folder, or give every node the
flag or the variable.

Prometheus metrics are served to signed requests allowed admin:Prometheus at
/.filesphere/admin/v1/metrics; with --metrics-public also to unsigned GET /metrics.

HTTPS: --tls-cert/--tls-key (reloaded on SIGHUP and when the files change), or --tls-auto
for a self-signed certificate in <data>/tls/ that clients trust as their CA bundle. The
node-to-node port always runs mutual TLS with certificates of the cluster's own CA.`,

		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			return runServer(cmd.Context(), f, args)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.address, "address", ":9000", "address the S3 API listens on")
	fs.StringVar(&f.dataDir, "data", "./data", "folder for node state (metadata, credentials, default drives)")
	fs.StringVar(&f.domain, "domain", "", "domain for virtual-host-style buckets (<bucket>.<domain>)")
	fs.StringVar(&f.region, "region", "us-east-1", "region reported to clients and accepted in signatures")
	fs.IntVar(&f.ecData, "ec-data", 0, "erasure data shards k (default: half the drives)")
	fs.IntVar(&f.ecParity, "ec-parity", 0, "erasure parity shards m (default: half the drives)")
	f.bitrot.alg = erasure.DefaultBitrot
	fs.Var(&f.bitrot, "bitrot", "frame hash of new writes: highwayhash or sha256 (each object keeps the one it was written with)")
	fs.BoolVar(&f.directIO, "direct-io", true, "write shards with O_DIRECT where the filesystem allows (Linux; elsewhere buffered): the page-cache copy was the largest CPU cost of a large PUT")
	fs.StringVar(&f.pprofAddress, "pprof-address", "", "loopback address serving Go's runtime profiles under /debug/pprof/ (unauthenticated: exposes runtime internals; off when empty)")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.BoolVar(&f.accessLog, "access-log", false, "log one info line per S3 request (method, path, status, bytes, duration, request id, access key)")
	fs.DurationVar(&f.drain, "shutdown-timeout", 30*time.Second, "how long SIGINT/SIGTERM waits for in-flight requests")
	fs.StringVar(&f.nodeID, "node-id", "", "this node's id (default: the one stored in the data folder, else node1)")
	fs.StringVar(&f.cluster, "cluster-address", "127.0.0.1:0", "address for Raft and node-to-node traffic (give a fixed one to form a cluster)")
	fs.StringVar(&f.advertise, "cluster-advertise", "", "cluster address peers dial, when it differs from --cluster-address")
	fs.StringVar(&f.join, "join", "", "cluster address of any member of an existing cluster to join")
	fs.DurationVar(&f.lostAfter, "lost-after", 5*time.Minute, "how long a node may be unreachable before it is declared lost and its data rebuilt elsewhere")
	eng := storage.DefaultEngineConfig()
	fs.DurationVar(&f.repairEvery, "repair-interval", time.Minute, "time between background repair passes when no work is left over")
	fs.DurationVar(&f.chunkGrace, "chunk-grace", eng.ChunkGrace, "how long an unreferenced deduplicated chunk stays before the leader removes it (longer than any upload)")
	fs.Int64Var(&f.repairBandwidth, "repair-bandwidth", 0, "bytes per second background repair and rebalancing may write (0 = unlimited)")
	fs.Float64Var(&f.repairRate, "repair-record-rate", eng.RepairRate, "metadata records per second a placement sweep (after a ring change or a wiped drive) may read (0 = unlimited)")
	fs.DurationVar(&f.scrubPeriod, "scrub-period", eng.ScrubPeriod, "time one scrub cycle (every shard read and verified) is spread over")
	fs.Int64Var(&f.scrubBandwidth, "scrub-bandwidth", eng.ScrubBandwidth, "bytes per second the scrub may read (0 = unlimited)")
	fs.DurationVar(&f.lifecycleDay, "lifecycle-day", 24*time.Hour, "how long a day of lifecycle rules lasts (shorter only for tests: rules of days then act in seconds; whole seconds)")
	fs.Float64Var(&f.lifecycleRate, "lifecycle-rate", 1000, "lifecycle expirations and re-planned keys per second (0 = unlimited)")
	fs.Int64Var(&f.objectCache, "object-cache", storage.DefaultEngineConfig().CacheBytes, "bytes of memory for decoded small objects (up to 1 MiB) served to GETs (0 = no cache)")
	fs.BoolVar(&f.metricsPublic, "metrics-public", false, "serve Prometheus metrics to unsigned GET /metrics (for a scraper that cannot sign)")
	api := s3api.DefaultConfig()
	fs.IntVar(&f.maxConns, "max-connections", 0, "most client connections held at once; idle or header-stalled ones are evicted to admit new ones (0 = from the open-file limit)")
	fs.DurationVar(&f.readHeaderTimeout, "read-header-timeout", 10*time.Second, "how long a client may take to send a request's headers")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&f.bodyReadTimeout, "body-read-timeout", api.BodyReadTimeout, "how long a request body may pause before the request fails with RequestTimeout")
	fs.Int64Var(&f.minBodyRate, "min-body-rate", api.MinBodyRate, "slowest average rate (bytes/s) a request body may arrive at")
	fs.Int64Var(&f.uploadMemory, "upload-memory", api.UploadMemory, "bytes of memory the request bodies being read may hold; past it requests get SlowDown")
	addTLSFlags(fs, &f.tls)
	addConsoleFlags(fs, &f.console)
	addOAuthFlags(fs, &f.oauth)
	fs.StringVar(&f.kmsKeyFile, "kms-master-key-file", "", "file holding the KMS master key (64 hex digits) that seals secrets and encrypted objects; every node of a cluster needs the same (default: $"+kms.MasterKeyEnv+", else <data>/"+kms.MasterKeyFileName+")")
	return cmd
}

func newLogger(format, level string) (*logrus.Logger, error) {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	switch format {
	case "text":
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{})
	default:
		return nil, fmt.Errorf("unknown log format %q", format)
	}
	lv, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	l.SetLevel(lv)
	return l, nil
}

// checkGeometry validates k+m. A standalone node must hold k+m drives
// itself; in a cluster the drives of all nodes count, checked on write.
func checkGeometry(k, m, drives int, clustered bool) error {
	switch {
	case m < 1:
		return fmt.Errorf("erasure parity must be at least 1 (got %d)", m)
	case m > k:
		return fmt.Errorf("erasure parity %d must not exceed data shards %d", m, k)
	case !clustered && drives < k+m:
		return fmt.Errorf("erasure %d+%d needs at least %d drives, have %d", k, m, k+m, drives)
	}
	return nil
}

// geometry picks k and m: flags when given, else half the drives each.
func geometry(f serverFlags, drives int) (int, int) {
	k, m := f.ecData, f.ecParity
	if k == 0 && m == 0 {
		k = max(drives/2, 1)
		m = max(drives-k, 1)
		if m > k {
			m = k
		}
	} else if k == 0 {
		k = drives - m
	} else if m == 0 {
		m = min(drives-k, k)
	}
	return k, m
}

// newConnGuard bounds client connections; maxConns 0 derives the bound from
// the open-file limit.
func newConnGuard(maxConns int, reg prometheus.Registerer) (*connguard.Guard, error) {
	cfg := connguard.DefaultConfig()
	cfg.Max, cfg.Registry = maxConns, reg
	if maxConns == 0 {
		nofile, err := connguard.FileLimit()
		if err != nil {
			return nil, fmt.Errorf("open-file limit: %w", err)
		}
		cfg.Max = connguard.MaxForFileLimit(nofile)
	}
	return connguard.New(cfg)
}

func printBanner(addr net.Addr, f serverFlags, k, m int, paths []string, c rootCredentials, generated bool, t *s3TLS) {
	host := "127.0.0.1"
	if h, _, err := net.SplitHostPort(f.address); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
		host = h
	}
	_, port, _ := net.SplitHostPort(addr.String())
	endpoint := t.scheme() + "://" + net.JoinHostPort(host, port)
	fmt.Printf("FileSphere S3 endpoint: %s\n", endpoint)
	t.printBanner(os.Stdout)
	fmt.Printf("Drives: %d (erasure %d+%d), data folder: %s\n", len(paths), k, m, f.dataDir)
	// Clients sign for a region; one without it configured signs us-east-1.
	fmt.Printf("Region: %s (configure clients with it: export AWS_REGION=%s)\n", f.region, f.region)
	// The secret is shown once, when it was just generated; afterwards
	// only where it is kept.
	if generated {
		fmt.Printf("Generated root credentials (stored in %s):\n", c.source)
		fmt.Printf("  export AWS_ACCESS_KEY_ID=%s\n", c.AccessKey)
		fmt.Printf("  export AWS_SECRET_ACCESS_KEY=%s\n", c.SecretKey)
		fmt.Println("  (the secret key is shown only now; later starts print only the access key)")
	} else {
		fmt.Printf("Root access key %s; its secret key is in %s\n", c.AccessKey, c.source)
		fmt.Printf("  export AWS_ACCESS_KEY_ID=%s\n", c.AccessKey)
	}
	fmt.Printf("  %s\n", t.awsHint(endpoint))
}
