package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/filesphere/filesphere/cluster"
	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/iam/oauth"
	"github.com/filesphere/filesphere/internal/connguard"
	"github.com/filesphere/filesphere/kms"
	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"
)

// runServer starts a node in phases: settle what the flags and the data
// folder say, join the cluster, start the engine and the access layer,
// then serve until a signal drains it.
func runServer(ctx context.Context, f serverFlags, args []string) error {
	setServerProcs()
	b, err := prepare(f, args)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.address)
	if err != nil {
		return err
	}
	node, err := b.startNode(ctx, ln)
	if err != nil {
		ln.Close()
		return err
	}
	defer node.Close()
	keys, err := openKMS(ctx, node.KV(), b.masterKey, b.log)
	clear(b.masterKey)
	if err != nil {
		return err
	}
	engine, err := b.startEngine(ctx, node, keys)
	if err != nil {
		return err
	}
	defer engine.Close()
	ids, err := openAccess(ctx, node.KV(), keys, b.creds, b.log)
	if err != nil {
		return err
	}
	defer ids.Close()
	f.oauth.trustForwarded = f.tls.trustForwarded
	issuer := issuerURL(f.oauth, f.address, ln.Addr(), b.tls.scheme())
	prov, err := openOAuth(ctx, f.oauth, node, keys, ids, issuer, b.log)
	if err != nil {
		return err
	}
	defer prov.Close()
	api, err := b.newAPI(engine, node, keys, ids, prov)
	if err != nil {
		return err
	}
	cons, err := newConsole(f, api, ln.Addr(), b.tls, prov, issuer, b.log)
	if err != nil {
		return err
	}
	return b.serve(ctx, ln, api, engine, node, cons)
}

// boot is what a start settles before anything runs.
type boot struct {
	f         serverFlags
	log       *logrus.Entry
	reg       *prometheus.Registry
	paths     []string
	k, m      int
	nodeID    string
	secret    []byte
	creds     rootCredentials
	generated bool
	tls       *s3TLS
	masterKey []byte
	guard     *connguard.Guard
}

// prepare reads the flags and the data folder: drives, geometry, node id,
// cluster secret, root credentials, TLS and the KMS master key.
func prepare(f serverFlags, args []string) (*boot, error) {
	logger, err := newLogger(f.logFormat, f.logLevel)
	if err != nil {
		return nil, err
	}
	b := &boot{f: f, log: logrus.NewEntry(logger), paths: args}
	if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
		return nil, err
	}
	if len(b.paths) == 0 {
		for i := 1; i <= 4; i++ {
			b.paths = append(b.paths, filepath.Join(f.dataDir, "drive"+strconv.Itoa(i)))
		}
	}
	b.k, b.m = geometry(f, len(b.paths))
	if b.nodeID, err = resolveNodeID(f.nodeID, f.dataDir); err != nil {
		return nil, err
	}
	var clustered bool
	if b.secret, clustered, err = resolveSecret(f.dataDir, f.join != ""); err != nil {
		return nil, err
	}
	if err := checkGeometry(b.k, b.m, len(b.paths), clustered); err != nil {
		return nil, err
	}
	if b.creds, b.generated, err = loadRootCredentials(f.dataDir); err != nil {
		return nil, err
	}
	if b.tls, err = setupS3TLS(f, b.log); err != nil {
		return nil, err
	}
	if b.masterKey, err = masterKey(f.kmsKeyFile, f.dataDir, f.join != "", b.log); err != nil {
		return nil, err
	}
	b.reg = prometheus.NewRegistry()
	b.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if b.guard, err = newConnGuard(f.maxConns, b.reg); err != nil {
		return nil, err
	}
	return b, nil
}

// startNode opens the drives and joins (or forms) the cluster; ln is the
// S3 listener, whose address the node advertises.
func (b *boot) startNode(ctx context.Context, ln net.Listener) (*cluster.Node, error) {
	set, err := openDrives(b.nodeID, b.paths, b.f.directIO, b.log, b.reg)
	if err != nil {
		return nil, err
	}
	f := b.f
	ccfg := cluster.DefaultConfig()
	ccfg.NodeID, ccfg.ClusterAddr, ccfg.AdvertiseAddr, ccfg.Join = b.nodeID, f.cluster, f.advertise, f.join
	ccfg.APIAddr, ccfg.DataDir, ccfg.Secret, ccfg.Drives, ccfg.Log = ln.Addr().String(), filepath.Join(f.dataDir, "cluster"), b.secret, set, b.log
	ccfg.LostAfter, ccfg.Registry = f.lostAfter, b.reg
	return cluster.Start(ctx, ccfg)
}

