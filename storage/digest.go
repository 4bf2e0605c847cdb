package storage

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"hash"
	"io"

	"github.com/minio/sha256-simd"
)

// DigestSpec says what a Digest computes.
type DigestSpec struct {
	// MD5 is the ETag of a PUT or part (and what Content-MD5 is checked
	// against); SHA256 the content hash the engine records per stream.
	MD5, SHA256 bool
	// Checksum is an S3 checksum to compute as well ("" for none). A
	// SHA256 checksum shares the SHA-256.
	Checksum ChecksumAlgorithm
	// SignedSHA256 is the body's SHA-256 when it is known up front and
	// checked by the reader the Digest is fed from before that reader
	// returns io.EOF: a SigV4 signed payload (x-amz-content-sha256). The
	// bytes are then not hashed with SHA-256 a second time.
	SignedSHA256 []byte
}

// Digest hashes a body once per algorithm as it streams: the protocol
// layer's verifying reader feeds it and checks Content-MD5 and checksums
// with it, and the engine takes the ETag and content hash from it
// (PutOptions.Digest) instead of hashing the same bytes again. Its sums are
// final once the body returned io.EOF. Not safe for concurrent use.
type Digest struct {
	spec   DigestSpec
	md5    hash.Hash
	sha256 hash.Hash // nil when not wanted or signed
	sum    hash.Hash // the checksum's own hash; nil when none or shared
	ws     []io.Writer
	n      int64
}

// NewDigest returns a Digest computing what spec asks for.
func NewDigest(spec DigestSpec) *Digest {
	if len(spec.SignedSHA256) != sha256.Size {
		spec.SignedSHA256 = nil
	}
	d := &Digest{spec: spec}
	if spec.MD5 {
		d.md5 = md5.New()
		d.ws = append(d.ws, d.md5)
	}
	shaWanted := spec.SHA256 || spec.Checksum == ChecksumSHA256
	if shaWanted && spec.SignedSHA256 == nil {
		d.sha256 = sha256.New()
		d.ws = append(d.ws, d.sha256)
	}
	if spec.Checksum != "" && spec.Checksum != ChecksumSHA256 {
		if d.sum = NewChecksumHash(spec.Checksum); d.sum != nil {
			d.ws = append(d.ws, d.sum)
		}
	}
	return d
}

// newContentDigest is what the engine computes itself when the caller
// gives no Digest.
func newContentDigest() *Digest { return NewDigest(DigestSpec{MD5: true, SHA256: true}) }

// Write hashes p with every algorithm asked for, once each.
func (d *Digest) Write(p []byte) (int, error) {
	for _, w := range d.ws {
		_, _ = w.Write(p) // hash.Hash never fails
	}
	d.n += int64(len(p))
	return len(p), nil
}

// Len returns how many bytes were written.
func (d *Digest) Len() int64 { return d.n }

// MD5 returns the MD5 of the bytes written, nil if not computed.
func (d *Digest) MD5() []byte {
	if d.md5 == nil {
		return nil
	}
	return d.md5.Sum(nil)
}

// SHA256 returns the SHA-256 of the bytes written (for a signed payload,
// the signed hash, which the reader below verified before io.EOF), nil if
// not computed.
func (d *Digest) SHA256() []byte {
	switch {
	case d.spec.SignedSHA256 != nil && (d.spec.SHA256 || d.spec.Checksum == ChecksumSHA256):
		return bytes.Clone(d.spec.SignedSHA256)
	case d.sha256 != nil:
		return d.sha256.Sum(nil)
	}
	return nil
}

// Checksum returns the raw S3 checksum of spec.Checksum, nil if none.
func (d *Digest) Checksum() []byte {
	switch {
	case d.spec.Checksum == ChecksumSHA256:
		return d.SHA256()
	case d.sum != nil:
		return d.sum.Sum(nil)
	}
	return nil
}

// ChecksumAlgorithm returns spec.Checksum.
func (d *Digest) ChecksumAlgorithm() ChecksumAlgorithm { return d.spec.Checksum }

// content reports whether d gives what the engine records: MD5 and SHA-256.
func (d *Digest) content() bool {
	return d != nil && d.md5 != nil && (d.sha256 != nil || (d.spec.SHA256 && d.spec.SignedSHA256 != nil))
}

// setDigest records a finished body's ETag and content hash.
func (d *dataRecord) setDigest(dg *Digest) {
	d.ETag, d.SHA256 = quotedMD5(dg.MD5()), hex.EncodeToString(dg.SHA256())
}
