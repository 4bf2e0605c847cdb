package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ClusterSecretEnv is the environment variable carrying the shared secret
// nodes authenticate each other with.
const ClusterSecretEnv = "FILESPHERE_CLUSTER_SECRET"

// MasterKeyEnv carries the KMS master key (kms.MasterKeyEnv).
const MasterKeyEnv = "FILESPHERE_KMS_MASTER_KEY"

// ClusterOptions configure a multi-node cluster of real processes on
// loopback. Every node gets the same root credentials, cluster secret and
// erasure geometry.
type ClusterOptions struct {
	// Nodes is the number of nodes started by StartCluster (default 3).
	Nodes int
	// DrivesPerNode drive folders are created for each node (default 1).
	DrivesPerNode int
	// ECData and ECParity are --ec-data/--ec-parity (required: a cluster
	// node cannot derive them from its own drives).
	ECData, ECParity int
	// Secret is FILESPHERE_CLUSTER_SECRET (default: random, 32 characters).
	Secret string
	// MasterKey is FILESPHERE_KMS_MASTER_KEY, the KMS master key every
	// node needs the same of (default: random, 64 hex digits).
	MasterKey string
	// AccessKey/SecretKey are the root credentials (default: random).
	AccessKey, SecretKey string
	// Name prefixes node labels and ids (default "node": node1, node2 …).
	Name string
	// LogLevel for every node (default "info").
	LogLevel string
	// ReadyTimeout bounds each node's start (default 60s).
	ReadyTimeout time.Duration
	// ExtraArgs and ExtraEnv are added to every node.
	ExtraArgs, ExtraEnv []string
	// Advertise, when set, gives node i the --cluster-advertise address
	// peers dial instead of its cluster address (say, a proxy in front of
	// it); "" keeps the cluster address.
	Advertise func(i int, clusterAddr string) string
}

// Cluster is a set of filesphere server processes forming one cluster.
// Nodes are numbered from 1 (node i has the id <Name><i>); node 1
// bootstraps, the others join it.
type Cluster struct {
	t    testing.TB
	opts ClusterOptions

	mu      sync.Mutex
	nodes   []*Node  // index i-1 is node i
	caddrs  []string // fixed cluster address per node
	removed map[int]bool
}

// ClusterStatus is the JSON of `filesphere admin cluster status --json`.
type ClusterStatus struct {
	NodeID      string `json:"node_id"`
	RaftState   string `json:"raft_state"`
	Term        string `json:"term"`
	Leader      string `json:"leader"`
	LeaderAddr  string `json:"leader_addr"`
	CommitIndex string `json:"commit_index"`
	Applied     uint64 `json:"applied_index"`
	RingVersion uint64 `json:"ring_version"`
	Healthy     bool   `json:"healthy"`
	Nodes       []struct {
		ID          string `json:"id"`
		ClusterAddr string `json:"cluster_addr"`
		APIAddr     string `json:"api_addr"`
		Online      bool   `json:"online"`
		Drives      []struct {
			ID     string `json:"id"`
			Weight int    `json:"weight"`
			Online bool   `json:"online"`
			Error  string `json:"error,omitempty"`
		} `json:"drives"`
	} `json:"nodes"`
}

// NodeIDs lists the member ids in the status, sorted.
func (s ClusterStatus) NodeIDs() []string {
	var ids []string
	for _, n := range s.Nodes {
		ids = append(ids, n.ID)
	}
	sort.Strings(ids)
	return ids
}

// FreeLoopbackPort returns 127.0.0.1:<port> of a port that was free a
// moment ago (listen on :0, close).
func FreeLoopbackPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// NewCluster prepares a cluster without starting any node.
func NewCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.DrivesPerNode == 0 {
		opts.DrivesPerNode = 1
	}
	if opts.ECData == 0 || opts.ECParity == 0 {
		t.Fatal("harness: ClusterOptions needs ECData and ECParity")
	}
	if opts.Secret == "" {
		opts.Secret = RandomString(32, alnum)
	}
	if opts.MasterKey == "" {
		opts.MasterKey = RandomString(64, "0123456789abcdef")
	}
	if opts.AccessKey == "" {
		opts.AccessKey = RandomString(20, upperAlnum)
	}
	if opts.SecretKey == "" {
		opts.SecretKey = RandomString(40, alnum)
	}
	if opts.Name == "" {
		opts.Name = "node"
	}
	return &Cluster{t: t, opts: opts, removed: map[int]bool{}}
}

// StartCluster starts opts.Nodes nodes one after another (node 1
// bootstraps, each other joins node 1 and must answer /health/ready before
// the next starts), then waits until every node sees all members healthy.
// It fails the test (t must be the test's own) on any error.
func StartCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	c := NewCluster(t, opts)
	for range c.opts.Nodes {
		if _, err := c.AddNode(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitHealthy(time.Minute); err != nil {
		t.Fatalf("cluster did not become healthy: %v", err)
	}
	return c
}

// Options returns the cluster's options (defaults filled).
func (c *Cluster) Options() ClusterOptions { return c.opts }

// Secret is the cluster secret every node shares.
func (c *Cluster) Secret() string { return c.opts.Secret }

// ID is node i's id.
func (c *Cluster) ID(i int) string { return c.opts.Name + strconv.Itoa(i) }

// Len is the number of nodes ever added (including removed ones).
func (c *Cluster) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}

