// Package cluster runs a FileSphere node's membership: Raft (over
// raft-boltdb, file snapshots and an authenticated TCP transport), bootstrap,
// join and leave, the replicated membership of nodes and drives, ring
// versions, and resolving a drive id to a local or remote store. It knows
// nothing of buckets or objects.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/ring"
	"github.com/filesphere/filesphere/cluster/rpc"
	"github.com/filesphere/filesphere/storage/drive"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

// Config configures a node.
type Config struct {
	NodeID string
	// ClusterAddr is where Raft and the node-to-node API listen.
	ClusterAddr string
	// AdvertiseAddr is the cluster address peers dial (default: the
	// listener's address, with an unspecified host replaced by 127.0.0.1).
	AdvertiseAddr string
	// APIAddr is this node's S3 address, shown in status.
	APIAddr string
	// Join is the cluster address of any member; empty bootstraps a new
	// cluster when there is no state.
	Join    string
	DataDir string
	Secret  []byte
	// Drives are this node's local drives with their weights.
	Drives  map[string]drive.ShardStore
	Weights map[string]int
	Log     *logrus.Entry
	// RefreshInterval is how often membership is re-read into the ring.
	RefreshInterval time.Duration
	// JoinTimeout bounds how long a joining node keeps trying.
	JoinTimeout time.Duration
	// Registry receives remote drive metrics; nil keeps them unregistered.
	Registry prometheus.Registerer
	// LostAfter is how long a node may be unreachable before the leader
	// declares it lost and removes it (0 = never).
	LostAfter time.Duration
}

// DefaultConfig returns defaults for the optional fields.
func DefaultConfig() Config {
	return Config{RefreshInterval: 500 * time.Millisecond, JoinTimeout: 2 * time.Minute, LostAfter: 5 * time.Minute}
}

// Validate checks a Config.
func (c Config) Validate() error {
	switch {
	case c.NodeID == "":
		return errors.New("cluster: node id required")
	case c.ClusterAddr == "":
		return errors.New("cluster: cluster address required")
	case c.DataDir == "":
		return errors.New("cluster: data dir required")
	case len(c.Secret) < 16:
		return errors.New("cluster: secret of at least 16 bytes required")
	case len(c.Drives) == 0:
		return errors.New("cluster: at least one drive required")
	case c.RefreshInterval <= 0 || c.JoinTimeout <= 0:
		return errors.New("cluster: intervals must be positive")
	}
	return nil
}

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
	stop      chan struct{}
	wg        sync.WaitGroup

	// repairReport gives the repair state this node reports as leader.
	repairReport atomic.Pointer[func() any]
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
	if err := n.open(); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.form(ctx); err != nil {
		n.Close()
		return nil, err
	}
	n.wg.Add(1)
	go n.loop()
	return n, nil
}

func (n *Node) open() error {
	ln, err := net.Listen("tcp", n.cfg.ClusterAddr)
	if err != nil {
		return err
	}
	n.advertise = advertiseAddr(n.cfg.AdvertiseAddr, ln.Addr())
	n.mux = newMux(ln, n.cfg.Secret, func(err error) { n.log.WithError(err).Warn("refused peer") })
	if err := os.MkdirAll(filepath.Join(n.cfg.DataDir, "raft"), 0o700); err != nil {
		return err
	}
	if n.fsm, err = meta.OpenFSM(filepath.Join(n.cfg.DataDir, "meta.db")); err != nil {
		return err
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
	addr, _ := net.ResolveTCPAddr("tcp", n.advertise)
	transport := raft.NewNetworkTransport(streamLayer{m: n.mux, advertise: addr}, 3, 10*time.Second, n.log.WriterLevel(logrus.DebugLevel))
	rcfg := meta.DefaultRaftConfig(raft.ServerID(n.cfg.NodeID))
	rcfg.LogOutput = n.log.WriterLevel(logrus.DebugLevel)
	if n.raft, err = raft.NewRaft(rcfg, meta.NewRaftFSM(n.fsm), logs, stable, snaps, transport); err != nil {
		return err
	}
	ccfg := rpc.DefaultClientConfig()
	ccfg.Secret, ccfg.NodeID = n.cfg.Secret, n.cfg.NodeID
	if n.client, err = rpc.NewClient(ccfg); err != nil {
		return err
	}
	n.kv = meta.NewRaftKV(n.raft, n.fsm, forwarder{n.client})
	srvCfg := rpc.DefaultServerConfig()
	srvCfg.Secret, srvCfg.NodeID, srvCfg.Log = n.cfg.Secret, n.cfg.NodeID, n.log
	srvCfg.Drives = func(id string) (drive.ShardStore, bool) { d, ok := n.cfg.Drives[id]; return d, ok }
	srvCfg.Meta, srvCfg.Cluster, srvCfg.Repair = n.kv, n, n
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

// form bootstraps, joins or rejoins, then waits for a leader and for this
// node's own membership record.
func (n *Node) form(ctx context.Context) error {
	existing := n.hasState
	switch {
	case existing:
		n.log.Info("rejoining from local state")
	case n.cfg.Join == "":
		n.log.Info("bootstrapping a new cluster")
		f := n.raft.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{
			ID: raft.ServerID(n.cfg.NodeID), Address: raft.ServerAddress(n.advertise), Suffrage: raft.Voter,
		}}})
		if err := f.Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return err
		}
	default:
		if err := n.joinVia(ctx, n.cfg.Join); err != nil {
			return err
		}
	}
	if err := n.waitLeader(ctx); err != nil {
		return err
	}
	return n.register(ctx)
}

