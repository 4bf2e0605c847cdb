package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	r := rand.New(rand.NewPCG(1, 1))
	vals := make([]time.Duration, 1024)
	for i := range vals {
		vals[i] = time.Duration(r.Int64N(int64(time.Second)))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(vals[i&1023])
	}
}

// nullHandler answers like an S3 server that stores nothing, so the
// client benchmarks measure the client's own cost per request.
func nullHandler(getSize int, listing []byte) http.Handler {
	body := make([]byte, getSize)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut:
			_, _ = io.Copy(io.Discard, r.Body)
		case r.URL.Query().Has("list-type"):
			w.Header().Set("Content-Length", strconv.Itoa(len(listing)))
			_, _ = w.Write(listing)
		default:
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		}
	})
}

func listingXML(n int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix><KeyCount>` +
		strconv.Itoa(n) + `</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>`)
	for i := range n {
		fmt.Fprintf(&b, `<Contents><Key>p/obj%06d</Key><LastModified>2026-01-02T15:04:05.000Z</LastModified><ETag>"0123456789abcdef0123456789abcdef"</ETag><Size>1024</Size><StorageClass>STANDARD</StorageClass></Contents>`, i)
	}
	b.WriteString(`</ListBucketResult>`)
	return []byte(b.String())
}

// BenchmarkClient is each client's cost per request over loopback against
// nullHandler (client and server share the CPU, as in a real run).
func BenchmarkClient(b *testing.B) {
	const size = 4 << 10
	srv := httptest.NewServer(nullHandler(size, listingXML(1000)))
	defer srv.Close()
	body := BytesBody(make([]byte, size))
	scratch := make([]byte, scratchSize)
	for _, kind := range []ClientKind{ClientHTTP, ClientSDK} {
		for _, mode := range []PayloadMode{PayloadSigned, PayloadUnsigned} {
			cfg := DefaultConfig()
			cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Client, cfg.Payload = srv.URL, "AK", "SK", kind, mode
			c, err := NewClient(cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			name := string(kind) + "/" + string(mode)
			b.Run(name+"/PUT-4KiB", func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					if err := c.PutObject(ctx, "b", "p/k", body); err != nil {
						b.Fatal(err)
					}
				}
			})
			if mode == PayloadUnsigned {
				continue // reads are signed the same way in both modes
			}
			b.Run(name+"/GET-4KiB", func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					if n, err := c.GetObject(ctx, "b", "p/k", scratch); err != nil || n != size {
						b.Fatal(n, err)
					}
				}
			})
			b.Run(name+"/LIST-1000", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if p, err := c.ListObjects(ctx, "b", "p/", "", 1000); err != nil || len(p.Keys) != 1000 {
						b.Fatal(len(p.Keys), err)
					}
				}
			})
			c.Close()
		}
	}
}
