package s3api

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/filesphere/filesphere/storage"
)

var algorithms = []storage.ChecksumAlgorithm{
	storage.ChecksumCRC32, storage.ChecksumCRC32C, storage.ChecksumSHA1,
	storage.ChecksumSHA256, storage.ChecksumCRC64NVME,
}

func checksumHeader(alg storage.ChecksumAlgorithm) string {
	return "X-Amz-Checksum-" + strings.ToLower(string(alg))
}

func parseAlgorithm(s string) (storage.ChecksumAlgorithm, bool) {
	a := storage.ChecksumAlgorithm(strings.ToUpper(s))
	return a, storage.NewChecksumHash(a) != nil
}

// checksumSpec is what a request says about its payload's checksums.
type checksumSpec struct {
	md5       []byte // Content-MD5, decoded
	alg       storage.ChecksumAlgorithm
	want      string // from a header; "" when it comes in a trailer or not at all
	inTrailer bool
}

// parseChecksums reads Content-MD5, x-amz-checksum-*, x-amz-trailer and
// x-amz-sdk-checksum-algorithm. At most one algorithm may be named.
func parseChecksums(h http.Header) (checksumSpec, error) {
	var cs checksumSpec
	if v := h.Get("Content-Md5"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != md5.Size {
			return cs, apiErr(ErrInvalidDigest, "")
		}
		cs.md5 = b
	}
	for _, a := range algorithms {
		v := h.Get(checksumHeader(a))
		if v == "" {
			continue
		}
		if cs.alg != "" {
			return cs, apiErr(ErrInvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		if !validChecksumValue(a, v) {
			return cs, apiErr(ErrInvalidRequest, fmt.Sprintf("Value for %s header is invalid.", strings.ToLower(checksumHeader(a))))
		}
		cs.alg, cs.want = a, v
	}
	if t := h.Get("X-Amz-Trailer"); t != "" {
		name, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(t)), "x-amz-checksum-")
		a, valid := parseAlgorithm(name)
		if !ok || !valid {
			return cs, apiErr(ErrInvalidRequest, "The value specified in the x-amz-trailer header is not supported.")
		}
		if cs.alg != "" && cs.alg != a {
			return cs, apiErr(ErrInvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		cs.alg, cs.inTrailer = a, true
	}
	if v := h.Get("X-Amz-Sdk-Checksum-Algorithm"); v != "" && cs.alg == "" {
		a, ok := parseAlgorithm(v)
		if !ok {
			return cs, apiErr(ErrInvalidRequest, "Checksum algorithm provided is unsupported.")
		}
		cs.alg = a
	}
	return cs, nil
}

func validChecksumValue(a storage.ChecksumAlgorithm, v string) bool {
	b, err := base64.StdEncoding.DecodeString(v)
	return err == nil && len(b) == storage.NewChecksumHash(a).Size()
}

// verifyingReader checks a payload while it streams: its byte count, its
// Content-MD5 and its x-amz-checksum. A mismatch is returned in place of
// io.EOF, so the storage layer aborts before anything becomes visible. Its
// hashes live in one storage.Digest, which can also compute what the
// engine records (ETag, content SHA-256), so each byte is hashed once per
// algorithm.
type verifyingReader struct {
	r        io.Reader
	spec     checksumSpec
	d        *storage.Digest
	expect   int64 // -1 unknown
	limit    int64 // with expect unknown, the most bytes accepted; 0 none
	n        int64
	trailer  func() http.Header
	out      *storage.Checksum // filled at EOF
	finished bool
}

// newVerifyingReader verifies only: it hashes what the request names.
func newVerifyingReader(r io.Reader, size int64, spec checksumSpec, trailer func() http.Header) *verifyingReader {
	return newDigestingReader(r, size, spec, trailer, storage.DigestSpec{})
}

// newDigestingReader verifies, and its Digest also computes what ds asks
// for, for the engine.
func newDigestingReader(r io.Reader, size int64, spec checksumSpec, trailer func() http.Header, ds storage.DigestSpec) *verifyingReader {
	ds.MD5 = ds.MD5 || spec.md5 != nil
	ds.Checksum = spec.alg
	return &verifyingReader{r: r, spec: spec, d: storage.NewDigest(ds), expect: size, trailer: trailer, out: &storage.Checksum{}}
}

// errBodyTooLarge is returned when a body runs past its declared size.
var errBodyTooLarge = errors.New("s3api: body longer than declared")

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.finished {
		return 0, io.EOF
	}
	n, err := v.r.Read(p)
	if n > 0 {
		v.n += int64(n)
		v.d.Write(p[:n])
		if v.expect >= 0 && v.n > v.expect {
			return 0, errBodyTooLarge
		}
		if v.expect < 0 && v.limit > 0 && v.n > v.limit {
			return 0, apiErr(ErrEntityTooLarge, "")
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return n, apiErr(ErrIncompleteBody, "")
	}
	if err == io.EOF {
		if ferr := v.finish(); ferr != nil {
			return n, ferr
		}
		v.finished = true
	}
	return n, err
}

func (v *verifyingReader) finish() error {
	if v.expect >= 0 && v.n != v.expect {
		return apiErr(ErrIncompleteBody, "")
	}
	if v.spec.md5 != nil && !bytes.Equal(v.d.MD5(), v.spec.md5) {
		return apiErr(ErrBadDigest, "The Content-MD5 you specified did not match what we received.")
	}
	if v.spec.alg == "" {
		return nil
	}
	got := base64.StdEncoding.EncodeToString(v.d.Checksum())
	want := v.spec.want
	if v.spec.inTrailer {
		var h http.Header
		if v.trailer != nil {
			h = v.trailer()
		}
		want = h.Get(checksumHeader(v.spec.alg))
		if want == "" || !validChecksumValue(v.spec.alg, want) {
			return apiErr(ErrInvalidRequest, "The trailing checksum was missing or malformed.")
		}
	}
	if want != "" && want != got {
		return apiErr(ErrBadDigest, fmt.Sprintf("The %s you specified did not match the calculated checksum.", v.spec.alg))
	}
	*v.out = storage.Checksum{Algorithm: v.spec.alg, Value: got, Type: "FULL_OBJECT"}
	return nil
}

// checksum returns the verified checksum pointer handed to storage; it is
// filled when the body reaches EOF, before storage commits.
func (v *verifyingReader) checksum() *storage.Checksum { return v.out }

// digest returns the body's Digest for the engine; complete at EOF.
func (v *verifyingReader) digest() *storage.Digest { return v.d }

// setChecksumHeaders writes stored checksums as response headers.
func setChecksumHeaders(h http.Header, sums []storage.Checksum) {
	for _, c := range sums {
		h.Set(checksumHeader(c.Algorithm), c.Value)
		if c.Type != "" {
			h.Set("X-Amz-Checksum-Type", c.Type)
		}
	}
}

func checksumXML(sums []storage.Checksum) checksumFields {
	var f checksumFields
	for _, c := range sums {
		switch c.Algorithm {
		case storage.ChecksumCRC32:
			f.ChecksumCRC32 = c.Value
		case storage.ChecksumCRC32C:
			f.ChecksumCRC32C = c.Value
		case storage.ChecksumSHA1:
			f.ChecksumSHA1 = c.Value
		case storage.ChecksumSHA256:
			f.ChecksumSHA256 = c.Value
		case storage.ChecksumCRC64NVME:
			f.ChecksumCRC64NVME = c.Value
		}
		f.ChecksumType = c.Type
	}
	return f
}

// checksums lists the checksums a part names in CompleteMultipartUpload.
func (f checksumFields) checksums() []storage.Checksum {
	var out []storage.Checksum
	for _, c := range []struct {
		alg storage.ChecksumAlgorithm
		v   string
	}{
		{storage.ChecksumCRC32, f.ChecksumCRC32}, {storage.ChecksumCRC32C, f.ChecksumCRC32C},
		{storage.ChecksumSHA1, f.ChecksumSHA1}, {storage.ChecksumSHA256, f.ChecksumSHA256},
		{storage.ChecksumCRC64NVME, f.ChecksumCRC64NVME},
	} {
		if c.v != "" {
			out = append(out, storage.Checksum{Algorithm: c.alg, Value: c.v})
		}
	}
	return out
}

// objectChecksum reads the x-amz-checksum-* header of a
// CompleteMultipartUpload: the client's checksum of the whole object,
// composite (optionally suffixed with "-<parts>") or full-object; the
// engine compares it as the upload's type says.
func objectChecksum(h http.Header) (*storage.Checksum, error) {
	var sum *storage.Checksum
	for _, a := range algorithms {
		v := h.Get(checksumHeader(a))
		if v == "" {
			continue
		}
		if sum != nil {
			return nil, apiErr(ErrInvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		value, _, _ := strings.Cut(v, "-")
		if !validChecksumValue(a, value) {
			return nil, apiErr(ErrInvalidRequest, fmt.Sprintf("Value for %s header is invalid.", strings.ToLower(checksumHeader(a))))
		}
		sum = &storage.Checksum{Algorithm: a, Value: v}
	}
	return sum, nil
}
