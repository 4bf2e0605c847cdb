package rpc

import (
	"context"
	"io"
	"testing"

	"github.com/filesphere/filesphere/storage/drive"
)

var benchSizes = []struct {
	name string
	size int64
}{{"1MiB", 1 << 20}, {"16MiB", 16 << 20}}

// benchTransports: HTTP/2 in clear, and over mutual TLS as the cluster
// runs it.
var benchTransports = []string{"h2c", "mtls"}

// benchDrive serves sink over loopback with the transport and returns the
// remote drive a client sees.
func benchDrive(b *testing.B, transport string, sink *sinkStore) drive.ShardStore {
	if transport == "h2c" {
		e := newEnv(b)
		e.drives.add(sink)
		return e.client.Drive(e.ts.URL, sink.ID())
	}
	c := newTLSCluster(b)
	addr, e := tlsEnv(b, c)
	e.drives.add(sink)
	cl := newTestClient(b, func(cfg *ClientConfig) { cfg.TLS = c.identity("n2").ClientConfig() })
	return cl.Drive(cl.URL(addr), sink.ID())
}

// BenchmarkRemoteCreate streams shards to a drive that keeps nothing, over
// loopback HTTP/2, so the figures are the RPC path's.
func BenchmarkRemoteCreate(b *testing.B) {
	for _, tr := range benchTransports {
		for _, sz := range benchSizes {
			b.Run(tr+"/"+sz.name, func(b *testing.B) { benchCreate(b, tr, sz.size) })
		}
	}
}

func benchCreate(b *testing.B, transport string, size int64) {
	d := benchDrive(b, transport, newSink("d9", 0))
	buf := make([]byte, 1<<20)
	(&patternReader{}).Read(buf)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w, err := d.Create(context.Background(), "bench/shard")
		if err != nil {
			b.Fatal(err)
		}
		for left := size; left > 0; left -= int64(len(buf)) {
			if _, err := w.Write(buf[:min(left, int64(len(buf)))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemoteOpen streams generated shards from the peer.
func BenchmarkRemoteOpen(b *testing.B) {
	for _, tr := range benchTransports {
		for _, sz := range benchSizes {
			b.Run(tr+"/"+sz.name, func(b *testing.B) { benchOpen(b, tr, sz.size) })
		}
	}
}

func benchOpen(b *testing.B, transport string, size int64) {
	d := benchDrive(b, transport, newSink("d9", size))
	buf := make([]byte, 1<<20)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := d.Open(context.Background(), "bench/shard", 0, -1)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf)
		r.Close()
		if err != nil || n != size {
			b.Fatalf("read %d: %v", n, err)
		}
	}
}
