package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/filesphere/filesphere/e2e/harness"
)

// Settings of the slow-client test's server: a descriptor limit far below
// the number of attacking connections, and short deadlines so the test
// sees several generations of attackers cut.
const (
	slowFDLimit       = 256
	slowUploadMemory  = 64 << 20
	slowBodyTimeout   = 2 * time.Second
	slowHeaderTimeout = 3 * time.Second
	slowAttack        = 12 * time.Second // attackers reconnect for this long
	slowServedWithin  = time.Second      // the normal client's bound
	// directStaging is the server's fixed pool of direct-I/O staging
	// buffers (storage/drive: directBufMax x directBufSize), on by default.
	directStaging = 32 << 20
)

// attacker is one kind of misbehaving client. Each of its goroutines
// connects, sends head, then feeds piece(i) every tick (nil: nothing
// more) until the server answers or cuts it, then connects again.
type attacker struct {
	name  string
	count int
	tick  time.Duration
	head  func() []byte
	piece func(i int) []byte
}

// outcome of one attacking connection.
type outcome struct {
	kind   string
	result string // "answered <status> <code>", "cut", or "unresolved"
	took   time.Duration
}

// TestSlowClients opens hundreds of slow and stalled connections, anonymous
// and signed (trickling one byte at a time, stalled mid-headers, stalled
// mid-body, silent), against a server limited to 256 descriptors, and
// checks throughout that a normal client is served within a second, that
// memory stays bounded, and that every slow connection is answered or cut.
func TestSlowClients(t *testing.T) {
	n := harness.StartNode(t, harness.NodeOptions{Name: "slow", MaxOpenFiles: slowFDLimit, ExtraArgs: []string{
		"--body-read-timeout", slowBodyTimeout.String(), "--min-body-rate", "4096",
		"--read-header-timeout", slowHeaderTimeout.String(), "--upload-memory", strconv.Itoa(slowUploadMemory),
	}})
	sdk := n.SDKClient()
	bucket := harness.BucketName("slow")
	if _, err := sdk.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	baseline, err := n.RSS()
	if err != nil {
		t.Fatal(err)
	}
	signer := n.Signer()
	url := n.URL("/" + bucket + "/k")
	signedPut := func(size int64) func() []byte {
		return func() []byte {
			r, err := signer.Request(context.Background(), http.MethodPut, url, strings.NewReader(""), size)
			if err != nil {
				panic(err)
			}
			return requestHead(r)
		}
	}
	block := bytes.Repeat([]byte("s"), 1536<<10)
	attackers := []attacker{
		{"anonymous, 1 byte per 500ms", 100, 500 * time.Millisecond, func() []byte {
			return []byte("PUT /" + bucket + "/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\nb")
		}, func(int) []byte { return []byte("b") }},
		{"stalled mid-headers", 100, 500 * time.Millisecond, func() []byte {
			return []byte("PUT /" + bucket + "/k HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		}, func(int) []byte { return []byte("a") }},
		{"silent", 50, 500 * time.Millisecond, func() []byte { return nil }, func(int) []byte { return nil }},
		{"signed, stalled after 1.5 MiB", 100, 500 * time.Millisecond, signedPut(8 << 20), func(i int) []byte {
			if i == 0 {
				return block
			}
			return nil
		}},
		{"signed, 1 byte per 200ms", 50, 200 * time.Millisecond, signedPut(8 << 20), func(int) []byte { return []byte("t") }},
	}

	start := time.Now()
	attackEnd := start.Add(slowAttack)
	var (
		mu       sync.Mutex
		outcomes []outcome
		wg       sync.WaitGroup
	)
	for _, a := range attackers {
		for range a.count {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(attackEnd) {
					o := attack(n.Addr(), a, 20*time.Second)
					mu.Lock()
					outcomes = append(outcomes, o)
					mu.Unlock()
					time.Sleep(200 * time.Millisecond)
				}
			}()
		}
	}

	normal := watchNormalClient(t, sdk, signer, n, bucket, attackEnd)
	mem := watchProcess(n, attackEnd)
	wg.Wait()
	normalRes, memRes := <-normal, <-mem
	duration := time.Since(start)

	// Figures.
	byKind := map[string]map[string]int{}
	unresolved := 0
	var maxResolve time.Duration
	for _, o := range outcomes {
		if byKind[o.kind] == nil {
			byKind[o.kind] = map[string]int{}
		}
		byKind[o.kind][o.result]++
		if o.result == "unresolved" {
			unresolved++
		}
		maxResolve = max(maxResolve, o.took)
	}
	t.Logf("%d attacking goroutines opened %d connections in %v (fd limit %d, upload memory %d MiB)",
		attackerCount(attackers), len(outcomes), duration.Round(100*time.Millisecond), slowFDLimit, slowUploadMemory>>20)
	for _, a := range attackers {
		t.Logf("  %-32s %s", a.name, summary(byKind[a.name]))
	}
	t.Logf("slowest connection to be answered or cut: %v", maxResolve.Round(time.Millisecond))
	t.Logf("normal client: %d requests on a kept-alive connection, max %v; %d on fresh connections, max %v; 1 MiB uploads: %s",
		normalRes.kept, normalRes.keptMax.Round(time.Millisecond), normalRes.fresh, normalRes.freshMax.Round(time.Millisecond), summary(normalRes.uploads))
	t.Logf("server RSS: %d MiB at start, max %d MiB under attack; max %d open descriptors", baseline>>20, memRes.maxRSS>>20, memRes.maxFDs)

	for _, e := range normalRes.errs {
		t.Error(e)
	}
	if normalRes.kept == 0 || normalRes.fresh == 0 {
		t.Error("the normal client made no requests")
	}
	if unresolved > 0 {
		t.Errorf("%d slow connections were neither answered nor cut within 20s", unresolved)
	}
	// Memory: the upload budget, plus as much again for the garbage
	// collector's headroom (GOGC=100) and the pooled block sets of uploads
	// just cut, plus 32 MiB for the connections' buffers and stacks, plus
	// the direct-I/O staging pool.
	if limit := baseline + 2*slowUploadMemory + 32<<20 + directStaging; memRes.maxRSS > limit {
		t.Errorf("server RSS reached %d MiB, bound %d MiB", memRes.maxRSS>>20, limit>>20)
	}
	if strings.Contains(n.Log(), "too many open files") {
		t.Error("the server ran out of file descriptors")
	}
	if !n.Running() {
		t.Fatal("the server died")
	}
}

func attackerCount(as []attacker) int {
	c := 0
	for _, a := range as {
		c += a.count
	}
	return c
}

func summary(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// requestHead is r's request line and headers, without its body.
func requestHead(r *http.Request) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", r.Method, r.URL.RequestURI(), r.Host, r.ContentLength)
	for k, vs := range r.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// attack runs one connection of a until the server answers or cuts it,
// or limit passes (unresolved).
func attack(addr string, a attacker, limit time.Duration) outcome {
	start := time.Now()
	o := outcome{kind: a.name}
	done := func(result string) outcome {
		o.result, o.took = result, time.Since(start)
		return o
	}
	c, err := net.DialTimeout("tcp", addr, limit)
	if err != nil {
		return done("unresolved") // refused to connect at all
	}
	defer c.Close()
	br := bufio.NewReader(c)
	// answer reports what the server did, once it did something.
	answer := func(wait time.Duration) (string, bool) {
		_ = c.SetReadDeadline(time.Now().Add(wait))
		if _, err := br.Peek(1); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return "", false
			}
			return "cut", true
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return "cut", true
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		code := ""
		if i, j := bytes.Index(body, []byte("<Code>")), bytes.Index(body, []byte("</Code>")); i >= 0 && j > i {
			code = " " + string(body[i+6:j])
		}
		return fmt.Sprintf("answered %d%s", resp.StatusCode, code), true
	}
	send := func(p []byte) bool {
		if len(p) == 0 {
			return true
		}
		_ = c.SetWriteDeadline(time.Now().Add(a.tick))
		_, err := c.Write(p)
		return err == nil || errors.Is(err, os.ErrDeadlineExceeded)
	}
	if !send(a.head()) {
		if r, ok := answer(time.Second); ok {
			return done(r)
		}
		return done("cut")
	}
	for i := 0; time.Since(start) < limit; i++ {
		if r, ok := answer(a.tick); ok {
			return done(r)
		}
		if !send(a.piece(i)) {
			if r, ok := answer(time.Second); ok {
				return done(r)
			}
			return done("cut")
		}
	}
	return done("unresolved")
}

type normalResult struct {
	kept, fresh       int
	keptMax, freshMax time.Duration
	uploads           map[string]int
	errs              []string
}

// watchNormalClient runs two well-behaved clients until end: the SDK on
// its kept-alive connection (small puts, gets, lists) and signed lists on
// a fresh connection each; every request must succeed within
// slowServedWithin. It also tries a 1 MiB upload now and then, which may
// be refused with SlowDown while attackers hold the upload budget.
func watchNormalClient(t *testing.T, sdk *s3.Client, signer harness.Signer, n *harness.Node, bucket string, end time.Time) <-chan normalResult {
	out := make(chan normalResult, 1)
	res := normalResult{uploads: map[string]int{}}
	var mu sync.Mutex
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(res.errs) < 20 {
			res.errs = append(res.errs, fmt.Sprintf("%s: ", time.Now().Format("15:04:05.000"))+fmt.Sprintf(format, args...))
		}
	}
	small := bytes.Repeat([]byte("n"), 8<<10)
	big := bytes.Repeat([]byte("N"), 1<<20)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; time.Now().Before(end); i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			key := fmt.Sprintf("normal-%d", i%10)
			t0 := time.Now()
			var err error
			switch i % 3 {
			case 0:
				_, err = sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(small)})
			case 1:
				var o *s3.GetObjectOutput
				if o, err = sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("normal-0")}); err == nil {
					_, err = io.Copy(io.Discard, o.Body)
					o.Body.Close()
				}
			case 2:
				_, err = sdk.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, MaxKeys: aws.Int32(5)})
			}
			took := time.Since(t0)
			cancel()
			mu.Lock()
			res.kept++
			res.keptMax = max(res.keptMax, took)
			mu.Unlock()
			if err != nil {
				fail("kept-alive request %d: %v", i, err)
			} else if took > slowServedWithin {
				fail("kept-alive request %d took %v", i, took)
			}
			if i%10 == 5 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("normal-big"), Body: bytes.NewReader(big)})
				cancel()
				// The SDK sends a 1 MiB body without waiting for
				// "100 Continue": refused at once, it may see the
				// connection close while still writing.
				var ae smithy.APIError
				switch {
				case err == nil:
					res.uploads["ok"]++
				case errors.As(err, &ae):
					res.uploads[ae.ErrorCode()]++
				default:
					res.uploads["connection closed while sending"]++
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for i := 0; time.Now().Before(end); i++ {
			t0 := time.Now()
			status, body, err := signer.Do(client, http.MethodGet, n.URL("/"+bucket+"?list-type=2&max-keys=5"), nil, 0)
			took := time.Since(t0)
			mu.Lock()
			res.fresh++
			res.freshMax = max(res.freshMax, took)
			mu.Unlock()
			switch {
			case err != nil:
				fail("fresh-connection list %d after %v: %v", i, took, err)
			case status != http.StatusOK:
				fail("fresh-connection list %d: %d %s", i, status, body)
			case took > slowServedWithin:
				fail("fresh-connection list %d took %v", i, took)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	go func() {
		wg.Wait()
		out <- res
	}()
	return out
}

type processResult struct {
	maxRSS int64
	maxFDs int
}

// watchProcess samples the server's RSS and descriptors until end.
func watchProcess(n *harness.Node, end time.Time) <-chan processResult {
	out := make(chan processResult, 1)
	go func() {
		var r processResult
		for time.Now().Before(end) {
			if rss, err := n.RSS(); err == nil {
				r.maxRSS = max(r.maxRSS, rss)
			}
			if fds, err := n.OpenFiles(); err == nil {
				r.maxFDs = max(r.maxFDs, fds)
			}
			time.Sleep(100 * time.Millisecond)
		}
		out <- r
	}()
	return out
}

// TestStalledUploadsMemory holds 300 signed uploads stalled mid-body (each
// sent 1.5 MiB, so its erasure block buffers are in use) and checks that the
// server's memory stays within the upload budget: the uploads past it are
// refused with SlowDown at once, the admitted ones are cut by the body
// deadline with RequestTimeout, and nothing of them is stored.
func TestStalledUploadsMemory(t *testing.T) {
	const uploads, budget, timeout = 300, 64 << 20, 3 * time.Second
	n := harness.StartNode(t, harness.NodeOptions{Name: "stalled", ExtraArgs: []string{
		"--body-read-timeout", timeout.String(), "--upload-memory", strconv.Itoa(budget),
	}})
	sdk := n.SDKClient()
	bucket := harness.BucketName("stalled")
	if _, err := sdk.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	baseline, err := n.RSS()
	if err != nil {
		t.Fatal(err)
	}
	signer := n.Signer()
	sent := bytes.Repeat([]byte("u"), 1536<<10)
	start := time.Now()
	results := make(chan string, uploads)
	for i := range uploads {
		go func() {
			r, err := signer.Request(context.Background(), http.MethodPut, n.URL(fmt.Sprintf("/%s/u%d", bucket, i)), strings.NewReader(""), 8<<20)
			if err != nil {
				results <- err.Error()
				return
			}
			a := attacker{name: "stalled", tick: 250 * time.Millisecond, head: func() []byte { return requestHead(r) },
				piece: func(i int) []byte {
					if i == 0 {
						return sent
					}
					return nil
				}}
			results <- attack(n.Addr(), a, timeout+20*time.Second).result
		}()
	}
	var maxRSS int64
	got := map[string]int{}
	for len(got) == 0 || sum(got) < uploads {
		select {
		case r := <-results:
			got[r]++
		case <-time.After(100 * time.Millisecond):
		}
		if rss, err := n.RSS(); err == nil {
			maxRSS = max(maxRSS, rss)
		}
	}
	t.Logf("%d stalled signed uploads of 1.5 MiB each: %s in %v", uploads, summary(got), time.Since(start).Round(100*time.Millisecond))
	t.Logf("server RSS: %d MiB at start, max %d MiB (upload memory %d MiB)", baseline>>20, maxRSS>>20, budget>>20)
	if got["answered 503 SlowDown"] == 0 || got["answered 400 RequestTimeout"] == 0 || got["answered 503 SlowDown"]+got["answered 400 RequestTimeout"] != uploads {
		t.Errorf("want every upload refused with SlowDown or cut with RequestTimeout, got %s", summary(got))
	}
	// The budget, the pool's previous generation of block sets (sync.Pool
	// keeps released ones for a GC cycle), the connections' buffers and the
	// direct-I/O staging pool.
	if limit := baseline + 2*budget + 32<<20 + directStaging; maxRSS > limit {
		t.Errorf("server RSS reached %d MiB, bound %d MiB", maxRSS>>20, limit>>20)
	}
	out, err := sdk.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 0 {
		t.Errorf("stalled uploads stored %d objects", len(out.Contents))
	}
}

func sum(m map[string]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}
