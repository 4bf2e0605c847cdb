package erasure

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"
)

// writeAll writes the chunks one Write each, then closes with cerr.
func writeAll(pw *PipeWriter, chunks [][]byte, cerr error) <-chan error {
	done := make(chan error, 1)
	go func() {
		for _, c := range chunks {
			if _, err := pw.Write(c); err != nil {
				done <- err
				return
			}
		}
		pw.CloseWithError(cerr)
		done <- nil
	}()
	return done
}

func testChunks() ([][]byte, []byte) {
	var chunks [][]byte
	var all []byte
	for i, n := range []int{1, 7, 4096, 100000, 3} {
		c := randomBytes(uint64(i), n)
		chunks = append(chunks, c)
		all = append(all, c...)
	}
	return chunks, all
}

// recorder keeps what it was given and the address of each slice.
type recorder struct {
	buf   bytes.Buffer
	addrs []*byte
}

func (r *recorder) Write(p []byte) (int, error) {
	r.addrs = append(r.addrs, &p[0])
	return r.buf.Write(p)
}

func TestPipeRead(t *testing.T) {
	chunks, all := testChunks()
	pr, pw := Pipe()
	done := writeAll(pw, chunks, nil)
	if err := pr.Ready(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(iotest.OneByteReader(pr))
	if err != nil || !bytes.Equal(got, all) {
		t.Fatalf("ReadAll: %d bytes, %v", len(got), err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := pr.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read after the writer closed: %v, want io.EOF", err)
	}
}

// TestPipeWriteToHandsOverSlices: WriteTo passes each written slice itself
// to its writer, in one Write: nothing is copied on the way.
func TestPipeWriteToHandsOverSlices(t *testing.T) {
	chunks, all := testChunks()
	pr, pw := Pipe()
	done := writeAll(pw, chunks, nil)
	var rec recorder
	n, err := pr.WriteTo(&rec)
	if err != nil || n != int64(len(all)) || !bytes.Equal(rec.buf.Bytes(), all) {
		t.Fatalf("WriteTo: %d, %v", n, err)
	}
	if len(rec.addrs) != len(chunks) {
		t.Fatalf("%d writes for %d chunks", len(rec.addrs), len(chunks))
	}
	for i, c := range chunks {
		if rec.addrs[i] != &c[0] {
			t.Errorf("write %d was a copy, not the writer's slice", i)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPipeReadyReportsWriterError(t *testing.T) {
	boom := errors.New("read quorum")
	pr, pw := Pipe()
	go pw.CloseWithError(boom)
	if err := pr.Ready(); !errors.Is(err, boom) {
		t.Fatalf("Ready: %v, want the writer's error", err)
	}
	if _, err := pr.WriteTo(io.Discard); !errors.Is(err, boom) {
		t.Fatalf("WriteTo: %v, want the writer's error", err)
	}

	pr, pw = Pipe()
	go pw.Close()
	if err := pr.Ready(); err != io.EOF {
		t.Fatalf("Ready on an empty stream: %v, want io.EOF", err)
	}

	// Ready consumes nothing.
	pr, pw = Pipe()
	done := writeAll(pw, [][]byte{[]byte("abc")}, nil)
	if err := pr.Ready(); err != nil {
		t.Fatal(err)
	}
	if err := pr.Ready(); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(pr); err != nil || string(got) != "abc" {
		t.Fatalf("after Ready: %q %v", got, err)
	}
	<-done
}

func TestPipeReaderClose(t *testing.T) {
	pr, pw := Pipe()
	errc := make(chan error, 1)
	go func() { _, err := pw.Write([]byte("x")); errc <- err }()
	pr.Close()
	if err := <-errc; !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("Write to a closed reader: %v", err)
	}
	if _, err := pr.Read(make([]byte, 1)); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("Read after Close: %v", err)
	}

	// A half-read slice is released by Close.
	pr, pw = Pipe()
	go func() { _, err := pw.Write([]byte("abcdef")); errc <- err }()
	if _, err := pr.Read(make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	if err := <-errc; !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("Write of a half-read slice after Close: %v", err)
	}
}

// blockingWriter blocks every Write until release is closed.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	close(b.entered)
	<-b.release
	return len(p), nil
}

// TestPipeCloseWaitsForSliceInUse: a Close from another goroutine while
// WriteTo is still sending a slice does not let the writer return (and
// reuse its buffer) until that send is over.
func TestPipeCloseWaitsForSliceInUse(t *testing.T) {
	pr, pw := Pipe()
	errc := make(chan error, 1)
	go func() { _, err := pw.Write([]byte("block")); errc <- err }()
	bw := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	wt := make(chan error, 1)
	go func() { _, err := pr.WriteTo(bw); wt <- err }()
	<-bw.entered
	pr.Close()
	select {
	case err := <-errc:
		t.Fatalf("Write returned (%v) while its slice was still being sent", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(bw.release)
	if err := <-errc; !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("Write after the send ended: %v", err)
	}
	if err := <-wt; !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("WriteTo after Close: %v", err)
	}
}

// failWriter fails every Write.
type failWriter struct{}

var errSocket = errors.New("connection reset")

func (failWriter) Write([]byte) (int, error) { return 0, errSocket }

func TestPipeWriteToError(t *testing.T) {
	pr, pw := Pipe()
	errc := make(chan error, 1)
	go func() { _, err := pw.Write([]byte("abc")); errc <- err }()
	if _, err := pr.WriteTo(failWriter{}); !errors.Is(err, errSocket) {
		t.Fatalf("WriteTo: %v", err)
	}
	pr.CloseWithError(errSocket)
	if err := <-errc; !errors.Is(err, errSocket) {
		t.Fatalf("Write after the reader failed: %v", err)
	}
}
