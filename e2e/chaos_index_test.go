package e2e

import (
	"context"
	"encoding/xml"

	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// verifyContentIndex checks, after the cluster settled, that the content
// index is exactly the namespace: every version listed (and every current
// object of the plain bucket) is found by the SHA-256 its HEAD names, and
// a lookup of any content ever written to the buckets (so also that of
// every deleted or overwritten version) finds exactly the versions that
// hold it now: nothing missing, nothing stale.
func (e *chaosEnv) verifyContentIndex() {
	t := e.t
	ctx := context.Background()
	i, cl := e.client(e.rng)
	n := e.c.Node(i)
	sg, hc := n.Signer(), n.HTTPClient(30*time.Second)
	do := func(method, path string) (*http.Response, []byte, error) {
		req, err := sg.Request(ctx, method, n.URL(path), nil, 0)
		if err != nil {
			return nil, nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	want := map[string]map[string]bool{} // content → "bucket/key?version"
	held := 0
	add := func(bucket, key, vid string) {
		path := "/" + bucket + "/" + url.PathEscape(key)
		if vid != "" {
			path += "?versionId=" + url.QueryEscape(vid)
		}
		resp, _, err := do(http.MethodHead, path)
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Filesphere-Sha256") == "" {
			e.led.problem("CONTENT INDEX: HEAD %s: %v %v (no content hash)", path, err, resp)
			e.indexBad++
			return
		}
		sum := resp.Header.Get("X-Filesphere-Sha256")
		if want[sum] == nil {
			want[sum] = map[string]bool{}
		}
		want[sum][bucket+"/"+key+"?"+vid] = true
		held++
	}
	p := s3.NewListObjectVersionsPaginator(cl, &s3.ListObjectVersionsInput{Bucket: aws.String(e.ver)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Errorf("content index: listing %s: %v", e.ver, err)
			return
		}
		for _, v := range page.Versions {
			add(e.ver, aws.ToString(v.Key), aws.ToString(v.VersionId))
		}
	}
	keys, err := listAll(ctx, cl, e.plain, "")
	if err != nil {
		t.Errorf("content index: listing %s: %v", e.plain, err)
		return
	}
	for _, k := range keys {
		add(e.plain, k, "")
	}
	contents := map[string]bool{}
	for sum := range want {
		contents[sum] = true
	}
	e.led.mu.Lock()
	for _, r := range e.led.keys {
		for sum := range r.written {
			contents[sum] = true
		}
	}
	e.led.mu.Unlock()
	sums := make([]string, 0, len(contents))
	for s := range contents {
		sums = append(sums, s)
	}
	sort.Strings(sums)
	for _, sum := range sums {
		got := map[string]bool{}
		token := ""
		for {
			q := url.Values{"x-filesphere-sha256": {sum}}
			if token != "" {
				q.Set("continuation-token", token)
			}
			resp, body, err := do(http.MethodGet, "/?"+q.Encode())
			if err != nil || resp.StatusCode != 200 {
				e.led.problem("CONTENT INDEX: lookup of %s: %v %s", sum, err, body)
				e.indexBad++
				break
			}
			var page struct {
				IsTruncated           bool
				NextContinuationToken string
				Objects               []struct{ Bucket, Key, VersionId string } `xml:"Object"`
			}
			if err := xml.Unmarshal(body, &page); err != nil {
				e.led.problem("CONTENT INDEX: lookup of %s: %v", sum, err)
				e.indexBad++
				break
			}
			for _, o := range page.Objects {
				if o.Bucket == e.ver || o.Bucket == e.plain {
					got[o.Bucket+"/"+o.Key+"?"+o.VersionId] = true
				}
			}
			if !page.IsTruncated {
				break
			}
			token = page.NextContinuationToken
		}
		for v := range want[sum] {
			if !got[v] {
				e.led.problem("CONTENT INDEX: %s holds %s, which the lookup does not find", v, sum)
				e.indexBad++
			}
		}
		for v := range got {
			if !want[sum][v] {
				e.led.problem("CONTENT INDEX: the lookup of %s finds %s, which does not hold it (stale entry)", sum, v)
				e.indexBad++
			}
		}
	}
	t.Logf("content index: %d versions held, %d contents looked up, %d differences", held, len(sums), e.indexBad)
	if e.indexBad > 0 {
		t.Errorf("the content index differs from the namespace in %d places: see the problems (%s)", e.indexBad,
			strings.Join(e.led.problems[max(0, len(e.led.problems)-5):], "; "))
	}
}
