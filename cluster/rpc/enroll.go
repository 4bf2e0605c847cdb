package rpc

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/filesphere/filesphere/cluster/pki"
)

// Enrollment: how a joining node gets its certificate. It has none yet and
// does not know the cluster CA, so it connects over TLS without verifying
// the server, and everything it relies on is bound to the cluster secret
// instead:
//
//   - the request carries the usual signature (auth.go) and, in its body,
//     a MAC over that signature and the hash of the certificate request, so
//     a man in the middle cannot swap in a request for its own key;
//   - the answer (the CA certificate and the node's certificate) carries a
//     MAC over the request signature and both certificates, so only a
//     holder of the secret can answer;
//   - the joiner then checks that the server it talked to presented a
//     certificate of that CA, and that the certificate is for its own key.
//
// From then on it dials peers with mutual TLS only. A party without the
// secret learns nothing it could use; a party that can intercept the
// joiner's first connection could try to guess a weak secret offline from
// the MACs, so the cluster secret should be long and random.
const certificatePath = "cluster/certificate"

// CertService signs a joining node's certificate request: nodeID is the
// node the request authenticated as; the answer is the CA certificate and
// the node's certificate (PEM).
type CertService interface {
	SignNodeCertificate(ctx context.Context, nodeID string, csrDER []byte) (caPEM, certPEM []byte, err error)
}

type enrollRequest struct {
	CSR []byte `json:"csr"` // DER
	MAC string `json:"mac"`
}

type enrollResponse struct {
	CA   []byte `json:"ca"`   // PEM
	Cert []byte `json:"cert"` // PEM
	MAC  string `json:"mac"`
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (s signer) enrollRequestMAC(reqSig string, csr []byte) string {
	return s.mac(signingScheme+"-enroll", reqSig, hashHex(csr))
}

func (s signer) enrollResponseMAC(reqSig string, ca, cert []byte) string {
	return s.mac(signingScheme+"-enrolled", reqSig, hashHex(ca), hashHex(cert))
}

func (s *Server) handleCertificate(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Certs == nil {
		s.writeError(w, fmt.Errorf("%w: node %s issues no certificates", ErrNotImplemented, s.cfg.NodeID))
		return
	}
	b, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	var req enrollRequest
	if err := json.Unmarshal(b, &req); err != nil {
		s.writeError(w, fmt.Errorf("%w: certificate request: %v", ErrBadRequest, err))
		return
	}
	info, _ := r.Context().Value(ctxKey{}).(reqInfo)
	if !hmac.Equal([]byte(req.MAC), []byte(s.auth.enrollRequestMAC(info.sig, req.CSR))) {
		s.log.WithFields(logrus.Fields{"remote": r.RemoteAddr, "claimed_node": info.node}).Warn("rpc: refused: certificate request body not signed with the cluster secret")
		s.writeError(w, fmt.Errorf("%w: certificate request body not signed", ErrUnauthorized))
		return
	}
	ca, cert, err := s.cfg.Certs.SignNodeCertificate(r.Context(), info.node, req.CSR)
	if err != nil {
		s.writeError(w, err)
		return
	}
	s.log.WithField("node", info.node).Info("rpc: issued a node certificate")
	s.writeJSON(w, enrollResponse{CA: ca, Cert: cert, MAC: s.auth.enrollResponseMAC(info.sig, ca, cert)})
}

// EnrollConfig describes a joining node's certificate request.
type EnrollConfig struct {
	Secret []byte
	NodeID string
	// CSR is the certificate request (DER) for the node's new key; the
	// issued certificate must carry that key.
	CSR []byte
	// Timeout bounds the whole exchange.
	Timeout time.Duration
	Now     func() time.Time
}

// Enrollment is what a joining node receives: the cluster CA and its own
// certificate, both PEM.
type Enrollment struct {
	CA, Cert []byte
}

// Enroll asks the member at addr (host:port) to sign cfg.CSR. A wrong
// secret on either side gives an error matching ErrUnauthorized; an answer
// not bound to the secret, or from a server without a certificate of the
// CA it sends, one matching ErrProtocol.
func Enroll(ctx context.Context, addr string, cfg EnrollConfig) (Enrollment, error) {
	if len(cfg.Secret) < MinSecretLength || cfg.NodeID == "" || len(cfg.CSR) == 0 || cfg.Now == nil {
		return Enrollment{}, errors.New("rpc: enroll: secret, node id, request, key and clock required")
	}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	var p http.Protocols
	p.SetHTTP2(true)
	tr := &http.Transport{
		Protocols: &p,
		// The joiner cannot verify the server yet: it learns the CA from the
		// answer, which is authenticated by the secret; the server's
		// certificate is checked against that CA below.
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, NextProtos: []string{"h2"}},
	}
	defer tr.CloseIdleConnections()
	auth := signer{secret: cfg.Secret}
	url := "https://" + addr + PathPrefix + certificatePath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return Enrollment{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	// The body MAC is bound to the request signature, which covers the
	// body's length: sign with the length first, then fill in the body.
	placeholder, _ := json.Marshal(enrollRequest{CSR: cfg.CSR, MAC: auth.enrollRequestMAC("", cfg.CSR)})
	req.ContentLength = int64(len(placeholder))
	sig := auth.sign(req, cfg.NodeID, cfg.Now())
	body, _ := json.Marshal(enrollRequest{CSR: cfg.CSR, MAC: auth.enrollRequestMAC(sig, cfg.CSR)})
	if len(body) != len(placeholder) {
		return Enrollment{}, errors.New("rpc: enroll: request length changed while signing")
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return Enrollment{}, fmt.Errorf("rpc: enroll via %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Enrollment{}, fmt.Errorf("rpc: enroll via %s: %w", addr, readError("https://"+addr, resp))
	}
	var er enrollResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&er); err != nil {
		return Enrollment{}, fmt.Errorf("rpc: enroll via %s: %w: %v", addr, ErrProtocol, err)
	}
	if !hmac.Equal([]byte(er.MAC), []byte(auth.enrollResponseMAC(sig, er.CA, er.Cert))) {
		return Enrollment{}, fmt.Errorf("rpc: enroll via %s: %w: the answer is not signed with the cluster secret", addr, ErrProtocol)
	}
	if err := pki.VerifyServer(resp.TLS, er.CA); err != nil {
		return Enrollment{}, fmt.Errorf("rpc: enroll via %s: %w: %v", addr, ErrProtocol, err)
	}
	if err := pki.MatchesRequest(er.Cert, cfg.CSR, cfg.NodeID); err != nil {
		return Enrollment{}, fmt.Errorf("rpc: enroll via %s: %w: %v", addr, ErrProtocol, err)
	}
	return Enrollment{CA: er.CA, Cert: er.Cert}, nil
}

// checkPeer requires a verified client certificate naming node, the node
// the request's signature claims.
func checkPeer(r *http.Request, node string) error {
	got, ok := pki.PeerNode(r.TLS)
	switch {
	case !ok:
		return errors.New("a client certificate of the cluster CA is required")
	case got != node:
		return fmt.Errorf("the client certificate is for node %q, the request claims %q", got, node)
	}
	return nil
}
