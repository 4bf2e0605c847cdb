package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/e2e/harness"
)

// MeasureEnv enables the cluster measurements (they take about a minute
// and only log figures, so CI does not run them).
const MeasureEnv = "FILESPHERE_E2E_MEASURE"

// TestClusterMeasure logs (a) metadata commits per second on a 3-node
// loopback cluster: concurrent 0-byte PUTs (inline, no drive I/O) through
// all nodes for 10 s; (b) sequential PUT latency p50/p99 of 4 KiB and
// 1 MiB objects on the 3-node cluster (through the leader and through a
// follower) and on a single node with the same erasure 2+1 on 3 drives.
func TestClusterMeasure(t *testing.T) {
	if os.Getenv(MeasureEnv) != "1" {
		t.Skipf("set %s=1 to run the cluster measurements", MeasureEnv)
	}
	ctx := context.Background()
	c := harness.StartCluster(t, harness.ClusterOptions{Nodes: 3, DrivesPerNode: 1, ECData: 2, ECParity: 1})
	sdk := clusterClients(c)
	leader, err := c.WaitLeader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	follower := leader%3 + 1
	b := harness.BucketName("measure")
	if _, err := sdk[1].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}

	t.Run("metadata-commits", func(t *testing.T) {
		for _, perNode := range []int{4, 16} {
			ok, fail, lat := commitStorm(ctx, sdk[1:], b, fmt.Sprintf("storm%d/", perNode), perNode, 10*time.Second)
			t.Logf("0-byte PUTs, %d concurrent clients per node × 3 nodes, 10 s: %d ok (%.0f commits/s), %d failed; latency p50 %v p99 %v",
				perNode, ok, float64(ok)/10, fail, pct(lat, 50), pct(lat, 99))
		}
	})

	single := harness.StartNode(t, harness.NodeOptions{Name: "single", DriveCount: 3, ECData: 2, ECParity: 1})
	ssdk := single.SDKClient()
	if _, err := ssdk.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	t.Run("put-latency", func(t *testing.T) {
		for _, sz := range []struct {
			size, n int
			name    string
		}{{4 << 10, 400, "4 KiB"}, {1 << 20, 150, "1 MiB"}} {
			body := harness.RandomBytes(sz.size, 42)
			for _, target := range []struct {
				name string
				cl   *s3.Client
			}{
				{"single node (EC 2+1, 3 drives)", ssdk},
				{"3-node cluster via leader " + c.ID(leader), sdk[leader]},
				{"3-node cluster via follower " + c.ID(follower), sdk[follower]},
			} {
				lat, err := putLatencies(ctx, target.cl, b, "lat/"+sz.name+"/", body, sz.n)
				if err != nil {
					t.Fatalf("%s: %v", target.name, err)
				}
				t.Logf("PUT %s × %d sequential, %s: p50 %v p99 %v mean %v", sz.name, sz.n, target.name,
					pct(lat, 50), pct(lat, 99), mean(lat))
			}
		}
	})
}

// commitStorm PUTs 0-byte objects through every client with perNode
// concurrent workers each until d has passed.
func commitStorm(ctx context.Context, clients []*s3.Client, bucket, prefix string, perNode int, d time.Duration) (int64, int64, []time.Duration) {
	var ok, fail atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for ni, cl := range clients {
		for w := range perNode {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for seq := 0; time.Now().Before(deadline); seq++ {
					key := fmt.Sprintf("%sn%d-w%d-%06d", prefix, ni, w, seq)
					s := time.Now()
					_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(nil)})
					if err != nil {
						fail.Add(1)
						continue
					}
					mine = append(mine, time.Since(s))
					ok.Add(1)
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return ok.Load(), fail.Load(), lat
}

// putLatencies PUTs body n times sequentially (after a few warm-up PUTs)
// and returns each latency.
func putLatencies(ctx context.Context, cl *s3.Client, bucket, prefix string, body []byte, n int) ([]time.Duration, error) {
	var lat []time.Duration
	for i := -5; i < n; i++ {
		s := time.Now()
		_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("%s%05d", prefix, i+5)), Body: bytes.NewReader(body)})
		if err != nil {
			return nil, err
		}
		if i >= 0 {
			lat = append(lat, time.Since(s))
		}
	}
	return lat, nil
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i].Round(10 * time.Microsecond)
}

func mean(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return (sum / time.Duration(len(d))).Round(10 * time.Microsecond)
}