// Node returns node i (1-based); it panics for an unknown index.
func (c *Cluster) Node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 1 || i > len(c.nodes) {
		panic(fmt.Sprintf("harness: no node %d (cluster has %d)", i, len(c.nodes)))
	}
	return c.nodes[i-1]
}

// Index returns the 1-based index of the node with id (0 if unknown).
func (c *Cluster) Index(id string) int {
	for i := 1; i <= c.Len(); i++ {
		if c.ID(i) == id {
			return i
		}
	}
	return 0
}

// ClusterAddr is node i's fixed cluster (Raft and node-to-node) address.
func (c *Cluster) ClusterAddr(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.caddrs[i-1]
}

// Members are the indexes of nodes that were not removed.
func (c *Cluster) Members() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i := 1; i <= len(c.nodes); i++ {
		if !c.removed[i] {
			out = append(out, i)
		}
	}
	return out
}

// Running are the indexes of members whose process is alive.
func (c *Cluster) Running() []int {
	var out []int
	for _, i := range c.Members() {
		if c.Node(i).Running() {
			out = append(out, i)
		}
	}
	return out
}

// NodeOptions returns the options node i would be started with when it
// joins through joinAddr (empty: bootstrap). Tests may alter them to start
// misconfigured nodes with NewNode.
func (c *Cluster) NodeOptions(i int, clusterAddr, joinAddr string) NodeOptions {
	o := c.opts
	args := []string{"--node-id", c.ID(i), "--cluster-address", clusterAddr}
	if o.Advertise != nil {
		if a := o.Advertise(i, clusterAddr); a != "" {
			args = append(args, "--cluster-advertise", a)
		}
	}
	if joinAddr != "" {
		args = append(args, "--join", joinAddr)
	}
	args = append(args, o.ExtraArgs...)
	env := append([]string{ClusterSecretEnv + "=" + o.Secret, MasterKeyEnv + "=" + o.MasterKey}, o.ExtraEnv...)
	return NodeOptions{
		Name:         c.ID(i),
		DriveCount:   o.DrivesPerNode,
		ECData:       o.ECData,
		ECParity:     o.ECParity,
		AccessKey:    o.AccessKey,
		SecretKey:    o.SecretKey,
		LogLevel:     o.LogLevel,
		ExtraArgs:    args,
		ExtraEnv:     env,
		ReadyTimeout: o.ReadyTimeout,
	}
}

// AddNode starts one more node (the first bootstraps; the others join
// node 1, or the first running member when node 1 is down), waits until it
// is ready and returns its index. The process keeps its S3 and cluster
// ports across restarts. Methods that act on processes return errors
// rather than failing the test, so subtests can call them.
func (c *Cluster) AddNode() (int, error) {
	join := ""
	if run := c.Running(); len(run) > 0 {
		join = c.ClusterAddr(run[0])
	}
	caddr := FreeLoopbackPort(c.t)
	c.mu.Lock()
	i := len(c.nodes) + 1
	c.mu.Unlock()
	n := NewNode(c.t, c.NodeOptions(i, caddr, join))
	c.mu.Lock()
	c.nodes = append(c.nodes, n)
	c.caddrs = append(c.caddrs, caddr)
	c.mu.Unlock()
	start := time.Now()
	if err := n.Start(); err != nil {
		return i, fmt.Errorf("%s: start: %w", c.ID(i), err)
	}
	c.t.Logf("cluster: %s ready in %v (S3 %s, cluster %s, join %q)", c.ID(i), time.Since(start).Round(time.Millisecond), n.Addr(), caddr, join)
	return i, nil
}

// Kill sends SIGKILL (kill -9) to node i and waits until the process is
// gone.
func (c *Cluster) Kill(i int) error {
	n := c.Node(i)
	if !n.Running() {
		return nil
	}
	if err := n.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	if !n.waitExit(30 * time.Second) {
		return fmt.Errorf("%s: still running 30s after SIGKILL", c.ID(i))
	}
	return nil
}

// Stop sends SIGTERM to node i and waits for a clean exit (status 0).
func (c *Cluster) Stop(i int) error {
	return c.Node(i).Stop()
}

// Restart stops node i (SIGTERM, if it runs) and starts it again with the
// same flags, ports, data and drives; it rejoins from its own state. It
// returns once the node answers /health/ready.
func (c *Cluster) Restart(i int) error {
	n := c.Node(i)
	if err := n.Stop(); err != nil {
		return err
	}
	start := time.Now()
	if err := n.Start(); err != nil {
		return fmt.Errorf("%s: restart: %w", c.ID(i), err)
	}
	c.t.Logf("cluster: %s restarted, ready in %v", c.ID(i), time.Since(start).Round(time.Millisecond))
	return nil
}

