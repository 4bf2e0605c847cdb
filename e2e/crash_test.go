package e2e

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
)

type putOutcome struct {
	status int
	body   string
	err    error
}

// slowPut starts a PUT announcing size bytes whose body the test feeds: it
// returns a function writing the next bytes (blocking until the client has
// taken them), a function ending the body, and a channel with the outcome.
func slowPut(t *testing.T, n *harness.Node, url string, size int64) (feed func([]byte) error, finish func(error), res <-chan putOutcome) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := n.Signer().Request(context.Background(), http.MethodPut, url, pr, size)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan putOutcome, 1)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			pr.CloseWithError(err)
			out <- putOutcome{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pr.CloseWithError(errors.New("response received"))
		out <- putOutcome{status: resp.StatusCode, body: string(b)}
	}()
	feed = func(p []byte) error {
		_, err := pw.Write(p)
		return err
	}
	return feed, func(err error) { pw.CloseWithError(err) }, out
}

// TestCrashMidUpload kills the server (SIGKILL) while a large PUT is
// streaming: after a restart the key must not exist, acknowledged objects
// must survive, and new uploads must work.
func TestCrashMidUpload(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "crash"})
	s := n.Signer()
	b := harness.BucketName("crash")
	expect(t, s, "PUT", n.URL("/"+b), nil, 200)
	durable := harness.RandomBytes(3<<20+11, 1)
	expect(t, s, "PUT", n.URL("/"+b+"/durable.bin"), durable, 200)

	// 64 MiB announced, 24 MiB sent, then kill -9.
	feed, finish, res := slowPut(t, n, n.URL("/"+b+"/partial.bin"), 64<<20)
	for i := range 24 {
		if err := feed(harness.RandomBytes(1<<20, uint64(100+i))); err != nil {
			t.Fatalf("PUT body write failed before the kill: %v", err)
		}
	}
	n.Kill()
	// The client may still be waiting for body bytes; end the body with an
	// error so it gives up. It must never see a success.
	finish(errors.New("server killed"))
	select {
	case o := <-res:
		if o.err == nil && o.status == 200 {
			t.Fatalf("interrupted PUT succeeded: %d %s", o.status, o.body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("interrupted PUT did not fail after the server was killed")
	}

	n.MustStart()
	if st, body := do(t, s, "HEAD", n.URL("/"+b+"/partial.bin"), nil); st != 404 {
		t.Errorf("HEAD of the interrupted upload's key after restart: %d %s, want 404", st, body)
	}
	if st, body := do(t, s, "GET", n.URL("/"+b+"/partial.bin"), nil); st != 404 || !strings.Contains(body, "NoSuchKey") {
		t.Errorf("GET of the interrupted upload's key after restart: %d %s, want 404 NoSuchKey", st, body)
	}
	keys := listKeys(t, s, n.URL("/"+b+"?list-type=2"))
	if strings.Join(keys, ",") != "durable.bin" {
		t.Errorf("listing after restart = %v, want [durable.bin]", keys)
	}
	if st, body := do(t, s, "GET", n.URL("/"+b+"/durable.bin"), nil); st != 200 || body != string(durable) {
		t.Errorf("acknowledged object after kill -9: status %d, content matches %v", st, body == string(durable))
	}

	// The same key uploads normally now, also after a kill right after the
	// acknowledgement.
	fresh := harness.RandomBytes(9<<20+1, 2)
	expect(t, s, "PUT", n.URL("/"+b+"/partial.bin"), fresh, 200)
	n.Kill()
	n.MustStart()
	if st, body := do(t, s, "GET", n.URL("/"+b+"/partial.bin"), nil); st != 200 || body != string(fresh) {
		t.Errorf("object uploaded after the crash: status %d, content matches %v", st, body == string(fresh))
	}
	keys = listKeys(t, s, n.URL("/"+b+"?list-type=2"))
	if strings.Join(keys, ",") != "durable.bin,partial.bin" {
		t.Errorf("final listing = %v", keys)
	}
}

// TestGracefulShutdown sends SIGTERM while a PUT is in flight: the server
// stops accepting connections, lets the request finish, and exits 0; the
// object is there after a restart.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "drain"})
	s := n.Signer()
	b := harness.BucketName("drain")
	expect(t, s, "PUT", n.URL("/"+b), nil, 200)

	const size = 8 << 20
	feed, finish, res := slowPut(t, n, n.URL("/"+b+"/inflight.bin"), size)
	var sent bytes.Buffer
	send := func(i int) error {
		p := harness.RandomBytes(1<<20, uint64(200+i))
		sent.Write(p)
		return feed(p)
	}
	// Send the first 2 MiB, then SIGTERM.
	for i := range 2 {
		if err := send(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitForLog("shutting down", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	// Draining: new connections are refused while the PUT goes on.
	if err := harness.Eventually(10*time.Second, 20*time.Millisecond, func() error {
		resp, err := http.Get(n.URL("/health/ready"))
		if err != nil {
			return nil
		}
		resp.Body.Close()
		return errorf("still accepting new requests: %s", resp.Status)
	}); err != nil {
		t.Error(err)
	}
	if !n.Running() {
		t.Fatalf("server exited with a request in flight: %v", n.ExitErr())
	}
	for i := 2; i < size/(1<<20); i++ {
		if err := send(i); err != nil {
			t.Fatalf("PUT body write failed during the drain: %v", err)
		}
	}
	finish(nil)
	select {
	case o := <-res:
		if o.err != nil || o.status != 200 {
			t.Fatalf("in-flight PUT during SIGTERM: status %d err %v body %s", o.status, o.err, o.body)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("in-flight PUT did not complete during the drain")
	}
	if err := n.WaitExit(30 * time.Second); err != nil {
		t.Fatalf("after SIGTERM: %v, want exit status 0", err)
	}
	n.MustStart()
	st, body := do(t, s, "HEAD", n.URL("/"+b+"/inflight.bin"), nil)
	if st != 200 {
		t.Fatalf("object written during the drain, after restart: HEAD %d %s", st, body)
	}
	if l := headLength(t, s, n.URL("/"+b+"/inflight.bin")); l != size {
		t.Errorf("object written during the drain has %d bytes, want %d", l, size)
	}
	if _, got := do(t, s, "GET", n.URL("/"+b+"/inflight.bin"), nil); got != sent.String() {
		t.Errorf("object written during the drain has different content")
	}
	if err := n.Stop(); err != nil {
		t.Errorf("idle SIGTERM: %v", err)
	}
}

func do(t *testing.T, s harness.Signer, method, url string, body []byte) (int, string) {
	t.Helper()
	var b any
	if body != nil {
		b = body
	}
	st, out, err := s.Do(nil, method, url, b, 0)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return st, string(out)
}

func expect(t *testing.T, s harness.Signer, method, url string, body []byte, status int) string {
	t.Helper()
	st, out := do(t, s, method, url, body)
	if st != status {
		t.Fatalf("%s %s: status %d, want %d\n%s", method, url, st, status, out)
	}
	return out
}

func headLength(t *testing.T, s harness.Signer, url string) int64 {
	t.Helper()
	r, err := s.Request(context.Background(), "HEAD", url, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.ContentLength
}

// listKeys returns every key of a ListObjectsV2 response (one page).
func listKeys(t *testing.T, s harness.Signer, url string) []string {
	t.Helper()
	body := expect(t, s, "GET", url, nil, 200)
	var res struct {
		Contents []struct{ Key string }
	}
	if err := xml.Unmarshal([]byte(body), &res); err != nil {
		t.Fatalf("ListObjectsV2 XML: %v\n%s", err, body)
	}
	var keys []string
	for _, c := range res.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

// TestCrashDuringMultipart kills the server while a part uploads: the
// acknowledged part survives the restart, the interrupted one does not
// appear, and the upload completes once the part is sent again.
func TestCrashDuringMultipart(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "crashmpu"})
	s := n.Signer()
	b := harness.BucketName("crashmpu")
	obj := n.URL("/" + b + "/multi.bin")
	expect(t, s, "PUT", n.URL("/"+b), nil, 200)
	var init struct{ UploadId string }
	xmlInto(t, expect(t, s, "POST", obj+"?uploads", nil, 200), &init)
	if init.UploadId == "" {
		t.Fatal("CreateMultipartUpload returned no UploadId")
	}
	partURL := func(i int) string {
		return fmt.Sprintf("%s?partNumber=%d&uploadId=%s", obj, i, url.QueryEscape(init.UploadId))
	}
	part1 := harness.RandomBytes(5<<20, 61)
	resp, body, err := s.DoResponse(nil, "PUT", partURL(1), part1, 0)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("UploadPart 1: %v %v %s", err, resp, body)
	}
	etag1 := resp.Header.Get("ETag")

	feed, finish, res := slowPut(t, n, partURL(2), 5<<20)
	for i := range 3 {
		if err := feed(harness.RandomBytes(1<<20, uint64(70+i))); err != nil {
			t.Fatalf("part 2 body write failed before the kill: %v", err)
		}
	}
	n.Kill()
	finish(errors.New("server killed"))
	if o := <-res; o.err == nil && o.status == 200 {
		t.Fatalf("interrupted UploadPart succeeded: %s", o.body)
	}
	n.MustStart()

	var parts struct {
		Part []struct {
			PartNumber int
			ETag       string
			Size       int64
		}
	}
	xmlInto(t, expect(t, s, "GET", obj+"?uploadId="+url.QueryEscape(init.UploadId), nil, 200), &parts)
	if len(parts.Part) != 1 || parts.Part[0].PartNumber != 1 || parts.Part[0].ETag != etag1 || parts.Part[0].Size != 5<<20 {
		t.Errorf("ListParts after kill -9 = %+v, want only part 1 (%s, 5 MiB)", parts.Part, etag1)
	}
	part2 := harness.RandomBytes(1<<20+9, 62)
	resp, body, err = s.DoResponse(nil, "PUT", partURL(2), part2, 0)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("UploadPart 2 after restart: %v %v %s", err, resp, body)
	}
	complete := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>`+
		`<Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>`, etag1, resp.Header.Get("ETag"))
	expect(t, s, "POST", obj+"?uploadId="+url.QueryEscape(init.UploadId), []byte(complete), 200)
	if st, got := do(t, s, "GET", obj, nil); st != 200 || got != string(part1)+string(part2) {
		t.Errorf("completed object: status %d, %d bytes, content matches %v", st, len(got), got == string(part1)+string(part2))
	}
	var ups struct{ Upload []struct{ UploadId string } }
	xmlInto(t, expect(t, s, "GET", n.URL("/"+b+"?uploads"), nil, 200), &ups)
	if len(ups.Upload) != 0 {
		t.Errorf("uploads still listed after completion: %+v", ups.Upload)
	}
}

func xmlInto(t *testing.T, body string, v any) {
	t.Helper()
	if err := xml.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("XML: %v\n%s", err, body)
	}
}

// TestCrashConcurrentPuts kills the server (SIGKILL) while 32 clients PUT
// objects of every kind (inline, erasure-coded, spanning blocks): after a
// restart every acknowledged PUT is there with its exact bytes. The metadata
// state is not fsynced (the Raft log is), so the restart rebuilds it from the
// log; drive shards are in the fan-out layout whose renames are made durable
// by shared directory syncs.
func TestCrashConcurrentPuts(t *testing.T) {
	t.Parallel()
	n := harness.StartNode(t, harness.NodeOptions{Name: "crash-conc"})
	s := n.Signer()
	b := harness.BucketName("crashc")
	expect(t, s, "PUT", n.URL("/"+b), nil, 200)
	sizes := []int{4 << 10, 100, 64 << 10, 1<<20 + 7}
	var mu sync.Mutex
	acked := map[string]uint64{} // key -> content seed
	var count atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				seed := uint64(w*100000 + i)
				key := fmt.Sprintf("w%02d/%05d", w, i)
				st, _, err := s.Do(client, "PUT", n.URL("/"+b+"/"+key), harness.RandomBytes(sizes[i%len(sizes)], seed), 0)
				if err != nil || st != 200 {
					return // the server is gone; this PUT was not acknowledged
				}
				mu.Lock()
				acked[key] = seed
				mu.Unlock()
				count.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(time.Minute)
	for count.Load() < 400 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	n.Kill() // with PUTs in flight
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < 100 {
		t.Fatalf("only %d PUTs acknowledged before the kill", len(acked))
	}
	n.MustStart()
	if !strings.Contains(n.Log(), "rebuilding it from the raft snapshot and log") {
		t.Error("the restart after kill -9 did not rebuild the metadata state")
	}
	missing := 0
	for key, seed := range acked {
		i, _ := strconv.Atoi(key[strings.IndexByte(key, '/')+1:])
		want := harness.RandomBytes(sizes[i%len(sizes)], seed)
		st, body := do(t, s, "GET", n.URL("/"+b+"/"+key), nil)
		if st != 200 || body != string(want) {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged %s after kill -9: status %d, content matches %v", key, st, body == string(want))
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged PUTs lost or wrong", missing, len(acked))
	}
	t.Logf("%d acknowledged PUTs all present after kill -9 and restart", len(acked))
}
