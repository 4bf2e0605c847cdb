package s3api_test

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// getVersion reads one version's body.
func (f *fixture) getVersion(t *testing.T, bucket, key, version string) []byte {
	t.Helper()
	out, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &bucket, Key: &key, VersionId: &version})
	if err != nil {
		t.Fatalf("GetObject %s?versionId=%s: %v", key, version, err)
	}
	// A never-versioned object may answer versionId=null without the header.
	if got := aws.ToString(out.VersionId); got != version && !(version == "null" && got == "") {
		t.Fatalf("GET versionId=%s answered version %s", version, aws.ToString(out.VersionId))
	}
	return readAll(t, out.Body)
}

// ver is one row of ListObjectVersions.
type ver struct {
	key, id string
	latest  bool
	marker  bool
}

func (v ver) String() string {
	kind := "v"
	if v.marker {
		kind = "dm"
	}
	l := ""
	if v.latest {
		l = "*"
	}
	return fmt.Sprintf("%s:%s:%s%s", v.key, kind, v.id, l)
}

// listVersions pages through ListObjectVersions with the SDK. The SDK
// splits a page into Versions and DeleteMarkers, losing their order, so the
// result is ordered by key and then newest first by LastModified; tests that
// need the exact document order use listVersionsRaw.
func listVersions(t *testing.T, f *fixture, in s3.ListObjectVersionsInput) (vs []ver, prefixes []string, pages int) {
	t.Helper()
	type timed struct {
		ver
		mod time.Time
		seq int
	}
	var all []timed
	for {
		out, err := f.sdk.ListObjectVersions(ctx(t), &in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		n := len(out.Versions) + len(out.DeleteMarkers) + len(out.CommonPrefixes)
		if in.MaxKeys != nil && n > int(*in.MaxKeys) {
			t.Fatalf("page of %d entries exceeds max-keys %d", n, *in.MaxKeys)
		}
		for _, v := range out.Versions {
			all = append(all, timed{ver{aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToBool(v.IsLatest), false}, aws.ToTime(v.LastModified), len(all)})
		}
		for _, d := range out.DeleteMarkers {
			all = append(all, timed{ver{aws.ToString(d.Key), aws.ToString(d.VersionId), aws.ToBool(d.IsLatest), true}, aws.ToTime(d.LastModified), len(all)})
		}
		for _, cp := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(cp.Prefix))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
		if pages > 1000 {
			t.Fatal("version listing does not end")
		}
	}
	slices.SortStableFunc(all, func(a, b timed) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		if c := b.mod.Compare(a.mod); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	for _, v := range all {
		vs = append(vs, v.ver)
	}
	return vs, prefixes, pages
}

// listVersionsRaw pages through ListObjectVersions with raw requests and
// keeps Version and DeleteMarker entries in document order.
func listVersionsRaw(t *testing.T, f *fixture, bucket string, q url.Values) (vs []ver, pages int) {
	t.Helper()
	q.Set("versions", "")
	for {
		resp, body := f.do(t, rawReq{method: http.MethodGet, bucket: bucket, query: q})
		if resp.StatusCode != 200 {
			t.Fatalf("ListObjectVersions: %d %s", resp.StatusCode, body)
		}
		var res struct {
			IsTruncated         bool
			NextKeyMarker       string
			NextVersionIdMarker string
			Entries             []struct {
				XMLName   xml.Name
				Key       string
				VersionID string `xml:"VersionId"`
				IsLatest  bool
			} `xml:",any"`
		}
		if err := xml.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range res.Entries {
			switch e.XMLName.Local {
			case "Version", "DeleteMarker":
				vs = append(vs, ver{e.Key, e.VersionID, e.IsLatest, e.XMLName.Local == "DeleteMarker"})
			}
		}
		if !res.IsTruncated {
			return vs, pages
		}
		q.Set("key-marker", res.NextKeyMarker)
		q.Set("version-id-marker", res.NextVersionIdMarker)
		if pages > 1000 {
			t.Fatal("version listing does not end")
		}
	}
}

func TestIntegrationVersioningConfig(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	out, err := f.sdk.GetBucketVersioning(ctx(t), &s3.GetBucketVersioningInput{Bucket: &b})
	if err != nil || out.Status != "" {
		t.Fatalf("new bucket versioning %q, %v", out.Status, err)
	}
	for _, st := range []types.BucketVersioningStatus{types.BucketVersioningStatusEnabled, types.BucketVersioningStatusSuspended, types.BucketVersioningStatusEnabled} {
		setVersioning(t, f, b, st)
		out, err := f.sdk.GetBucketVersioning(ctx(t), &s3.GetBucketVersioningInput{Bucket: &b})
		if err != nil || out.Status != st {
			t.Fatalf("versioning %q after setting %q, %v", out.Status, st, err)
		}
	}
	resp, body := f.do(t, rawReq{method: http.MethodPut, bucket: b, query: url.Values{"versioning": {""}},
		body: []byte(`<VersioningConfiguration><Status>Sometimes</Status></VersioningConfiguration>`)})
	wantXMLError(t, resp, body, "IllegalVersioningConfigurationException", http.StatusBadRequest)
	resp, body = f.do(t, rawReq{method: http.MethodPut, bucket: b, query: url.Values{"versioning": {""}}, body: []byte(`<Versioning`)})
	wantXMLError(t, resp, body, "MalformedXML", http.StatusBadRequest)
	_, err = f.sdk.GetBucketVersioning(ctx(t), &s3.GetBucketVersioningInput{Bucket: aws.String("missing-bucket")})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
	cfg, err := f.mc.GetBucketVersioning(ctx(t), b)
	if err != nil || !cfg.Enabled() {
		t.Fatalf("minio GetBucketVersioning %+v, %v", cfg, err)
	}
}

func TestIntegrationVersioning(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	enableVersioning(t, f, b)

	v1 := aws.ToString(f.put(t, b, "doc", []byte("one")).VersionId)
	v2 := aws.ToString(f.put(t, b, "doc", []byte("two")).VersionId)
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	t.Run("read versions", func(t *testing.T) {
		if got := f.get(t, b, "doc"); string(got) != "two" {
			t.Fatalf("latest = %q", got)
		}
		if got := f.getVersion(t, b, "doc", v1); string(got) != "one" {
			t.Fatalf("v1 = %q", got)
		}
		h, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: &v1})
		if err != nil || aws.ToString(h.VersionId) != v1 || aws.ToInt64(h.ContentLength) != 3 {
			t.Fatalf("HEAD v1: %v %s", err, aws.ToString(h.VersionId))
		}
		g, err := f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("doc")})
		if err != nil || aws.ToString(g.VersionId) != v2 {
			t.Fatalf("latest GET version %s, %v", aws.ToString(g.VersionId), err)
		}
		g.Body.Close()
		_, err = f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: aws.String("01234567-89ab-7def-8123-456789abcdef")})
		wantErr(t, err, "NoSuchVersion", http.StatusNotFound)
		_, err = f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: aws.String("not-a-version")})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		_, err = f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: aws.String("null")})
		wantErr(t, err, "NoSuchVersion", http.StatusNotFound)
		st, err := f.mc.StatObject(ctx(t), b, "doc", minio.StatObjectOptions{VersionID: v1})
		if err != nil || st.VersionID != v1 || st.Size != 3 {
			t.Fatalf("minio StatObject v1: %+v, %v", st, err)
		}
	})
	t.Run("copy and complete return versions", func(t *testing.T) {
		src := b + "/doc?versionId=" + v1
		out, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy"), CopySource: &src})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.VersionId) == "" || aws.ToString(out.CopySourceVersionId) != v1 {
			t.Fatalf("copy version %q source version %q", aws.ToString(out.VersionId), aws.ToString(out.CopySourceVersionId))
		}
		if got := f.get(t, b, "copy"); string(got) != "one" {
			t.Fatalf("copy of v1 = %q", got)
		}
		// Copying an old version onto its own key restores it as a new version.
		restored, err := f.sdk.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("doc"), CopySource: &src})
		if err != nil {
			t.Fatalf("restore old version by self-copy: %v", err)
		}
		if got := f.get(t, b, "doc"); string(got) != "one" {
			t.Fatalf("after restore latest = %q", got)
		}
		if _, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: restored.VersionId}); err != nil {
			t.Fatal(err)
		}
		id := f.createUpload(t, b, "mp")
		c := f.uploadPart(t, b, "mp", id, 1, []byte("mp"))
		done, err := f.complete(t, b, "mp", id, c)
		if err != nil || aws.ToString(done.VersionId) == "" {
			t.Fatalf("complete version %q, %v", aws.ToString(done.VersionId), err)
		}
	})
	var marker string
	t.Run("delete marker", func(t *testing.T) {
		out, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("doc")})
		if err != nil {
			t.Fatal(err)
		}
		marker = aws.ToString(out.VersionId)
		if !aws.ToBool(out.DeleteMarker) || marker == "" || marker == v2 {
			t.Fatalf("delete: marker %v id %q", aws.ToBool(out.DeleteMarker), marker)
		}
		resp, body := f.do(t, rawReq{method: http.MethodGet, bucket: b, key: "doc"})
		wantXMLError(t, resp, body, "NoSuchKey", http.StatusNotFound)
		if resp.Header.Get("X-Amz-Delete-Marker") != "true" || resp.Header.Get("X-Amz-Version-Id") != marker {
			t.Fatalf("GET latest of a deleted key: headers %v", resp.Header)
		}
		resp, _ = f.do(t, rawReq{method: http.MethodHead, bucket: b, key: "doc"})
		if resp.StatusCode != 404 || resp.Header.Get("X-Amz-Delete-Marker") != "true" {
			t.Fatalf("HEAD latest of a deleted key: %d %v", resp.StatusCode, resp.Header)
		}
		resp, body = f.do(t, rawReq{method: http.MethodGet, bucket: b, key: "doc", query: url.Values{"versionId": {marker}}})
		wantXMLError(t, resp, body, "MethodNotAllowed", http.StatusMethodNotAllowed)
		if resp.Header.Get("X-Amz-Delete-Marker") != "true" {
			t.Fatalf("GET of a delete marker without x-amz-delete-marker: %v", resp.Header)
		}
		resp, _ = f.do(t, rawReq{method: http.MethodHead, bucket: b, key: "doc", query: url.Values{"versionId": {marker}}})
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("HEAD of a delete marker: %d", resp.StatusCode)
		}
		_, err = f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("doc")})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		if got := f.getVersion(t, b, "doc", v2); string(got) != "two" {
			t.Fatalf("v2 after delete = %q", got)
		}
		keys, _, _ := listV2(t, f, s3.ListObjectsV2Input{Bucket: &b})
		if slices.Contains(keys, "doc") {
			t.Fatalf("deleted key listed: %v", keys)
		}
	})
	t.Run("list versions", func(t *testing.T) {
		want := []ver{{"copy", "", true, false}, {"doc", marker, true, true}, {"doc", v2, false, false}, {"doc", v1, false, false}, {"mp", "", true, false}}
		all, _ := listVersionsRaw(t, f, b, url.Values{})
		if len(all) != len(want) {
			t.Fatalf("versions %v, want %v", all, want)
		}
		for i := range want {
			if want[i].id == "" {
				want[i].id = all[i].id
			}
		}
		if !slices.Equal(all, want) {
			t.Fatalf("versions\n got %v\nwant %v", all, want)
		}
		for _, page := range []int32{1, 2, 3} {
			got, pages := listVersionsRaw(t, f, b, url.Values{"max-keys": {fmt.Sprint(page)}})
			if !slices.Equal(got, want) || pages < (len(want)+int(page)-1)/int(page) {
				t.Fatalf("raw max-keys %d: %d pages\n got %v\nwant %v", page, pages, got, want)
			}
			got, _, pages = listVersions(t, f, s3.ListObjectVersionsInput{Bucket: &b, MaxKeys: aws.Int32(page)})
			if !slices.Equal(got, want) || pages < (len(want)+int(page)-1)/int(page) {
				t.Fatalf("SDK max-keys %d: %d pages\n got %v\nwant %v", page, pages, got, want)
			}
		}
		_, err := f.sdk.ListObjectVersions(ctx(t), &s3.ListObjectVersionsInput{Bucket: &b, VersionIdMarker: &v1})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		n := 0
		for o := range f.mc.ListObjects(ctx(t), b, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			n++
		}
		if n != len(want) {
			t.Fatalf("minio listed %d versions, want %d", n, len(want))
		}
	})
	t.Run("delete the delete marker restores", func(t *testing.T) {
		out, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: &marker})
		if err != nil {
			t.Fatal(err)
		}
		if !aws.ToBool(out.DeleteMarker) || aws.ToString(out.VersionId) != marker {
			t.Fatalf("deleting a marker: DeleteMarker %v version %q", aws.ToBool(out.DeleteMarker), aws.ToString(out.VersionId))
		}
		if got := f.get(t, b, "doc"); string(got) != "two" {
			t.Fatalf("restored latest = %q", got)
		}
	})
	t.Run("delete a version permanently", func(t *testing.T) {
		out, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: &v2})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToBool(out.DeleteMarker) || aws.ToString(out.VersionId) != v2 {
			t.Fatalf("delete v2: %+v", out)
		}
		if got := f.get(t, b, "doc"); string(got) != "one" {
			t.Fatalf("latest after deleting v2 = %q", got)
		}
		_, err = f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: &v2})
		wantErr(t, err, "NoSuchVersion", http.StatusNotFound)
		// Deleting it again is still a success.
		if _, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: &v2}); err != nil {
			t.Fatalf("repeat version delete: %v", err)
		}
		if err := f.mc.RemoveObject(ctx(t), b, "doc", minio.RemoveObjectOptions{VersionID: v1}); err != nil {
			t.Fatal(err)
		}
		if f.exists(t, b, "doc") {
			t.Fatal("key exists after deleting every version")
		}
	})
	t.Run("DeleteObjects", func(t *testing.T) {
		a1 := aws.ToString(f.put(t, b, "batch", []byte("a1")).VersionId)
		out, err := f.sdk.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
			{Key: aws.String("batch")}, {Key: aws.String("copy")},
		}}})
		if err != nil || len(out.Deleted) != 2 {
			t.Fatalf("DeleteObjects: %+v, %v", out, err)
		}
		for _, d := range out.Deleted {
			if !aws.ToBool(d.DeleteMarker) || aws.ToString(d.DeleteMarkerVersionId) == "" {
				t.Fatalf("versioned batch delete without a marker: %+v", d)
			}
		}
		out, err = f.sdk.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
			{Key: aws.String("batch"), VersionId: &a1},
		}}})
		if err != nil || len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].VersionId) != a1 || aws.ToBool(out.Deleted[0].DeleteMarker) {
			t.Fatalf("DeleteObjects by version: %+v, %v", out.Deleted, err)
		}
		_, err = f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("batch"), VersionId: &a1})
		wantErr(t, err, "NoSuchVersion", http.StatusNotFound)
	})
}