func (n *Node) self() NodeRecord {
	rec := NodeRecord{ID: n.cfg.NodeID, ClusterAddr: n.advertise, APIAddr: n.cfg.APIAddr, Joined: time.Now().UTC()}
	for id := range n.cfg.Drives {
		w := n.cfg.Weights[id]
		if w <= 0 {
			w = 1
		}
		rec.Drives = append(rec.Drives, DriveRecord{ID: id, Weight: w})
	}
	sortDrives(rec.Drives)
	return rec
}

// joinVia asks a member to add this node, retrying until it answers.
func (n *Node) joinVia(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.JoinTimeout)
	defer cancel()
	rec := n.self()
	req := rpc.JoinRequest{NodeID: rec.ID, RaftAddr: n.advertise, ClusterAddr: n.advertise, APIAddr: rec.APIAddr}
	for _, d := range rec.Drives {
		req.Drives = append(req.Drives, rpc.DriveSpec{ID: d.ID, Weight: d.Weight})
	}
	for {
		_, err := n.client.Join(ctx, "http://"+addr, req)
		if err == nil {
			n.log.WithField("via", addr).Info("joined cluster")
			return nil
		}
		if errors.Is(err, rpc.ErrUnauthorized) {
			return fmt.Errorf("cluster: %s refused this node: wrong cluster secret: %w", addr, err)
		}
		n.log.WithError(err).WithField("via", addr).Warn("join failed; retrying")
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: joining via %s: %w (last error: %v)", addr, ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

func (n *Node) waitLeader(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.JoinTimeout)
	defer cancel()
	for {
		if addr, _ := n.raft.LeaderWithID(); addr != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: no leader elected: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// register writes this node's record if it is missing or stale (a
// bootstrapped node, or a restart with new addresses or drives).
func (n *Node) register(ctx context.Context) error {
	want := n.self()
	for {
		m, err := readMembership(ctx, n.kv)
		if err == nil {
			for _, have := range m.Nodes {
				if have.ID == want.ID {
					want.Draining = have.Draining
					if sameNode(have, want) {
						n.members.Store(m)
						return nil
					}
				}
			}
			if err = updateMembership(ctx, n.kv, putNodeOps(want)); err == nil {
				return n.refresh(ctx)
			}
		}
		n.log.WithError(err).Warn("registering membership; retrying")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func sameNode(a, b NodeRecord) bool {
	if a.ClusterAddr != b.ClusterAddr || a.APIAddr != b.APIAddr || len(a.Drives) != len(b.Drives) {
		return false
	}
	for i := range a.Drives {
		if a.Drives[i] != b.Drives[i] {
			return false
		}
	}
	return true
}

// Join implements rpc.ClusterService: any member records the new node;
// the leader's reconciler adds it to the Raft configuration.
func (n *Node) Join(ctx context.Context, req rpc.JoinRequest) (rpc.JoinResponse, error) {
	if req.NodeID == "" || req.ClusterAddr == "" || len(req.Drives) == 0 {
		return rpc.JoinResponse{}, errors.New("cluster: join needs a node id, an address and drives")
	}
	rec := NodeRecord{ID: req.NodeID, ClusterAddr: req.ClusterAddr, APIAddr: req.APIAddr, Joined: time.Now().UTC()}
	for _, d := range req.Drives {
		rec.Drives = append(rec.Drives, DriveRecord{ID: d.ID, Weight: max(d.Weight, 1)})
	}
	sortDrives(rec.Drives)
	m, err := readMembership(ctx, n.kv)
	if err != nil {
		return rpc.JoinResponse{}, err
	}
	for _, have := range m.Nodes {
		for _, d := range have.Drives {
			for _, nd := range rec.Drives {
				if d.ID == nd.ID && have.ID != rec.ID {
					return rpc.JoinResponse{}, fmt.Errorf("cluster: drive id %s already belongs to node %s", d.ID, have.ID)
				}
			}
		}
	}
	if err := updateMembership(ctx, n.kv, putNodeOps(rec)); err != nil {
		return rpc.JoinResponse{}, err
	}
	if err := n.reconcileNow(ctx); err != nil {
		n.log.WithError(err).Debug("reconcile after join")
	}
	_, leader := n.raft.LeaderWithID()
	return rpc.JoinResponse{LeaderID: string(leader)}, nil
}

// Remove takes a node out of the membership; the leader then removes it
// from Raft. Moving its data is the healer's job.
func (n *Node) Remove(ctx context.Context, id string) error {
	m, err := readMembership(ctx, n.kv)
	if err != nil {
		return err
	}
	found := false
	for _, have := range m.Nodes {
		found = found || have.ID == id
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrUnknownNode, id)
	}
	if len(m.Nodes) == 1 {
		return fmt.Errorf("%w: %s", ErrLastNode, id)
	}
	return updateMembership(ctx, n.kv, removeNodeOps(id))
}

// ErrUnknownNode is returned for a node id that is not a member.
var ErrUnknownNode = errors.New("cluster: no such node")

// ErrLastNode refuses to remove the only member of a cluster.
var ErrLastNode = errors.New("cluster: cannot remove the last node")

// loop refreshes membership and, on the leader, reconciles Raft with it.
func (n *Node) loop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.RefreshInterval)
	defer t.Stop()
	var leaderSince time.Time
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := n.refresh(ctx); err != nil {
			n.log.WithError(err).Debug("membership refresh")
		}
		if n.raft.State() == raft.Leader {
			if leaderSince.IsZero() {
				leaderSince = time.Now()
				n.live.reset()
			}
			if err := n.reconcileNow(ctx); err != nil {
				n.log.WithError(err).Warn("raft reconcile")
			}
			n.probeNodes(ctx, leaderSince)
		} else {
			leaderSince = time.Time{}
		}
		cancel()
	}
}

