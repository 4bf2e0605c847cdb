package cluster

import (
	"errors"
	"time"

	"github.com/filesphere/filesphere/storage/drive"
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
	// Now and After are the clock of the membership loop: refreshes wait
	// on After, and liveness measures silence with Now, so tests drive
	// lost-after with a fake clock. Network timeouts and retries use real
	// time.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// CertValidity is how long a node certificate from the cluster CA is
	// valid; a node renews its own CertRenewBefore its end, checking every
	// CertCheckInterval (see tls.go).
	CertValidity      time.Duration
	CertRenewBefore   time.Duration
	CertCheckInterval time.Duration
}

// DefaultConfig returns defaults for the optional fields.
func DefaultConfig() Config {
	return Config{RefreshInterval: 500 * time.Millisecond, JoinTimeout: 2 * time.Minute, LostAfter: 5 * time.Minute,
		Now: time.Now, After: time.After,
		CertValidity: 90 * 24 * time.Hour, CertRenewBefore: 30 * 24 * time.Hour, CertCheckInterval: time.Hour}
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
	case c.Now == nil || c.After == nil:
		return errors.New("cluster: clock (Now, After) required")
	case c.CertValidity <= 0 || c.CertRenewBefore <= 0 || c.CertRenewBefore >= c.CertValidity || c.CertCheckInterval <= 0:
		return errors.New("cluster: certificate validity, renewal and check interval must be positive, renewal shorter than validity")
	}
	return nil
}
