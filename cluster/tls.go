package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/pki"
	"github.com/filesphere/filesphere/cluster/rpc"
)

// The node-to-node port runs mutual TLS with certificates of a cluster CA.
//
//   - The CA is created by the node that bootstraps the cluster. Its key is
//     sealed under the cluster secret (pki.CA.Seal: scrypt + AES-GCM) and
//     kept in the replicated metadata under keyCA, so any member, which
//     holds the secret, can issue certificates; a copy of the metadata
//     without the secret does not open it. Until the sealed CA is committed
//     the creating node keeps it in its TLS folder (pki.SealedCAFile).
//   - A joining node makes its own key and asks a member, proving the
//     secret, to sign a request for it (rpc.Enroll); the answer is bound to
//     the secret, so the joiner learns the CA safely.
//   - Each node's certificate is valid for Config.CertValidity and renewed
//     by the node itself from the sealed CA before it ends (or on
//     RotateCertificate); the new one serves the next handshakes, open
//     connections keep theirs.
//
// The shared-secret checks stay behind the certificates (the Raft
// challenge, the signature on every RPC request) as a second factor: a
// certificate and key copied off a node's disk are not enough without the
// secret, and the RPC signature is what binds a streamed shard's footer.
//
// Certificates are issued and checked on the wall clock, which peers use to
// verify them, not on Config.Now.

// keyCA holds the sealed cluster CA.
const keyCA = meta.PrefixCluster + "tls/ca"

// ErrNoClusterCA is returned when a node has cluster state from before
// mutual TLS (no certificate) in a cluster of several nodes: it cannot make
// a CA the others would share.
var ErrNoClusterCA = errors.New("cluster: no cluster CA")

func (n *Node) tlsDir() string { return filepath.Join(n.cfg.DataDir, "tls") }

// hosts are the names this node's certificate lists (its advertise host).
func (n *Node) hosts() []string {
	h, _, err := net.SplitHostPort(n.advertise)
	if err != nil || h == "" {
		return nil
	}
	return []string{h}
}