// refresh re-reads membership from the local replica (a stale read is fine:
// placement carries its version and reads never recompute old placements).
func (n *Node) refresh(ctx context.Context) error {
	m, err := readMembership(ctx, localReader{n.fsm})
	if err != nil {
		return err
	}
	if old := n.members.Load(); old == nil || old.Revision != m.Revision {
		n.members.Store(m)
	}
	return nil
}

// reconcileNow makes the Raft configuration match the membership: it adds
// recorded nodes as voters and removes tombstoned ones.
func (n *Node) reconcileNow(ctx context.Context) error {
	if n.raft.State() != raft.Leader {
		return nil
	}
	m, err := readMembership(ctx, localReader{n.fsm})
	if err != nil {
		return err
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	in := map[raft.ServerID]raft.ServerAddress{}
	for _, s := range f.Configuration().Servers {
		in[s.ID] = s.Address
	}
	for _, rec := range m.Nodes {
		if addr, ok := in[raft.ServerID(rec.ID)]; ok && string(addr) == rec.ClusterAddr {
			continue
		}
		n.log.WithField("node", rec.ID).WithField("addr", rec.ClusterAddr).Info("adding voter")
		if err := n.raft.AddVoter(raft.ServerID(rec.ID), raft.ServerAddress(rec.ClusterAddr), 0, 10*time.Second).Error(); err != nil {
			return err
		}
	}
	for _, id := range m.Removed {
		if _, ok := in[raft.ServerID(id)]; !ok || id == n.cfg.NodeID && len(in) == 1 {
			continue
		}
		n.log.WithField("node", id).Info("removing server")
		if err := n.raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error(); err != nil {
			return err
		}
	}
	return nil
}

// KV is the replicated metadata store.
func (n *Node) KV() meta.KV { return n.kv }

// Members returns the current membership snapshot.
func (n *Node) Members() *Membership { return n.members.Load() }

// Version implements storage.Placement.
func (n *Node) Version() uint64 { return n.members.Load().Ring.Version() }

// Locate implements storage.Placement with the current ring.
func (n *Node) Locate(key string, count int) ([]string, error) {
	return n.members.Load().Ring.Locate(key, count)
}

// DriveIDs lists every drive of every member (storage.DriveLister).
func (n *Node) DriveIDs() []string {
	m := n.members.Load()
	var ids []string
	for _, rec := range m.Nodes {
		for _, d := range rec.Drives {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// IsLeader reports whether this node is the Raft leader.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Ring returns the current ring.
func (n *Node) Ring() *ring.Ring { return n.members.Load().Ring }

// Drive implements storage.Drives: local drives directly, others through
// the node-to-node API of the node that holds them.
func (n *Node) Drive(id string) (drive.ShardStore, error) {
	if d, ok := n.cfg.Drives[id]; ok {
		return d, nil
	}
	m := n.members.Load()
	rec, ok := m.NodeOf(id)
	if !ok {
		return nil, fmt.Errorf("%w: drive %s is not in the membership", drive.ErrOffline, id)
	}
	key := id + "@" + rec.ClusterAddr
	if d, ok := n.remotes.Load(key); ok {
		return d.(drive.ShardStore), nil
	}
	// Remote drives get the same decorator as local ones: deadlines and
	// offline marking, so reads and writes route around a silent node at
	// once instead of waiting on it call after call.
	icfg := drive.DefaultInstrumentedConfig()
	icfg.Timeout, icfg.Cooldown, icfg.Registerer, icfg.Logger = 10*time.Second, 3*time.Second, n.cfg.Registry, n.log
	d, err := drive.NewInstrumented(n.client.Drive("http://"+rec.ClusterAddr, id), icfg)
	if err != nil {
		return nil, err
	}
	actual, _ := n.remotes.LoadOrStore(key, d)
	return actual.(drive.ShardStore), nil
}

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

// forwarder adapts the rpc client to meta.Forwarder.
type forwarder struct{ c *rpc.Client }

func (f forwarder) ForwardTxn(ctx context.Context, addr raft.ServerAddress, _ raft.ServerID, cmd []byte) (uint64, error) {
	return f.c.ForwardTxn(ctx, "http://"+string(addr), cmd)
}

func (f forwarder) ReadIndex(ctx context.Context, addr raft.ServerAddress, _ raft.ServerID) (uint64, error) {
	return f.c.ReadIndex(ctx, "http://"+string(addr))
}

// localReader reads the local replica without a leader round trip.
type localReader struct{ f *meta.FSM }

func (l localReader) Get(_ context.Context, key string) (meta.Entry, error) { return l.f.Get(key) }
func (l localReader) List(_ context.Context, prefix, start string, limit int) ([]meta.Entry, error) {
	return l.f.List(prefix, start, limit)
}
func (l localReader) Txn(context.Context, meta.Txn) (uint64, error) {
	return 0, errors.New("cluster: local reader is read-only")
}

func sortDrives(ds []DriveRecord) {
	slices.SortFunc(ds, func(a, b DriveRecord) int { return strings.Compare(a.ID, b.ID) })
}

// Drain marks a node as draining: it leaves the ring, so the repairer moves
// its shards to the other nodes; it stays a member until removed.
func (n *Node) Drain(ctx context.Context, id string) error {
	m, err := readMembership(ctx, n.kv)
	if err != nil {
		return err
	}
	for _, rec := range m.Nodes {
		if rec.ID == id {
			rec.Draining = true
			return updateMembership(ctx, n.kv, putNodeOps(rec))
		}
	}
	return fmt.Errorf("%w: %s", ErrUnknownNode, id)
}
