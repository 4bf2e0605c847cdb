package sigv4

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const (
	// maxChunkSize bounds one signed aws-chunked chunk. A signed chunk is
	// buffered whole until its signature is checked, so this is the
	// per-request memory bound; SDKs sign 64 KiB to 1 MiB chunks. Unsigned
	// chunks (the SDKs' trailer checksums) stream through at any size:
	// aws-sdk-go-v2 sends a whole object as one chunk.
	maxChunkSize = 16 << 20
	// maxLineLen bounds chunk-size and trailer lines (a signed size line is
	// under 100 bytes).
	maxLineLen = 4 << 10
	// maxTrailerLines bounds the trailer section, blank lines included.
	maxTrailerLines = 64
	// initialChunkBuf is the first allocation for chunk data; the buffer then
	// grows as bytes actually arrive, so a client declaring a 16 MiB chunk
	// and sending nothing costs nothing.
	initialChunkBuf = 32 << 10

	trailerSignatureName = "x-amz-trailer-signature"
)

// chunkChain is the state shared by chunk and trailer signatures: the
// signing key, the request timestamp and scope, and the previous signature
// (the seed signature of the request at first).
type chunkChain struct {
	key     []byte
	amzDate string
	scope   string
	prev    string // hex
}

// chunkedReader decodes an aws-chunked body:
//
//	hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n
//
// followed by "\r\n" (Streaming) or trailer lines (trailer modes). A signed
// chunk's data is released only after its signature verified; unsigned
// chunks stream through. io.EOF comes only after the length, the final
// chunk and the trailers verified.
type chunkedReader struct {
	src     io.ReadCloser
	br      *bufio.Reader
	mode    PayloadMode
	chain   *chunkChain // nil for unsigned chunks
	want    int64       // x-amz-decoded-content-length
	got     int64
	names   []string // declared in x-amz-trailer
	buf     []byte
	off     int
	left    int64 // bytes of the current unsigned chunk still to stream
	chunks  int
	done    bool
	err     error
	trailer http.Header
}

