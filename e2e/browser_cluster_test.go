package e2e

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/e2e/harness"
)

// corsStaleness is how long a node may answer from a CORS configuration
// another node changed: s3api's default cache time, plus Raft's
// replication and the poll's own period on a loaded machine.
const corsStaleness = 5*time.Second + 10*time.Second

// TestClusterBrowserAccess: a CORS configuration written through one node
// is replicated through Raft and answers preflights on every node (a change
// within the cache's bound), and a POST upload through one node is read
// through another.
func TestClusterBrowserAccess(t *testing.T) {
	c := harness.StartCluster(t, harness.ClusterOptions{Nodes: 3, DrivesPerNode: 1, ECData: 2, ECParity: 1, Name: "br"})
	sdk := clusterClients(c)
	ctx := t.Context()
	b := harness.BucketName("cluster-cors")
	if _, err := sdk[1].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	preflight := func(i int) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, c.Node(i).URL("/"+b+"/k"), nil)
		req.Header.Set("Origin", "https://app.example.com")
		req.Header.Set("Access-Control-Request-Method", "PUT")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	// Every node reads (and caches) the absence first.
	for i := 1; i <= 3; i++ {
		if s := preflight(i); s != http.StatusForbidden {
			t.Fatalf("node %d before any configuration: %d", i, s)
		}
	}
	_, err := sdk[1].PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: &b, CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	wait := func(want int) {
		t.Helper()
		start := time.Now()
		for i := 1; i <= 3; i++ {
			err := harness.Eventually(corsStaleness, 200*time.Millisecond, func() error {
				if s := preflight(i); s != want {
					return errorf("node %d answers %d", i, s)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
			}
		}
		t.Logf("every node answers %d after %v", want, time.Since(start).Round(time.Millisecond))
	}
	if s := preflight(1); s != http.StatusOK {
		t.Fatalf("the node that wrote the configuration answers %d at once", s)
	}
	wait(http.StatusOK)
	if _, err := sdk[3].DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	wait(http.StatusForbidden)

	// A form POSTed through node 2 is read through node 3.
	fields, err := c.Node(2).Signer().PostForm(time.Now().Add(time.Minute), map[string]string{"bucket": b}, []any{"eq", "$key", "form.bin"})
	if err != nil {
		t.Fatal(err)
	}
	data := harness.RandomBytes(3<<20, 77)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("key", "form.bin")
	for k, v := range fields {
		w.WriteField(k, v)
	}
	fw, _ := w.CreateFormFile("file", "form.bin")
	fw.Write(data)
	w.Close()
	resp, err := http.Post(c.Node(2).URL("/"+b), w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST through node 2: %d %s", resp.StatusCode, answer)
	}
	out, err := sdk[3].GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("form.bin")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("node 3 reads %d bytes of the %d POSTed", len(got), len(data))
	}
}
