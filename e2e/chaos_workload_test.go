package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/e2e/harness"
)

// worker runs random operations on its own keys (so that each key's
// history is sequential and the ledger knows what each key must hold).
func (e *chaosEnv) worker(w int) {
	rng := rand.New(rand.NewPCG(e.seed, uint64(100+w)))
	for !e.stopped() {
		bucket := e.plain
		if rng.IntN(2) == 0 {
			bucket = e.ver
		}
		key := fmt.Sprintf("w%d/k%03d", w, rng.IntN(e.p.keys))
		r := rng.IntN(100)
		switch {
		case r < 45:
			e.put(rng, bucket, key, e.size(rng))
		case r < 75:
			e.get(rng, bucket, key)
		case r < 87:
			e.del(rng, bucket, key)
		case bucket == e.ver && r < 93:
			e.delVersion(rng, key)
		case bucket == e.ver:
			e.getVersion(rng, key)
		default:
			e.get(rng, bucket, key)
		}
		time.Sleep(e.p.pace)
	}
}

// bigWriter PUTs one large object (versioned bucket) per size the
// schedule sends, then reads it back.
func (e *chaosEnv) bigWriter() {
	rng := rand.New(rand.NewPCG(e.seed, 99))
	n := 0
	for {
		select {
		case <-e.stop:
			return
		case size := <-e.bigCh:
			key := fmt.Sprintf("big/%d", n%2) // every other one overwrites: versions
			n++
			e.put(rng, e.ver, key, size)
			e.get(rng, e.ver, key)
		}
	}
}

// budgetNow is the part of the data budget released so far.
func (e *chaosEnv) budgetNow() int64 {
	f := float64(time.Since(e.started)) / float64(e.p.spread)
	return int64(min(f, 1) * float64(e.p.budget))
}

func opTimeout(size int) time.Duration {
	return 30*time.Second + time.Duration(size>>20)*2*time.Second
}

func (e *chaosEnv) put(rng *rand.Rand, bucket, key string, size int) {
	body := harness.RandomBytes(size, e.seed^(e.bodySeq.Add(1)<<20))
	st := objState{exists: true, sha: harness.SHA256(body), size: size}
	e.led.written(bucket, key, st.sha)
	node, cl := e.client(rng)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout(size))
	defer cancel()
	out, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		e.led.fail(&e.led.putFail, fmt.Sprintf("PUT %s/%s (%d B) via %s: %v", bucket, key, size, e.c.ID(node), err))
		e.led.unacked(bucket, key, st)
		return
	}
	st.vid = aws.ToString(out.VersionId)
	if bucket == e.ver && st.vid == "" {
		e.led.problem("PUT %s/%s via %s acknowledged without a version id in a versioned bucket", bucket, key, e.c.ID(node))
	}
	e.putBytes.Add(int64(size))
	e.led.mu.Lock()
	e.led.putAck++
	e.led.putAckBytes += int64(size)
	e.led.mu.Unlock()
	e.led.acked(bucket, key, st)
}

// readBody GETs (a version of) an object and returns its SHA-256 and
// size; notFound is set for 404 NoSuchKey/NoSuchVersion.
func readBody(ctx context.Context, cl *s3.Client, bucket, key, vid string) (sum string, size int, notFound bool, err error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	out, err := cl.GetObject(ctx, in)
	if err != nil {
		st, code := apiStatus(err)
		return "", 0, st == 404 && (code == "NoSuchKey" || code == "NoSuchVersion"), err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return "", 0, false, fmt.Errorf("reading the body: %w", err)
	}
	return harness.SHA256(b), len(b), false, nil
}

func (e *chaosEnv) get(rng *rand.Rand, bucket, key string) {
	node, cl := e.client(rng)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout(64<<20))
	defer cancel()
	sum, size, notFound, err := readBody(ctx, cl, bucket, key, "")
	switch {
	case err == nil:
		e.led.count(&e.led.getOK)
		e.led.checkLatest(bucket, key, objState{exists: true, sha: sum, size: size}, e.c.ID(node), false)
	case notFound:
		e.led.count(&e.led.getNotFound)
		e.led.checkLatest(bucket, key, objState{}, e.c.ID(node), false)
	default:
		e.led.fail(&e.led.getFail, fmt.Sprintf("GET %s/%s via %s: %v", bucket, key, e.c.ID(node), err))
	}
}

func (e *chaosEnv) del(rng *rand.Rand, bucket, key string) {
	node, cl := e.client(rng)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		e.led.fail(&e.led.delFail, fmt.Sprintf("DELETE %s/%s via %s: %v", bucket, key, e.c.ID(node), err))
		e.led.unacked(bucket, key, objState{})
		return
	}
	e.led.count(&e.led.delAck)
	e.led.acked(bucket, key, objState{vid: aws.ToString(out.VersionId)})
}

// delVersion permanently deletes an acknowledged version that is not the
// key's latest one.
func (e *chaosEnv) delVersion(rng *rand.Rand, key string) {
	vid, ok := e.led.olderVersion(rng, e.ver, key)
	if !ok {
		return
	}
	node, cl := e.client(rng)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(e.ver), Key: aws.String(key), VersionId: aws.String(vid)})
	if err != nil {
		e.led.fail(&e.led.vdelFail, fmt.Sprintf("DELETE %s/%s?versionId=%s via %s: %v", e.ver, key, vid, e.c.ID(node), err))
		e.led.versionDeleted(e.ver, key, vid, false)
		return
	}
	e.led.count(&e.led.vdelAck)
	e.led.versionDeleted(e.ver, key, vid, true)
}

// getVersion reads an acknowledged version (or one deleted for good) by id.
func (e *chaosEnv) getVersion(rng *rand.Rand, key string) {
	vid, want, gone, ok := e.led.anyVersion(rng, e.ver, key)
	if !ok {
		return
	}
	node, cl := e.client(rng)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout(64<<20))
	defer cancel()
	sum, _, notFound, err := readBody(ctx, cl, e.ver, key, vid)
	where := fmt.Sprintf("%s/%s?versionId=%s via %s", e.ver, key, vid, e.c.ID(node))
	switch {
	case err == nil && gone:
		e.led.problem("GET %s: a version whose deletion was acknowledged is back", where)
	case err == nil && sum != want.sha:
		e.led.badRead(e.ver, key, sum, "GET "+where)
	case err == nil:
		e.led.count(&e.led.vgetOK)
	case notFound && gone:
		e.led.count(&e.led.vgetOK)
	case notFound:
		e.led.lostVersion("GET %s: 404 for an acknowledged version: %v", where, err)
	default:
		e.led.fail(&e.led.vgetFail, fmt.Sprintf("GET %s: %v", where, err))
	}
}