// startEngine builds the storage engine over the node and subscribes its
// repair to the node's events.
func (b *boot) startEngine(ctx context.Context, node *cluster.Node, keys *kms.KMS) (*storage.Engine, error) {
	f := b.f
	ecfg := storage.DefaultEngineConfig()
	ecfg.DataShards, ecfg.ParityShards, ecfg.Log, ecfg.Registry = b.k, b.m, b.log, b.reg
	ecfg.Bitrot = f.bitrot.alg
	ecfg.IsLeader, ecfg.RepairInterval, ecfg.RepairBandwidth = node.IsLeader, f.repairEvery, f.repairBandwidth
	ecfg.RepairRate, ecfg.ScrubPeriod, ecfg.ScrubBandwidth = f.repairRate, f.scrubPeriod, f.scrubBandwidth
	ecfg.LifecycleDay, ecfg.LifecycleRate = f.lifecycleDay, f.lifecycleRate
	ecfg.ChunkGrace = f.chunkGrace
	ecfg.CacheBytes = f.objectCache
	ecfg.Keys = keys
	var engine *storage.Engine
	// The leader finishes drains after the repair pass that emptied a node.
	ecfg.PassDone = func(ctx context.Context, _ storage.HealReport) { node.FinishDrains(ctx, engine.ReferencedShards) }
	engine, err := storage.NewEngine(ecfg, node.KV(), node, placementOf(node))
	if err != nil {
		return nil, err
	}
	node.SetRepairReport(func() any {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return leaderReport{HealStatus: engine.HealStatus(), Lifecycle: engine.LifecycleStatus(sctx)}
	})
	repairOnEvents(node, engine)
	return engine, nil
}

// newAPI builds the S3 API (with the admin, IAM and STS APIs) over the
// engine and the access layer.
func (b *boot) newAPI(engine *storage.Engine, node *cluster.Node, keys *kms.KMS, ids *iam.Service, prov *oauth.Provider) (*s3api.Server, error) {
	f := b.f
	scfg := s3api.DefaultConfig()
	scfg.Domain, scfg.Region, scfg.Log, scfg.Registry = f.domain, f.region, b.log, b.reg
	scfg.AccessLog, scfg.TrustForwardedProto = f.accessLog, f.tls.trustForwarded
	scfg.Metrics, scfg.MetricsPublic = promhttp.HandlerFor(b.reg, promhttp.HandlerOpts{}), f.metricsPublic
	scfg.Admin, scfg.KMS = adminService{engine: engine, node: node}, keys
	scfg.Ready = node.Ready
	scfg.BodyReadTimeout, scfg.MinBodyRate, scfg.UploadMemory = f.bodyReadTimeout, f.minBodyRate, f.uploadMemory
	scfg.Answered = b.guard.Answered
	scfg.OAuth, scfg.WebIdentity, scfg.OAuthAdmin = prov.Handler(), prov, oauthAdmin{prov}
	return s3api.New(scfg, engine, ids)
}

// serve answers on ln (and the console on its own listener; nil for none)
// until the context ends or SIGINT/SIGTERM, then drains in-flight requests
// for --shutdown-timeout.
func (b *boot) serve(ctx context.Context, ln net.Listener, api http.Handler, engine *storage.Engine, node *cluster.Node, cons *consoleServer) error {
	f := b.f
	// No ReadTimeout or WriteTimeout: bodies and answers of any size are
	// legitimate; s3api holds them to a minimum rate instead.
	srv := &http.Server{Handler: api, MaxHeaderBytes: 1 << 20, ReadHeaderTimeout: f.readHeaderTimeout,
		IdleTimeout: f.idleTimeout, ConnState: b.guard.ConnState, ConnContext: b.guard.ConnContext}
	printBanner(ln.Addr(), f, b.k, b.m, b.paths, b.creds, b.generated, b.tls)
	cons.printBanner()
	b.log.WithFields(logrus.Fields{"address": ln.Addr().String(), "node": b.nodeID, "drives": len(b.paths),
		"ec": fmt.Sprintf("%d+%d", b.k, b.m), "max_connections": b.guard.Max(), "gomaxprocs": runtime.GOMAXPROCS(0)}).Info("serving S3")

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := startPprof(ctx, f.pprofAddress, b.log); err != nil {
		return err
	}
	engine.RunBackground(ctx)
	cons.serve(ctx, b.tls, b.guard, b.log)
	reloadOnSignals(ctx, b.tls, node, b.log)
	errc := make(chan error, 1)
	go func() { errc <- b.tls.serve(srv, b.guard.Listener(ln)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	b.log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), f.drain)
	defer cancel()
	cons.shutdown(sctx, f.drain)
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	b.log.Info("stopped")
	return nil
}
