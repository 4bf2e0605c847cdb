package meta_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/filesphere/filesphere/cluster/meta"
)

// An in-process Raft cluster for tests, after hashicorp/raft's testing.go:
// real bbolt FSMs in t.TempDir(), raft.InmemTransport between nodes, a
// Forwarder that calls the leader's RaftKV directly, partitions by
// disconnecting transports.

type clusterOpts struct {
	// boltStores uses OpenRaftStores (raft-boltdb + file snapshots) instead
	// of in-memory log/stable stores and a file snapshot store.
	boltStores bool
	// conf adjusts each node's raft.Config.
	conf func(*raft.Config)
	// kvOpts are passed to every NewRaftKV.
	kvOpts []meta.RaftKVOption
	// wrapLogs wraps each node's log store (when its raft starts).
	wrapLogs func(raft.LogStore) raft.LogStore
}

type testNode struct {
	c    *testCluster
	id   raft.ServerID
	addr raft.ServerAddress
	dir  string

	// Durable across stop/start.
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore
	closeS func() error

	// Per run.
	trans *raft.InmemTransport
	fsm   *meta.FSM
	rfsm  *meta.RaftFSM
	raft  *raft.Raft
	kv    *meta.RaftKV
}

type testCluster struct {
	t    testing.TB
	opts clusterOpts

	mu       sync.Mutex
	nodes    []*testNode
	running  map[raft.ServerID]bool
	isolated map[raft.ServerID]bool
}

// testRaftConfig is close to raft's own in-memory test timing (50ms), with
// some slack so that a loaded 2-CPU machine or a slow fsync does not cause
// spurious elections.
func testRaftConfig(id raft.ServerID) *raft.Config {
	c := meta.DefaultRaftConfig(id)
	c.HeartbeatTimeout = 100 * time.Millisecond
	c.ElectionTimeout = 100 * time.Millisecond
	c.LeaderLeaseTimeout = 100 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	c.SnapshotThreshold = 1 << 30 // snapshots only when a test asks
	c.SnapshotInterval = time.Hour
	if os.Getenv("FILESPHERE_RAFT_LOG") != "" {
		c.Logger = hclog.New(&hclog.LoggerOptions{Name: string(id), Level: hclog.Debug})
	} else {
		c.Logger = hclog.NewNullLogger()
	}
	return c
}

// newTestCluster starts n bootstrapped voters and waits for a leader.
func newTestCluster(t testing.TB, n int, opts clusterOpts) *testCluster {
	t.Helper()
	c := &testCluster{t: t, opts: opts, running: map[raft.ServerID]bool{}, isolated: map[raft.ServerID]bool{}}
	t.Cleanup(c.close)
	var servers []raft.Server
	for range n {
		nd := c.newNode()
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: nd.id, Address: nd.addr})
	}
	for _, nd := range c.nodes {
		if err := raft.BootstrapCluster(c.raftConfig(nd.id), nd.logs, nd.stable, nd.snaps,
			dummyTransport(nd.addr), raft.Configuration{Servers: servers}); err != nil {
			t.Fatal(err)
		}
	}
	for _, nd := range c.nodes {
		c.start(nd)
	}
	c.leader(5 * time.Second)
	return c
}

// dummyTransport only carries an address for BootstrapCluster.
func dummyTransport(addr raft.ServerAddress) raft.Transport {
	_, tr := raft.NewInmemTransport(addr)
	return tr
}

func (c *testCluster) raftConfig(id raft.ServerID) *raft.Config {
	conf := testRaftConfig(id)
	if c.opts.conf != nil {
		c.opts.conf(conf)
	}
	return conf
}

// newNode creates a node with empty stores; it is not started.
func (c *testCluster) newNode() *testNode {
	c.t.Helper()
	i := len(c.nodes)
	nd := &testNode{
		c:    c,
		id:   raft.ServerID(fmt.Sprintf("n%d", i)),
		addr: raft.ServerAddress(fmt.Sprintf("inmem-n%d", i)),
		dir:  filepath.Join(c.t.TempDir(), fmt.Sprintf("n%d", i)),
	}
	if c.opts.boltStores {
		nd.openBoltStores()
	} else {
		snaps, err := raft.NewFileSnapshotStoreWithLogger(nd.dir, 2, hclog.NewNullLogger())
		if err != nil {
			c.t.Fatal(err)
		}
		st := raft.NewInmemStore()
		nd.logs, nd.stable, nd.snaps, nd.closeS = st, st, snaps, func() error { return nil }
	}
	c.mu.Lock()
	c.nodes = append(c.nodes, nd)
	c.mu.Unlock()
	return nd
}