func newChunkedReader(src io.ReadCloser, mode PayloadMode, decodedLen int64, trailerNames []string, chain *chunkChain) *chunkedReader {
	return &chunkedReader{
		src:   src,
		br:    bufio.NewReaderSize(src, maxLineLen),
		mode:  mode,
		chain: chain,
		want:  decodedLen,
		names: trailerNames,
	}
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for c.off >= len(c.buf) && c.left == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.done {
			return 0, io.EOF
		}
		if c.err = c.next(); c.err != nil {
			// Nothing of a chunk that failed any check is released.
			c.buf, c.off, c.left = c.buf[:0], 0, 0
		}
	}
	if c.left > 0 {
		return c.stream(p)
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

// stream reads from the current unsigned chunk straight into p.
func (c *chunkedReader) stream(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	c.got += int64(n)
	if err != nil && (err != io.EOF || c.left > 0) {
		c.err, c.left = c.srcErr(err, "chunk data"), 0
		return n, c.err
	}
	if c.left == 0 {
		if err := c.readCRLF(); err != nil {
			c.err = err
			return n, err
		}
	}
	return n, nil
}

func (c *chunkedReader) Close() error { return c.src.Close() }

// trailers is Result.Trailer: the trailing headers once the body verified.
func (c *chunkedReader) trailers() http.Header {
	if !c.done || c.err != nil || c.trailer == nil {
		return nil
	}
	return c.trailer.Clone()
}

// next reads, verifies and buffers one chunk; after the final chunk it
// checks the end of the stream.
func (c *chunkedReader) next() error {
	c.buf, c.off = c.buf[:0], 0
	c.chunks++
	line, err := c.readLine()
	if err != nil {
		return err
	}
	size, sig, err := c.parseSizeLine(line)
	if err != nil {
		return err
	}
	if size > c.want-c.got {
		return errorf(ErrMalformedChunk, "chunk %d: more data than x-amz-decoded-content-length %d", c.chunks, c.want)
	}
	if size > 0 && c.chain == nil {
		c.left = size
		return nil
	}
	if size > 0 {
		if err := c.readData(int(size)); err != nil {
			return err
		}
	}
	// The final chunk of a trailer mode is followed directly by the trailers.
	if size > 0 || c.mode == Streaming {
		if err := c.readCRLF(); err != nil {
			return err
		}
	}
	if c.chain != nil {
		sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.chain.amzDate + "\n" + c.chain.scope + "\n" +
			c.chain.prev + "\n" + emptySHA256 + "\n" + sha256Hex(c.buf)
		computed := hmacSHA256(c.chain.key, sts)
		if !signatureEqual(computed, sig) {
			return errorf(ErrSignatureDoesNotMatch, "chunk %d signature", c.chunks)
		}
		c.chain.prev = hex.EncodeToString(computed)
	}
	c.got += size
	if size > 0 {
		return nil
	}
	if c.got != c.want {
		return errorf(ErrIncompleteBody, "got %d of %d decoded bytes", c.got, c.want)
	}
	if c.mode == Streaming {
		if err := c.expectEOF(); err != nil {
			return err
		}
	} else if err := c.readTrailers(); err != nil {
		return err
	}
	c.done = true
	return nil
}

// parseSizeLine parses "hex-size;chunk-signature=sig" (signed) or "hex-size"
// (unsigned).
func (c *chunkedReader) parseSizeLine(line []byte) (int64, []byte, error) {
	sizeStr, ext, hasExt := bytes.Cut(line, []byte{';'})
	if len(sizeStr) == 0 || len(sizeStr) > 16 {
		return 0, nil, errorf(ErrMalformedChunk, "chunk %d: bad size", c.chunks)
	}
	size, err := strconv.ParseUint(string(sizeStr), 16, 64)
	if err != nil {
		return 0, nil, errorf(ErrMalformedChunk, "chunk %d: bad size", c.chunks)
	}
	if c.chain != nil && size > maxChunkSize {
		return 0, nil, errorf(ErrMalformedChunk, "chunk %d: signed chunk size %d exceeds %d", c.chunks, size, maxChunkSize)
	}
	if size > 1<<62 {
		return 0, nil, errorf(ErrMalformedChunk, "chunk %d: bad size", c.chunks)
	}
	if c.chain == nil {
		if hasExt {
			return 0, nil, errorf(ErrMalformedChunk, "chunk %d: unexpected extension in unsigned chunk", c.chunks)
		}
		return int64(size), nil, nil
	}
	name, val, ok := bytes.Cut(ext, []byte{'='})
	if !hasExt || !ok || string(name) != "chunk-signature" {
		return 0, nil, errorf(ErrMalformedChunk, "chunk %d: missing chunk-signature", c.chunks)
	}
	sig, err := parseSignature(string(val), ErrMalformedChunk)
	if err != nil {
		return 0, nil, err
	}
	return int64(size), sig, nil
}

// readData reads exactly size bytes into c.buf, growing it as data arrives.
func (c *chunkedReader) readData(size int) error {
	for len(c.buf) < size {
		if len(c.buf) == cap(c.buf) {
			nc := min(max(2*cap(c.buf), initialChunkBuf), size)
			c.buf = append(make([]byte, 0, nc), c.buf...)
		}
		n, err := c.br.Read(c.buf[len(c.buf):min(cap(c.buf), size)])
		c.buf = c.buf[:len(c.buf)+n]
		if err != nil {
			if err == io.EOF && len(c.buf) == size {
				break
			}
			return c.srcErr(err, "chunk data")
		}
	}
	return nil
}

// readLine reads a CRLF-terminated line of at most maxLineLen bytes.
func (c *chunkedReader) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, errorf(ErrMalformedChunk, "chunk %d: line too long", c.chunks)
	case err != nil:
		return nil, c.srcErr(err, "chunk header")
	case len(line) < 2 || line[len(line)-2] != '\r':
		return nil, errorf(ErrMalformedChunk, "chunk %d: line not terminated by CRLF", c.chunks)
	}
	return line[:len(line)-2], nil
}