// prepareIdentity gives the node its TLS identity before it listens.
func (n *Node) prepareIdentity(ctx context.Context) error {
	dir := n.tlsDir()
	if !n.hasState && n.cfg.Join == "" {
		// A new cluster gets a new CA, whatever files a crashed earlier
		// attempt left.
		return n.createCA("bootstrapping a new cluster")
	}
	files, err := pki.LoadFiles(dir)
	if err == nil {
		id, err := pki.NewIdentity(files.CA, files.Cert, files.Key, n.cfg.NodeID)
		switch {
		case errors.Is(err, pki.ErrForeignCertificate):
			return fmt.Errorf("cluster: the node certificate in %s was not issued by the CA in %s: %w", dir, pki.CAFile, err)
		case err != nil && n.hasState:
			// A pair torn by a crash during renewal: issue a new one.
			n.log.WithError(err).Warn("node certificate unusable; issuing a new one from the cluster CA")
			return n.issueFromState(ctx)
		case err != nil:
			return fmt.Errorf("cluster: node certificate in %s: %w", dir, err)
		}
		if err := n.checkSameCA(id); err != nil {
			return err
		}
		if !n.hasState && id.NeedsRenewal(time.Now(), 0) {
			// Enrolled once, never joined, and expired since: ask again.
			return n.enroll(ctx)
		}
		n.identity = id
		if n.hasState && id.NeedsRenewal(time.Now(), n.cfg.CertRenewBefore) {
			// Down for long: renew before peers see an expired certificate.
			if err := n.RotateCertificate(); err != nil {
				n.log.WithError(err).Error("renewing the node certificate")
			}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if !n.hasState {
		return n.enroll(ctx)
	}
	return n.issueFromState(ctx)
}

// checkSameCA refuses certificate files of another CA than the one in this
// node's replicated state.
func (n *Node) checkSameCA(id *pki.Identity) error {
	e, err := n.fsm.Get(keyCA)
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := pki.CertOfSealed(e.Value)
	if err != nil {
		return err
	}
	if !c.Equal(id.CA()) {
		return fmt.Errorf("cluster: the CA in %s is not this cluster's CA: %w", n.tlsDir(), pki.ErrForeignCertificate)
	}
	return nil
}

// createCA makes a cluster CA and this node's certificate from it, and
// keeps the sealed CA in the TLS folder until publishCA commits it.
func (n *Node) createCA(why string) error {
	ca, err := pki.NewCA(time.Now())
	if err != nil {
		return err
	}
	sealed, err := ca.Seal(n.cfg.Secret)
	if err != nil {
		return err
	}
	if err := pki.SaveSealedCA(n.tlsDir(), sealed); err != nil {
		return err
	}
	n.ca.Store(ca)
	n.log.WithField("reason", why).Info("created the cluster CA")
	return n.issue(ca)
}

// issue makes a fresh key and certificate for this node from ca, saves them
// and installs them (swapping without a restart when running).
func (n *Node) issue(ca *pki.CA) error {
	csr, key, err := pki.NewRequest(n.cfg.NodeID, n.hosts())
	if err != nil {
		return err
	}
	cert, err := ca.Sign(csr, n.cfg.NodeID, n.cfg.CertValidity, time.Now())
	if err != nil {
		return err
	}
	return n.install(pki.Files{CA: ca.CertPEM(), Cert: cert, Key: key})
}

func (n *Node) install(f pki.Files) error {
	n.idMu.Lock()
	defer n.idMu.Unlock()
	if n.identity != nil {
		if err := n.identity.Swap(f.Cert, f.Key, n.cfg.NodeID); err != nil {
			return err
		}
	} else {
		id, err := pki.NewIdentity(f.CA, f.Cert, f.Key, n.cfg.NodeID)
		if err != nil {
			return err
		}
		n.identity = id
	}
	return pki.SaveFiles(n.tlsDir(), f)
}

// issueFromState covers a node with cluster state but no usable
// certificate: it issues one from the sealed CA in its state; a cluster
// from before mutual TLS gets a CA now if this node is its only member, and
// is refused otherwise.
func (n *Node) issueFromState(ctx context.Context) error {
	ca, err := n.loadCA()
	if err == nil {
		return n.issue(ca)
	}
	if !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	recs, err := n.fsm.List(keyNodes, "", 0)
	if err != nil {
		return err
	}
	for _, e := range recs {
		if e.Key != keyNodes+n.cfg.NodeID {
			return fmt.Errorf("%w: this node's cluster state predates node-to-node TLS and the cluster has other members (%s); "+
				"a multi-node cluster from before this version cannot be upgraded in place: start a new cluster and copy the data over S3", ErrNoClusterCA, e.Key[len(keyNodes):])
		}
	}
	return n.createCA("upgrading a single-node cluster from before node-to-node TLS")
}

// loadCA returns the opened cluster CA: from memory, else from the
// replicated state (or the folder of the node that created it), opened with
// the secret. A missing CA is meta.ErrNotFound.
func (n *Node) loadCA() (*pki.CA, error) {
	if ca := n.ca.Load(); ca != nil {
		return ca, nil
	}
	var blob []byte
	e, err := n.fsm.Get(keyCA)
	switch {
	case err == nil:
		blob = e.Value
	case errors.Is(err, meta.ErrNotFound):
		b, ferr := os.ReadFile(filepath.Join(n.tlsDir(), pki.SealedCAFile))
		if ferr != nil {
			return nil, err
		}
		blob = b
	default:
		return nil, err
	}
	ca, err := pki.OpenCA(blob, n.cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("cluster: opening the cluster CA: %w", err)
	}
	n.ca.Store(ca)
	return ca, nil
}

// publishCA commits the sealed CA this node created, once there is a
// leader; it is a no-op when the CA is already in the replicated state.
func (n *Node) publishCA(ctx context.Context) error {
	path := filepath.Join(n.tlsDir(), pki.SealedCAFile)
	sealed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = n.kv.Txn(ctx, meta.Txn{Compares: []meta.Compare{{Key: keyCA}}, Ops: []meta.Op{meta.Put(keyCA, sealed)}})
	var cf *meta.CompareFailedError
	if errors.As(err, &cf) {
		e, gerr := n.kv.Get(ctx, keyCA)
		if gerr != nil {
			return gerr
		}
		c, perr := pki.CertOfSealed(e.Value)
		if perr != nil {
			return perr
		}
		if !c.Equal(n.identity.CA()) {
			return fmt.Errorf("cluster: the replicated state holds another cluster CA than %s: %w", path, pki.ErrForeignCertificate)
		}
		err = nil
	}
	if err != nil {
		return err
	}
	n.log.Info("cluster CA committed to the replicated state")
	return os.Remove(path)
}

// enroll obtains this joining node's certificate from the member at the
// join address, retrying while it cannot be reached.
func (n *Node) enroll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.JoinTimeout)
	defer cancel()
	csr, key, err := pki.NewRequest(n.cfg.NodeID, n.hosts())
	if err != nil {
		return err
	}
	// Signed on the wall clock, as every RPC request is.
	cfg := rpc.EnrollConfig{Secret: n.cfg.Secret, NodeID: n.cfg.NodeID, CSR: csr, Timeout: 30 * time.Second, Now: time.Now}
	for {
		got, err := rpc.Enroll(ctx, n.cfg.Join, cfg)
		if err == nil {
			n.log.WithField("via", n.cfg.Join).Info("received this node's certificate from the cluster CA")
			return n.install(pki.Files{CA: got.CA, Cert: got.Cert, Key: key})
		}
		switch {
		case errors.Is(err, rpc.ErrUnauthorized):
			return fmt.Errorf("cluster: %s refused this node: wrong cluster secret: %w", n.cfg.Join, err)
		case errors.Is(err, rpc.ErrProtocol):
			return fmt.Errorf("cluster: %s did not prove the cluster secret; not joining: %w", n.cfg.Join, err)
		}
		n.log.WithError(err).WithField("via", n.cfg.Join).Warn("asking for a certificate failed; retrying")
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: asking %s for a certificate: %w (last error: %v)", n.cfg.Join, ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

// tlsRefused reports a handshake that failed on certificates: this node
// could not verify the peer's, or the peer refused this node's (a TLS
// alert). Retrying does not help.
func tlsRefused(err error) bool {
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// SignNodeCertificate implements rpc.CertService: it signs a joining
// node's request with the cluster CA.
func (n *Node) SignNodeCertificate(_ context.Context, nodeID string, csr []byte) ([]byte, []byte, error) {
	ca, err := n.loadCA()
	if err != nil {
		return nil, nil, err
	}
	cert, err := ca.Sign(csr, nodeID, n.cfg.CertValidity, time.Now())
	if errors.Is(err, pki.ErrBadRequest) {
		return nil, nil, fmt.Errorf("%w: %v", rpc.ErrBadRequest, err)
	}
	if err != nil {
		return nil, nil, err
	}
	n.log.WithField("node", nodeID).Info("issued a node certificate")
	return ca.CertPEM(), cert, nil
}

// RotateCertificate replaces this node's key and certificate now, without
// a restart: new connections use the new certificate.
func (n *Node) RotateCertificate() error {
	ca, err := n.loadCA()
	if err != nil {
		return fmt.Errorf("cluster: rotating the node certificate: %w", err)
	}
	if err := n.issue(ca); err != nil {
		return fmt.Errorf("cluster: rotating the node certificate: %w", err)
	}
	n.log.WithField("not_after", n.identity.Leaf().NotAfter.UTC().Format(time.RFC3339)).Info("node certificate rotated")
	return nil
}

// Certificate is this node's current certificate.
func (n *Node) Certificate() CertificateInfo {
	leaf := n.identity.Leaf()
	return CertificateInfo{NotAfter: leaf.NotAfter, Serial: leaf.SerialNumber.Text(16), CAFile: filepath.Join(n.tlsDir(), pki.CAFile)}
}

// CertificateInfo describes a node certificate.
type CertificateInfo struct {
	NotAfter time.Time
	Serial   string
	CAFile   string
}

// certLoop commits a pending CA and renews the certificate before it ends.
func (n *Node) certLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.CertCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := n.publishCA(ctx); err != nil {
			n.log.WithError(err).Warn("committing the cluster CA")
		}
		cancel()
		if n.identity.NeedsRenewal(time.Now(), n.cfg.CertRenewBefore) {
			if err := n.RotateCertificate(); err != nil {
				n.log.WithError(err).Error("renewing the node certificate")
			}
		}
	}
}