func (nd *testNode) openBoltStores() {
	logs, stable, snaps, closeFn, err := meta.OpenRaftStores(nd.dir)
	if err != nil {
		nd.c.t.Fatal(err)
	}
	nd.logs, nd.stable, nd.snaps, nd.closeS = logs, stable, snaps, closeFn
}

// start opens the node's FSM and starts raft on its stores.
func (c *testCluster) start(nd *testNode) {
	c.t.Helper()
	if nd.closeS == nil { // stopped with bolt stores: reopen them
		nd.openBoltStores()
	}
	fsm, err := meta.OpenFSM(filepath.Join(nd.dir, "meta.db"), meta.WithLogDurability())
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := meta.RecoverFSM(fsm, nd.snaps); err != nil {
		c.t.Fatal(err)
	}
	nd.fsm = fsm
	nd.rfsm = meta.NewRaftFSM(fsm)
	_, nd.trans = raft.NewInmemTransport(nd.addr)
	logs := nd.logs
	if c.opts.wrapLogs != nil {
		logs = c.opts.wrapLogs(logs)
	}
	nd.raft, err = raft.NewRaft(c.raftConfig(nd.id), nd.rfsm, logs, nd.stable, nd.snaps, nd.trans)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	nd.kv = meta.NewRaftKV(nd.raft, fsm, forwarder{c: c, from: nd.id}, c.opts.kvOpts...)
	c.running[nd.id] = true
	c.mu.Unlock()
	c.reconnect()
}

// stop shuts a node down cleanly.
func (c *testCluster) stop(nd *testNode) { c.halt(nd, false) }

// crash stops a node as kill -9 would: the FSM's database is left unsynced
// with its unclean marker, so the next start rebuilds it.
func (c *testCluster) crash(nd *testNode) { c.halt(nd, true) }

func (c *testCluster) halt(nd *testNode, crash bool) {
	c.t.Helper()
	c.mu.Lock()
	if !c.running[nd.id] {
		c.mu.Unlock()
		return
	}
	c.running[nd.id] = false
	c.mu.Unlock()
	if err := nd.raft.Shutdown().Error(); err != nil {
		c.t.Errorf("shutdown %s: %v", nd.id, err)
	}
	nd.trans.Close()
	closeFSM := nd.fsm.Close
	if crash {
		closeFSM = nd.fsm.CrashClose
	}
	if err := closeFSM(); err != nil {
		c.t.Errorf("close fsm %s: %v", nd.id, err)
	}
	if c.opts.boltStores {
		if err := nd.closeS(); err != nil {
			c.t.Errorf("close stores %s: %v", nd.id, err)
		}
		nd.closeS = nil
	}
	c.reconnect()
}

func (c *testCluster) close() {
	for _, nd := range c.nodes {
		c.stop(nd)
	}
	for _, nd := range c.nodes {
		if nd.closeS != nil {
			nd.closeS()
			nd.closeS = nil
		}
	}
}

// connected reports whether a and b can talk (both running, neither
// isolated, or the same node). Callers hold c.mu.
func (c *testCluster) connected(a, b raft.ServerID) bool {
	if a == b {
		return c.running[a]
	}
	return c.running[a] && c.running[b] && !c.isolated[a] && !c.isolated[b]
}

// reconnect wires the transports of every pair of connected running nodes
// and cuts every other pair.
func (c *testCluster) reconnect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.nodes {
		if !c.running[a.id] {
			continue
		}
		for _, b := range c.nodes {
			if a == b {
				continue
			}
			if c.connected(a.id, b.id) {
				a.trans.Connect(b.addr, b.trans)
			} else {
				a.trans.Disconnect(b.addr)
			}
		}
	}
}

// isolate cuts nd off from every other node (and its forwarder).
func (c *testCluster) isolate(nd *testNode) {
	c.mu.Lock()
	c.isolated[nd.id] = true
	c.mu.Unlock()
	c.reconnect()
}

// heal ends every partition.
func (c *testCluster) heal() {
	c.mu.Lock()
	clear(c.isolated)
	c.mu.Unlock()
	c.reconnect()
}

func (c *testCluster) node(id raft.ServerID) *testNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, nd := range c.nodes {
		if nd.id == id {
			return nd
		}
	}
	return nil
}