func TestIntegrationVersionPagination(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	enableVersioning(t, f, b)
	var want []ver
	for _, k := range []string{"a", "dir/x", "dir/y", "m", "z"} {
		var ids []string
		for i := range 3 {
			ids = append(ids, aws.ToString(f.put(t, b, k, []byte(fmt.Sprint(k, i))).VersionId))
		}
		for i := 2; i >= 0; i-- {
			want = append(want, ver{k, ids[i], i == 2, false})
		}
	}
	for _, page := range []int32{1, 2, 4, 1000} {
		got, _, _ := listVersions(t, f, s3.ListObjectVersionsInput{Bucket: &b, MaxKeys: aws.Int32(page)})
		if !slices.Equal(got, want) {
			t.Fatalf("max-keys %d\n got %v\nwant %v", page, got, want)
		}
		got, _ = listVersionsRaw(t, f, b, url.Values{"max-keys": {fmt.Sprint(page)}})
		if !slices.Equal(got, want) {
			t.Fatalf("raw max-keys %d\n got %v\nwant %v", page, got, want)
		}
	}
	got, cps, _ := listVersions(t, f, s3.ListObjectVersionsInput{Bucket: &b, Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	var noDir []ver
	for _, v := range want {
		if !strings.HasPrefix(v.key, "dir/") {
			noDir = append(noDir, v)
		}
	}
	if !slices.Equal(got, noDir) || !slices.Equal(cps, []string{"dir/"}) {
		t.Fatalf("delimiter: %v %v", got, cps)
	}
	got, _, _ = listVersions(t, f, s3.ListObjectVersionsInput{Bucket: &b, Prefix: aws.String("dir/"), MaxKeys: aws.Int32(4)})
	if !slices.Equal(got, want[3:9]) {
		t.Fatalf("prefix dir/: %v", got)
	}
	// A key marker alone starts after every version of that key.
	got, _, _ = listVersions(t, f, s3.ListObjectVersionsInput{Bucket: &b, KeyMarker: aws.String("m")})
	if !slices.Equal(got, want[12:]) {
		t.Fatalf("key-marker m: %v", got)
	}
	// key-marker + version-id-marker start after that version.
	got, _, _ = listVersions(t, f, s3.ListObjectVersionsInput{Bucket: &b, KeyMarker: aws.String("m"), VersionIdMarker: &want[10].id})
	if !slices.Equal(got, want[11:]) {
		t.Fatalf("version-id-marker: %v, want %v", got, want[11:])
	}
}

func TestIntegrationNullVersions(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	// Written before versioning was ever enabled: the null version.
	out := f.put(t, b, "k", []byte("original"))
	if out.VersionId != nil {
		t.Fatalf("unversioned PUT returned version %q", aws.ToString(out.VersionId))
	}
	vs, _, _ := listVersions(t, f, s3.ListObjectVersionsInput{Bucket: &b})
	if !slices.Equal(vs, []ver{{"k", "null", true, false}}) {
		t.Fatalf("unversioned bucket versions: %v", vs)
	}
	if got := f.getVersion(t, b, "k", "null"); string(got) != "original" {
		t.Fatalf("versionId=null: %q", got)
	}

	enableVersioning(t, f, b)
	v1 := aws.ToString(f.put(t, b, "k", []byte("enabled-1")).VersionId)
	if got := f.getVersion(t, b, "k", "null"); string(got) != "original" {
		t.Fatalf("null version after enabling: %q", got)
	}

	setVersioning(t, f, b, types.BucketVersioningStatusSuspended)
	s := f.put(t, b, "k", []byte("suspended-1"))
	if id := aws.ToString(s.VersionId); id != "null" && id != "" {
		t.Fatalf("suspended PUT version %q, want null", id)
	}
	// The suspended write replaced the old null version; v1 is kept.
	if got := f.getVersion(t, b, "k", "null"); string(got) != "suspended-1" {
		t.Fatalf("null version = %q", got)
	}
	if got := f.getVersion(t, b, "k", v1); string(got) != "enabled-1" {
		t.Fatalf("v1 = %q", got)
	}
	f.put(t, b, "k", []byte("suspended-2"))
	vs, _, _ = listVersions(t, f, s3.ListObjectVersionsInput{Bucket: &b})
	if !slices.Equal(vs, []ver{{"k", "null", true, false}, {"k", v1, false, false}}) {
		t.Fatalf("versions after suspended overwrites: %v", vs)
	}
	if got := f.get(t, b, "k"); string(got) != "suspended-2" {
		t.Fatalf("latest = %q", got)
	}

	// A delete in a suspended bucket puts a null delete marker in place of
	// the null version.
	del, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != "null" {
		t.Fatalf("suspended delete: marker %v version %q", aws.ToBool(del.DeleteMarker), aws.ToString(del.VersionId))
	}
	vs, _ = listVersionsRaw(t, f, b, url.Values{})
	want := []ver{{"k", "null", true, true}, {"k", v1, false, false}}
	if !slices.Equal(vs, want) {
		t.Fatalf("after suspended delete: %v, want %v", vs, want)
	}
	_, err = f.sdk.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")})
	wantErr(t, err, "NoSuchKey", http.StatusNotFound)
	// Removing the null marker brings v1 back.
	if _, err := f.sdk.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k"), VersionId: aws.String("null")}); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, b, "k"); string(got) != "enabled-1" {
		t.Fatalf("after removing the null marker latest = %q", got)
	}
}
