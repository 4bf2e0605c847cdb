// Package cluster runs a FileSphere node's membership: Raft (over
// raft-boltdb, file snapshots and a mutual-TLS transport), bootstrap,
// join and leave, the replicated membership of nodes and drives, ring
// versions, and resolving a drive id to a local or remote store. It knows
// nothing of buckets or objects.
package cluster

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/pki"
	"github.com/filesphere/filesphere/cluster/rpc"
	"github.com/filesphere/filesphere/storage/drive"
	"github.com/hashicorp/raft"
	"github.com/sirupsen/logrus"
)

// Node is a running cluster member.
type Node struct {
	cfg       Config
	log       *logrus.Entry
	advertise string
	mux       *muxListener
	httpSrv   *http.Server
	fsm       *meta.FSM
	raft      *raft.Raft
	kv        *meta.RaftKV
	closeRaft func() error
	hasState  bool
	client    *rpc.Client
	members   atomic.Pointer[Membership]
	remotes   sync.Map // drive id → drive.ShardStore
	live      liveness
	events    broker
	stop      chan struct{}
	wg        sync.WaitGroup

	// repairReport gives the repair state this node reports as leader.
	repairReport atomic.Pointer[func() any]

	// identity is the node's TLS certificate (swapped in place on renewal,
	// under idMu); ca is the opened cluster CA once needed (tls.go).
	identity *pki.Identity
	idMu     sync.Mutex
	ca       atomic.Pointer[pki.CA]
}

// Start opens the node's state, starts Raft and the node-to-node API, and
// bootstraps, joins or rejoins.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = logrus.NewEntry(l)
	}
	n := &Node{cfg: cfg, log: cfg.Log.WithField("component", "cluster"), stop: make(chan struct{})}
	if err := n.open(ctx); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.form(ctx); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.publishCA(ctx); err != nil {
		n.log.WithError(err).Warn("committing the cluster CA; will retry")
	}
	n.wg.Add(2)
	go n.loop()
	go n.certLoop()
	return n, nil
}

func (n *Node) open(ctx context.Context) error {
	ln, err := net.Listen("tcp", n.cfg.ClusterAddr)
	if err != nil {
		return err
	}
	// Until the mux owns it (and Close closes it), a failure closes it here.
	defer func() {
		if n.mux == nil {
			ln.Close()
		}
	}()
	n.advertise = advertiseAddr(n.cfg.AdvertiseAddr, ln.Addr())
	if err := os.MkdirAll(filepath.Join(n.cfg.DataDir, "raft"), 0o700); err != nil {
		return err
	}
	// The Raft log is the durability point: the FSM does not fsync, and
	// after an unclean stop it is rebuilt from the snapshot and the log.
	if n.fsm, err = meta.OpenFSM(filepath.Join(n.cfg.DataDir, "meta.db"), meta.WithLogDurability()); err != nil {
		return err
	}
	if n.fsm.Recovered() {
		n.log.Warn("metadata state was not closed cleanly: rebuilding it from the raft snapshot and log")
	}
	logs, stable, snaps, closeStores, err := meta.OpenRaftStores(filepath.Join(n.cfg.DataDir, "raft"))
	if err != nil {
		return err
	}
	n.closeRaft = closeStores
	if n.hasState, err = raft.HasExistingState(logs, stable, snaps); err != nil {
		return err
	}
	// Raft does not restore snapshots on start (the FSM is durable); this
	// covers a crash between receiving a snapshot and applying it.
	if _, err := meta.RecoverFSM(n.fsm, snaps); err != nil {
		return err
	}
	if err := n.prepareIdentity(ctx); err != nil {
		return err
	}
	n.mux = newMux(ln, n.cfg.Secret, n.identity, func(err error) { n.log.WithError(err).Warn("refused peer") })
	addr, _ := net.ResolveTCPAddr("tcp", n.advertise)
	sl := streamLayer{m: n.mux, advertise: addr, dialTLS: n.identity.ClientConfig(alpnRaft)}
	transport := raft.NewNetworkTransport(sl, 3, 10*time.Second, n.log.WriterLevel(logrus.DebugLevel))
	rcfg := meta.DefaultRaftConfig(raft.ServerID(n.cfg.NodeID))
	rcfg.LogOutput = n.log.WriterLevel(logrus.DebugLevel)
	if n.raft, err = raft.NewRaft(rcfg, meta.NewRaftFSM(n.fsm), logs, stable, snaps, transport); err != nil {
		return err
	}
	ccfg := rpc.DefaultClientConfig()
	ccfg.Secret, ccfg.NodeID, ccfg.TLS = n.cfg.Secret, n.cfg.NodeID, n.identity.ClientConfig(alpnRPC)
	if n.client, err = rpc.NewClient(ccfg); err != nil {
		return err
	}
	n.kv = meta.NewRaftKV(n.raft, n.fsm, forwarder{n.client})
	srvCfg := rpc.DefaultServerConfig()
	srvCfg.Secret, srvCfg.NodeID, srvCfg.Log = n.cfg.Secret, n.cfg.NodeID, n.log
	srvCfg.Drives = func(id string) (drive.ShardStore, bool) { d, ok := n.cfg.Drives[id]; return d, ok }
	srvCfg.Meta, srvCfg.Cluster, srvCfg.Repair, srvCfg.Certs = n.kv, n, n, n
	srvCfg.RequirePeerCert = true
	rs, err := rpc.NewServer(srvCfg)
	if err != nil {
		return err
	}
	n.httpSrv = rpc.NewHTTPServer("", rs)
	go n.httpSrv.Serve(httpListener{n.mux})
	return nil
}

// advertiseAddr picks the address peers dial.
func advertiseAddr(explicit string, bound net.Addr) string {
	if explicit != "" {
		return explicit
	}
	host, port, _ := net.SplitHostPort(bound.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// KV is the replicated metadata store.
func (n *Node) KV() meta.KV { return n.kv }

// Members returns the current membership snapshot.
func (n *Node) Members() *Membership { return n.members.Load() }

// IsLeader reports whether this node is the Raft leader.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Ready reports whether the node knows a leader.
func (n *Node) Ready() bool {
	addr, _ := n.raft.LeaderWithID()
	return addr != ""
}

// Close stops the node.
func (n *Node) Close() error {
	select {
	case <-n.stop:
	default:
		close(n.stop)
	}
	n.wg.Wait()
	n.events.close()
	var errs []error
	if n.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, n.httpSrv.Shutdown(ctx))
		cancel()
	}
	if n.raft != nil {
		errs = append(errs, n.raft.Shutdown().Error())
	}
	if n.mux != nil {
		n.mux.Close()
	}
	if n.closeRaft != nil {
		errs = append(errs, n.closeRaft())
	}
	if n.fsm != nil {
		errs = append(errs, n.fsm.Close())
	}
	return errors.Join(errs...)
}