// runningNodes returns the running nodes, optionally excluding one.
func (c *testCluster) runningNodes(except ...*testNode) []*testNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*testNode
next:
	for _, nd := range c.nodes {
		if !c.running[nd.id] {
			continue
		}
		for _, e := range except {
			if e == nd {
				continue next
			}
		}
		out = append(out, nd)
	}
	return out
}

// leader waits for exactly one leader among the running, non-isolated nodes
// on which they all agree, and returns it.
func (c *testCluster) leader(timeout time.Duration) *testNode {
	c.t.Helper()
	var ld *testNode
	waitFor(c.t, timeout, "a leader", func() bool {
		ld = nil
		var members []*testNode
		for _, nd := range c.runningNodes() {
			c.mu.Lock()
			iso := c.isolated[nd.id]
			c.mu.Unlock()
			if iso {
				continue
			}
			members = append(members, nd)
			if nd.raft.State() == raft.Leader {
				if ld != nil {
					return false
				}
				ld = nd
			}
		}
		if ld == nil {
			return false
		}
		for _, nd := range members {
			if _, id := nd.kv.Leader(); id != ld.id {
				return false
			}
		}
		return true
	})
	return ld
}

// followers returns the running nodes other than the current leader.
func (c *testCluster) followers() []*testNode {
	return c.runningNodes(c.leader(5 * time.Second))
}

// addVoter starts a fresh node and adds it to the configuration.
func (c *testCluster) addVoter() *testNode {
	c.t.Helper()
	ld := c.leader(5 * time.Second)
	nd := c.newNode()
	c.start(nd)
	if err := ld.raft.AddVoter(nd.id, nd.addr, 0, 5*time.Second).Error(); err != nil {
		c.t.Fatalf("add voter %s: %v", nd.id, err)
	}
	return nd
}

// waitConverged waits until every running node has applied the same index
// and holds the same entries, and returns them.
func (c *testCluster) waitConverged(timeout time.Duration) []meta.Entry {
	c.t.Helper()
	var all []meta.Entry
	var why string
	ok := poll(timeout, func() bool {
		nodes := c.runningNodes()
		var first []meta.Entry
		for i, nd := range nodes {
			if nd.fsm.AppliedIndex() != nodes[0].fsm.AppliedIndex() {
				why = fmt.Sprintf("%s applied %d, %s applied %d", nd.id, nd.fsm.AppliedIndex(), nodes[0].id, nodes[0].fsm.AppliedIndex())
				return false
			}
			es, err := nd.fsm.List("", "", 0)
			if err != nil {
				why = err.Error()
				return false
			}
			if i == 0 {
				first = es
			} else if !reflect.DeepEqual(es, first) {
				why = fmt.Sprintf("%s has %d entries, %s has %d", nd.id, len(es), nodes[0].id, len(first))
				return false
			}
		}
		all = first
		return true
	})
	if !ok {
		c.t.Fatalf("nodes did not converge within %v: %s", timeout, why)
	}
	return all
}

// forwarder reaches the leader's RaftKV in-process, subject to partitions.
type forwarder struct {
	c    *testCluster
	from raft.ServerID
}

func (f forwarder) target(id raft.ServerID) (*meta.RaftKV, error) {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if f.c.connected(f.from, id) {
		for _, nd := range f.c.nodes {
			if nd.id == id {
				return nd.kv, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: %s -> %s", meta.ErrLeaderUnreachable, f.from, id)
}

// PeerTerm makes forwarder a meta.TermForwarder.
func (f forwarder) PeerTerm(_ context.Context, _ raft.ServerAddress, id raft.ServerID) (uint64, error) {
	kv, err := f.target(id)
	if err != nil {
		return 0, err
	}
	return kv.Term(), nil
}

func (f forwarder) ForwardTxn(ctx context.Context, _ raft.ServerAddress, id raft.ServerID, cmd []byte) (uint64, error) {
	kv, err := f.target(id)
	if err != nil {
		return 0, err
	}
	return kv.ApplyForwarded(ctx, cmd)
}

func (f forwarder) ReadIndex(ctx context.Context, _ raft.ServerAddress, id raft.ServerID) (uint64, error) {
	kv, err := f.target(id)
	if err != nil {
		return 0, err
	}
	return kv.ReadIndex(ctx)
}

// poll calls cond until it holds or timeout passes.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
		wait = min(wait*2, 20*time.Millisecond)
	}
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}