// Admin runs `filesphere admin ARGS… --endpoint <node i>` with the root
// credentials.
func (c *Cluster) Admin(i int, args ...string) Result {
	n := c.Node(i)
	env := []string{"PATH=" + SafePath, "HOME=" + os.TempDir(), "LANG=C.UTF-8",
		"FILESPHERE_ROOT_USER=" + c.opts.AccessKey, "FILESPHERE_ROOT_PASSWORD=" + c.opts.SecretKey}
	bin, err := binary()
	if err != nil {
		return Result{Err: err}
	}
	return RunCommand(30*time.Second, env, os.TempDir(), bin, append(append([]string{"admin"}, args...), n.AdminArgs()...)...)
}

// Status runs `filesphere admin cluster status --json` against node i.
func (c *Cluster) Status(i int) (ClusterStatus, error) {
	var st ClusterStatus
	r := c.Admin(i, "cluster", "status", "--json")
	if r.Err != nil {
		return st, fmt.Errorf("%s: %s", c.ID(i), r)
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		return st, fmt.Errorf("%s: parsing status: %v\n%s", c.ID(i), err, r.Output)
	}
	return st, nil
}

// Leader asks the running members (in order) for the cluster status and
// returns the index of the leader the first answering node reports.
func (c *Cluster) Leader() (int, error) {
	var errs []error
	for _, i := range c.Running() {
		st, err := c.Status(i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Leader == "" {
			errs = append(errs, fmt.Errorf("%s knows no leader", c.ID(i)))
			continue
		}
		j := c.Index(st.Leader)
		if j == 0 {
			return 0, fmt.Errorf("%s reports unknown leader %q", c.ID(i), st.Leader)
		}
		return j, nil
	}
	if len(errs) == 0 {
		return 0, errors.New("no running node")
	}
	return 0, errors.Join(errs...)
}

// WaitLeader polls Leader until a running node is the leader.
func (c *Cluster) WaitLeader(timeout time.Duration) (int, error) {
	var leader int
	err := Eventually(timeout, 50*time.Millisecond, func() error {
		l, err := c.Leader()
		if err != nil {
			return err
		}
		if !c.Node(l).Running() {
			return fmt.Errorf("reported leader %s is not running", c.ID(l))
		}
		leader = l
		return nil
	})
	return leader, err
}

// CheckConverged asks every running member for its status and returns
// nil when they all agree on one running leader and one ring version, and
// each lists exactly the members (all healthy when requireHealthy). It
// returns the statuses by index.
func (c *Cluster) CheckConverged(requireHealthy bool) (map[int]ClusterStatus, error) {
	members := c.Members()
	var want []string
	for _, i := range members {
		want = append(want, c.ID(i))
	}
	sort.Strings(want)
	out := map[int]ClusterStatus{}
	var leader string
	var ring uint64
	run := c.Running()
	if len(run) == 0 {
		return nil, errors.New("no running node")
	}
	for _, i := range run {
		st, err := c.Status(i)
		if err != nil {
			return nil, err
		}
		out[i] = st
		switch {
		case st.Leader == "":
			return nil, fmt.Errorf("%s knows no leader", c.ID(i))
		case leader != "" && st.Leader != leader:
			return nil, fmt.Errorf("leaders disagree: %s says %s, another says %s", c.ID(i), st.Leader, leader)
		case ring != 0 && st.RingVersion != ring:
			return nil, fmt.Errorf("ring versions disagree: %s has %d, another %d", c.ID(i), st.RingVersion, ring)
		case strings.Join(st.NodeIDs(), ",") != strings.Join(want, ","):
			return nil, fmt.Errorf("%s lists members %v, want %v", c.ID(i), st.NodeIDs(), want)
		case requireHealthy && !st.Healthy:
			return nil, fmt.Errorf("%s reports the cluster unhealthy", c.ID(i))
		}
		leader, ring = st.Leader, st.RingVersion
	}
	if l := c.Index(leader); l == 0 || !c.Node(l).Running() {
		return nil, fmt.Errorf("leader %q is not a running member", leader)
	}
	return out, nil
}

// WaitHealthy polls until every member runs and all of them agree on a
// leader, a ring version and the member list, and report all healthy.
func (c *Cluster) WaitHealthy(timeout time.Duration) error {
	return Eventually(timeout, 100*time.Millisecond, func() error {
		for _, i := range c.Members() {
			if !c.Node(i).Running() {
				return Permanent(fmt.Errorf("%s is not running", c.ID(i)))
			}
		}
		_, err := c.CheckConverged(true)
		return err
	})
}

// Remove runs `filesphere admin cluster remove <id of node j>` through
// node via and marks j removed.
func (c *Cluster) Remove(via, j int) Result {
	r := c.Admin(via, "cluster", "remove", c.ID(j))
	if r.Err == nil {
		c.mu.Lock()
		c.removed[j] = true
		c.mu.Unlock()
	}
	return r
}