func (c *chunkedReader) readCRLF() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		return c.srcErr(err, "chunk terminator")
	}
	if crlf != [2]byte{'\r', '\n'} {
		return errorf(ErrMalformedChunk, "chunk %d: data not followed by CRLF", c.chunks)
	}
	return nil
}

func (c *chunkedReader) expectEOF() error {
	switch _, err := c.br.ReadByte(); {
	case err == io.EOF:
		return nil
	case err == nil:
		return errorf(ErrMalformedChunk, "data after the final chunk")
	default:
		return c.srcErr(err, "end of body")
	}
}

// srcErr maps a read error of the underlying body: an early end is an
// incomplete body, anything else (network, size limits) passes through.
func (c *chunkedReader) srcErr(err error, where string) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errorf(ErrIncompleteBody, "body ended in %s of chunk %d", where, c.chunks)
	}
	return err
}

// readTrailers reads "name:value" lines up to the end of the body and, for
// StreamingTrailer, checks the x-amz-trailer-signature line that ends them.
// Line endings may be CRLF or LF and blank lines are skipped: clients differ
// in how they terminate the trailer section, and the signature covers only
// the names and values.
func (c *chunkedReader) readTrailers() error {
	var canon strings.Builder
	trailer := make(http.Header)
	signed := c.mode == StreamingTrailer
	sigSeen := false
	for lines := 0; ; lines++ {
		if lines >= maxTrailerLines {
			return errorf(ErrMalformedTrailer, "too many trailer lines")
		}
		raw, err := c.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return errorf(ErrMalformedTrailer, "trailer line too long")
		}
		if err == io.EOF && len(raw) == 0 {
			break
		}
		if err != nil {
			if err == io.EOF {
				return errorf(ErrIncompleteBody, "body ended inside a trailer line")
			}
			return c.srcErr(err, "trailer")
		}
		line := strings.TrimRight(string(raw), "\r\n")
		if line == "" {
			continue
		}
		if sigSeen {
			return errorf(ErrMalformedTrailer, "data after %s", trailerSignatureName)
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			return errorf(ErrMalformedTrailer, "trailer line without ':'")
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if name == trailerSignatureName {
			if !signed {
				return errorf(ErrMalformedTrailer, "%s in an unsigned trailer", trailerSignatureName)
			}
			sig, err := parseSignature(val, ErrMalformedTrailer)
			if err != nil {
				return err
			}
			sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.chain.amzDate + "\n" + c.chain.scope + "\n" +
				c.chain.prev + "\n" + sha256Hex([]byte(canon.String()))
			if !signatureEqual(hmacSHA256(c.chain.key, sts), sig) {
				return errorf(ErrSignatureDoesNotMatch, "trailer signature")
			}
			sigSeen = true
			continue
		}
		if !slices.Contains(c.names, name) {
			return errorf(ErrMalformedTrailer, "trailer %.64q not declared in x-amz-trailer", name)
		}
		if _, dup := trailer[http.CanonicalHeaderKey(name)]; dup {
			return errorf(ErrMalformedTrailer, "duplicate trailer %.64q", name)
		}
		trailer.Set(name, val)
		canon.WriteString(name + ":" + val + "\n")
	}
	if signed && !sigSeen {
		return errorf(ErrMalformedTrailer, "missing %s", trailerSignatureName)
	}
	for _, n := range c.names {
		if _, ok := trailer[http.CanonicalHeaderKey(n)]; !ok {
			return errorf(ErrMalformedTrailer, "declared trailer %.64q missing", n)
		}
	}
	c.trailer = trailer
	return nil
}
