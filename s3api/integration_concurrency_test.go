package s3api_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// overwriteRace runs writers concurrent PUTs of distinct bodies to one key,
// with readers GETting it meanwhile; every read, during and after, must
// return exactly one writer's bytes (with that body's ETag), never a mix.
func overwriteRace(t *testing.T, f *fixture, bucket, key string, writers, readers int) {
	t.Helper()
	// Sizes straddle the inline threshold and the erasure block size.
	sizes := []int{100, 20 << 10, 300 << 10, 1<<20 + 5}
	bodies := make([][]byte, writers)
	byETag := map[string]int{}
	for i := range bodies {
		bodies[i] = randBytes(sizes[i%len(sizes)], uint64(1000+i))
		byETag[quoted(md5Hex(bodies[i]))] = i
	}
	match := func(got []byte) int {
		for i, body := range bodies {
			if bytes.Equal(got, body) {
				return i
			}
		}
		return -1
	}

	var wg, rg sync.WaitGroup
	start := make(chan struct{})
	var done atomic.Bool
	errs := make(chan error, writers+readers)
	for i := range writers {
		wg.Go(func() {
			<-start
			_, err := f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(bodies[i])})
			if err != nil {
				errs <- fmt.Errorf("writer %d: %w", i, err)
			}
		})
	}
	var reads atomic.Int64
	for range readers {
		rg.Go(func() {
			<-start
			for !done.Load() {
				out, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
				if errCode(err) == "NoSuchKey" {
					continue
				}
				if err != nil {
					errs <- fmt.Errorf("reader: %w", err)
					return
				}
				got, err := io.ReadAll(out.Body)
				out.Body.Close()
				if err != nil {
					errs <- fmt.Errorf("reader: body cut short after %d bytes: %w", len(got), err)
					return
				}
				i := match(got)
				if i < 0 {
					errs <- errors.New("reader: a GET returned bytes of no single writer")
					return
				}
				if e, ok := byETag[aws.ToString(out.ETag)]; !ok || e != i {
					errs <- errors.New("reader: a GET returned an ETag that does not belong to its bytes")
					return
				}
				reads.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	done.Store(true)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	got := f.get(t, bucket, key)
	i := match(got)
	if i < 0 {
		t.Fatalf("final object (%d bytes) is no single writer's body", len(got))
	}
	h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil || byETag[aws.ToString(h.ETag)] != i || aws.ToInt64(h.ContentLength) != int64(len(bodies[i])) {
		t.Fatalf("HEAD disagrees with the body: %v", err)
	}
	keys, _, _ := listV2(t, f, s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &key})
	if len(keys) != 1 {
		t.Fatalf("listing after concurrent overwrite: %v", keys)
	}
	if readers > 0 {
		t.Logf("%d consistent reads during the writes", reads.Load())
	}
}

// 16 concurrent PUTs to one key: the final object is exactly one of them.
func TestIntegrationConcurrentOverwrite(t *testing.T) {
	f := newFixture(t)
	t.Run("versioned bucket", func(t *testing.T) {
		b := f.bucket(t)
		enableVersioning(t, f, b)
		for round := range 3 {
			overwriteRace(t, f, b, "hot-"+strconv.Itoa(round), 16, 0)
		}
	})
	t.Run("unversioned bucket", func(t *testing.T) {
		b := f.bucket(t)
		for round := range 3 {
			overwriteRace(t, f, b, "hot-"+strconv.Itoa(round), 16, 0)
		}
	})
}

// GETs racing the overwrites see the old or the new object, never an error.
func TestIntegrationConcurrentReadDuringOverwrite(t *testing.T) {
	f := newFixture(t)
	t.Run("versioned bucket", func(t *testing.T) {
		b := f.bucket(t)
		enableVersioning(t, f, b)
		overwriteRace(t, f, b, "hot", 16, 4)
	})
	t.Run("unversioned bucket", func(t *testing.T) {
		b := f.bucket(t)
		overwriteRace(t, f, b, "hot", 16, 4)
	})
}

// Concurrent create-only PUTs: exactly one wins.
func TestIntegrationConcurrentIfNoneMatch(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	for round := range 3 {
		const n = 8
		key := "once-" + strconv.Itoa(round)
		bodies := make([][]byte, n)
		results := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			bodies[i] = randBytes(30<<10+i, uint64(round*100+i))
			wg.Go(func() {
				<-start
				_, results[i] = f.sdk.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: &key, Body: bytes.NewReader(bodies[i]), IfNoneMatch: aws.String("*")})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range results {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: writers %d and %d both succeeded", round, winner, i)
				}
				winner = i
			case errStatus(err) == http.StatusPreconditionFailed && errCode(err) == "PreconditionFailed",
				errStatus(err) == http.StatusConflict && errCode(err) == "ConditionalRequestConflict":
			default:
				t.Fatalf("round %d: writer %d: %v", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer succeeded", round)
		}
		if got := f.get(t, b, key); !bytes.Equal(got, bodies[winner]) {
			t.Fatalf("round %d: stored bytes are not the winner's", round)
		}
	}
}
