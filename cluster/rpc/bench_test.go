package rpc

import (
	"context"
	"io"
	"testing"
)

var benchSizes = []struct {
	name string
	size int64
}{{"1MiB", 1 << 20}, {"16MiB", 16 << 20}}

// BenchmarkRemoteCreate streams shards to a drive that keeps nothing, over
// loopback HTTP/2, so the figures are the RPC path's.
func BenchmarkRemoteCreate(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			e := newEnv(b)
			e.drives.add(newSink("d1", 0))
			d := e.client.Drive(e.ts.URL, "d1")
			buf := make([]byte, 1<<20)
			(&patternReader{}).Read(buf)
			b.SetBytes(sz.size)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w, err := d.Create(context.Background(), "bench/shard")
				if err != nil {
					b.Fatal(err)
				}
				for left := sz.size; left > 0; left -= int64(len(buf)) {
					if _, err := w.Write(buf[:min(left, int64(len(buf)))]); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRemoteOpen streams generated shards from the peer.
func BenchmarkRemoteOpen(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			e := newEnv(b)
			e.drives.add(newSink("d1", sz.size))
			d := e.client.Drive(e.ts.URL, "d1")
			buf := make([]byte, 1<<20)
			b.SetBytes(sz.size)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r, err := d.Open(context.Background(), "bench/shard", 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf)
				r.Close()
				if err != nil || n != sz.size {
					b.Fatalf("read %d: %v", n, err)
				}
			}
		})
	}
}
