package e2e

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/chromedp/chromedp"
	"github.com/filesphere/filesphere/e2e/harness"
)

// TestBrowserAccess: FileSphere used the way browser applications use S3,
// from another origin. boto3's generate_presigned_post submitted by curl;
// the aws cli's put-bucket-cors checked with curl preflights; and real
// headless Chromium submitting an HTML form served by another origin, and
// running fetch() PUTs to presigned URLs through CORS preflights.
func TestBrowserAccess(t *testing.T) {
	n := harness.StartNode(t, harness.NodeOptions{Name: "browser"})
	t.Run("boto3 presigned post", func(t *testing.T) { testPresignedPost(t, n) })
	t.Run("aws cli cors", func(t *testing.T) { testCLICORS(t, n) })
	t.Run("chromium", func(t *testing.T) {
		ctx := harness.Browser(t)
		t.Run("html form", func(t *testing.T) { testBrowserForm(t, n, ctx) })
		t.Run("fetch through cors", func(t *testing.T) { testBrowserFetch(t, n, ctx) })
	})
}

// presignedPostScript prints boto3's generate_presigned_post for a key
// ending in ${filename}, with a size range and a 201 answer.
const presignedPostScript = `
import json, os, sys
import boto3
from botocore.config import Config

bucket, maxsize = sys.argv[1], int(sys.argv[2])
s3 = boto3.client("s3", endpoint_url=os.environ["FS_ENDPOINT"], region_name="us-east-1",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
post = s3.generate_presigned_post(
    Bucket=bucket, Key="boto3/${filename}",
    Fields={"Content-Type": "text/plain", "success_action_status": "201", "x-amz-meta-client": "boto3"},
    Conditions=[{"Content-Type": "text/plain"}, {"success_action_status": "201"}, {"x-amz-meta-client": "boto3"},
                ["content-length-range", 1, maxsize]],
    ExpiresIn=600)
print(json.dumps(post))
`

func testPresignedPost(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	harness.RequireTool(t, harness.Python3)
	harness.RequireTool(t, harness.Curl)
	b := harness.BucketName("post")
	c.MustAWS("s3", "mb", "s3://"+b)
	dir := t.TempDir()
	small, big := filepath.Join(dir, "notes.txt"), filepath.Join(dir, "big.txt")
	sum := harness.WriteRandomFile(t, small, 300_000, 501)
	harness.WriteRandomFile(t, big, 2<<20, 502)

	out := c.Must(c.Python(presignedPostScript, b, "1048576"))
	var post struct {
		URL    string            `json:"url"`
		Fields map[string]string `json:"fields"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &post); err != nil {
		t.Fatalf("generate_presigned_post output: %v\n%s", err, out)
	}
	if post.URL != n.URL("/"+b) || post.Fields["x-amz-signature"] == "" || post.Fields["policy"] == "" {
		t.Fatalf("generate_presigned_post gave %+v", post)
	}
	submit := func(file, body string) string {
		args := []string{"-sS", "-o", body, "-w", "%{http_code}"}
		for k, v := range post.Fields {
			args = append(args, "--form-string", k+"="+v)
		}
		return c.Must(c.Curl(append(args, "-F", "file=@"+file, post.URL)...))
	}
	body := filepath.Join(dir, "answer.xml")
	if status := submit(small, body); status != "201" {
		doc, _ := os.ReadFile(body)
		t.Fatalf("curl POST of the boto3 form: status %s\n%s", status, doc)
	}
	var pr struct {
		Bucket, Key, ETag, Location string
	}
	doc, _ := os.ReadFile(body)
	if err := xml.Unmarshal(doc, &pr); err != nil || pr.Bucket != b || pr.Key != "boto3/notes.txt" || !strings.HasPrefix(pr.ETag, `"`) {
		t.Fatalf("PostResponse: %v\n%s", err, doc)
	}
	head := c.MustAWS("s3api", "head-object", "--bucket", b, "--key", "boto3/notes.txt")
	if !strings.Contains(head, `"ContentLength": 300000`) || !strings.Contains(head, `"ContentType": "text/plain"`) ||
		!strings.Contains(head, `"client": "boto3"`) {
		t.Errorf("object uploaded with the boto3 form:\n%s", head)
	}
	got := filepath.Join(dir, "got.txt")
	c.MustAWS("s3", "cp", "s3://"+b+"/boto3/notes.txt", got)
	if harness.SHA256File(t, got) != sum {
		t.Error("the POSTed object reads back other bytes")
	}
	// Past the policy's content-length-range: refused, nothing stored.
	if status := submit(big, body); status != "400" {
		t.Fatalf("oversize POST: status %s", status)
	}
	if doc, _ := os.ReadFile(body); !strings.Contains(string(doc), "<Code>EntityTooLarge</Code>") {
		t.Errorf("oversize POST answer:\n%s", doc)
	}
	if r := c.AWS("s3api", "head-object", "--bucket", b, "--key", "boto3/big.txt"); r.Err == nil {
		t.Error("the oversize file was stored")
	}
}

const cliCORS = `{"CORSRules": [
  {"ID": "app", "AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "PUT"],
   "AllowedHeaders": ["content-type", "x-amz-*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
  {"AllowedOrigins": ["http://*.example.org"], "AllowedMethods": ["GET"]}
]}`

func testCLICORS(t *testing.T, n *harness.Node) {
	c := n.Clients(t)
	harness.RequireTool(t, harness.Curl)
	b := harness.BucketName("cors")
	c.MustAWS("s3", "mb", "s3://"+b)
	cfg := filepath.Join(t.TempDir(), "cors.json")
	if err := os.WriteFile(cfg, []byte(cliCORS), 0o600); err != nil {
		t.Fatal(err)
	}
	c.MustAWS("s3api", "put-bucket-cors", "--bucket", b, "--cors-configuration", "file://"+cfg)
	got := c.MustAWS("s3api", "get-bucket-cors", "--bucket", b)
	var back struct{ CORSRules []types.CORSRule }
	if err := json.Unmarshal([]byte(got), &back); err != nil || len(back.CORSRules) != 2 || *back.CORSRules[0].ID != "app" ||
		*back.CORSRules[0].MaxAgeSeconds != 600 {
		t.Fatalf("get-bucket-cors:\n%s", got)
	}
	preflight := func(origin, method, headers string) (string, http.Header) {
		hdrs := filepath.Join(t.TempDir(), "headers")
		args := []string{"-sS", "-o", "/dev/null", "-D", hdrs, "-w", "%{http_code}", "-X", "OPTIONS",
			"-H", "Origin: " + origin, "-H", "Access-Control-Request-Method: " + method}
		if headers != "" {
			args = append(args, "-H", "Access-Control-Request-Headers: "+headers)
		}
		status := c.Must(c.Curl(append(args, n.URL("/"+b+"/photo.jpg"))...))
		raw, _ := os.ReadFile(hdrs)
		h := http.Header{}
		for _, line := range strings.Split(string(raw), "\r\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				h.Add(k, strings.TrimSpace(v))
			}
		}
		return status, h
	}
	status, h := preflight("https://app.example.com", "PUT", "Content-Type,X-Amz-Date")
	if status != "200" || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		h.Get("Access-Control-Allow-Methods") != "GET, PUT" || h.Get("Access-Control-Allow-Headers") != "content-type, x-amz-date" ||
		h.Get("Access-Control-Expose-Headers") != "ETag" || h.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("allowed preflight: %s %v", status, h)
	}
	if status, h := preflight("http://shop.example.org", "GET", ""); status != "200" || h.Get("Access-Control-Allow-Origin") != "http://shop.example.org" {
		t.Errorf("wildcard preflight: %s %v", status, h)
	}
	for _, tc := range [][3]string{
		{"https://evil.example.net", "PUT", ""},
		{"https://app.example.com", "DELETE", ""},
		{"https://app.example.com", "PUT", "authorization"},
	} {
		if status, h := preflight(tc[0], tc[1], tc[2]); status != "403" || h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("refused preflight %v: %s %v", tc, status, h)
		}
	}
	c.MustAWS("s3api", "delete-bucket-cors", "--bucket", b)
	if r := c.AWS("s3api", "get-bucket-cors", "--bucket", b); r.Err == nil || !strings.Contains(r.Output, "NoSuchCORSConfiguration") {
		t.Errorf("get-bucket-cors after delete:\n%s", r)
	}
	if status, _ := preflight("https://app.example.com", "PUT", ""); status != "403" {
		t.Errorf("preflight after delete-bucket-cors: %s", status)
	}
}

// appServer is the browser application: another origin (another port)
// than FileSphere, serving pages and recording what the browser reports.
type appServer struct {
	*httptest.Server
	pages map[string]string
	done  chan url.Values
}

func newApp(t *testing.T) *appServer {
	a := &appServer{pages: map[string]string{}, done: make(chan url.Values, 4)}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/done" {
			a.done <- r.URL.Query()
			io.WriteString(w, `<!doctype html><title>done</title><p id="done">uploaded</p>`)
			return
		}
		page, ok := a.pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	t.Cleanup(a.Close)
	return a
}

var formPage = template.Must(template.New("form").Parse(`<!doctype html>
<html><head><title>upload</title></head><body>
<form id="upload" action="{{.Action}}" method="post" enctype="multipart/form-data">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<input type="file" name="file">
<input type="submit" id="submit" name="submit" value="Upload to FileSphere">
</form></body></html>`))

func testBrowserForm(t *testing.T, n *harness.Node, ctx context.Context) {
	sdk := n.SDKClient()
	b := harness.BucketName("form")
	if _, err := sdk.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	app := newApp(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "hello.txt")
	content := []byte(strings.Repeat("uploaded from chromium through an HTML form\n", 200))
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	form := func(path string, maxSize int) {
		fields, err := n.Signer().PostForm(time.Now().Add(10*time.Minute),
			map[string]string{"bucket": b}, []any{"starts-with", "$key", "browser/"},
			[]any{"starts-with", "$Content-Type", "text/"}, map[string]string{"x-amz-meta-uploaded-by": "chromium"},
			map[string]string{"success_action_redirect": app.URL + "/done"}, []any{"content-length-range", 1, maxSize})
		if err != nil {
			t.Fatal(err)
		}
		fields["key"] = "browser/${filename}"
		fields["Content-Type"] = "text/plain"
		fields["x-amz-meta-uploaded-by"] = "chromium"
		fields["success_action_redirect"] = app.URL + "/done"
		var page strings.Builder
		if err := formPage.Execute(&page, map[string]any{"Action": n.URL("/" + b), "Fields": fields}); err != nil {
			t.Fatal(err)
		}
		app.pages[path] = page.String()
	}
	form("/form", 1<<20)
	form("/small-form", 100)

	step, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.Navigate(app.URL+"/form"),
		chromedp.WaitVisible(chromedp.ID("submit")),
		chromedp.SetUploadFiles(chromedp.CSS(`input[name="file"]`), []string{file}),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("done")),
	)
	if err != nil {
		t.Fatalf("browser form upload: %v", err)
	}
	var q url.Values
	select {
	case q = <-app.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the browser was not redirected to success_action_redirect")
	}
	sum := md5.Sum(content)
	if q.Get("bucket") != b || q.Get("key") != "browser/hello.txt" || q.Get("etag") != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Fatalf("redirect query %v", q)
	}
	out, err := sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("browser/hello.txt")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(got) != string(content) || *out.ContentType != "text/plain" || out.Metadata["uploaded-by"] != "chromium" {
		t.Fatalf("stored %d bytes, %s, %v", len(got), *out.ContentType, out.Metadata)
	}

	// A form whose policy the file breaks: the browser shows S3's error,
	// and nothing is stored.
	second := filepath.Join(dir, "second.txt")
	if err := os.WriteFile(second, []byte(strings.Repeat("too long for the policy\n", 50)), 0o600); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(step,
		chromedp.Navigate(app.URL+"/small-form"),
		chromedp.WaitVisible(chromedp.ID("submit")),
		chromedp.SetUploadFiles(chromedp.CSS(`input[name="file"]`), []string{second}),
		chromedp.Click(chromedp.ID("submit")),
	)
	var text string
	if err == nil {
		// The submission navigates away; until it has, evaluations fail or
		// still see the form page.
		err = harness.Eventually(30*time.Second, 100*time.Millisecond, func() error {
			page, err := chromedp.Run(step, chromedp.Evaluate[string](`location.pathname + "\n" + document.documentElement.textContent`))
			if err != nil {
				return err
			}
			path, rest, _ := strings.Cut(page, "\n")
			if path != "/"+b {
				return errorf("still on %s", path)
			}
			text = rest
			return nil
		})
	}
	if err != nil {
		t.Fatalf("browser form upload past the policy: %v", err)
	}
	if !strings.Contains(text, "EntityTooLarge") || !strings.Contains(text, "100") {
		t.Fatalf("the browser shows %q", text)
	}
	if _, err := sdk.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("browser/second.txt")}); err == nil {
		t.Fatal("the file of the refused form was stored")
	}
}

// fetchScript PUTs a body to a URL and reports the status and the ETag
// the page may read (only an exposed header is visible to it).
const fetchScript = `async function put(url, body) {
  try {
    const r = await fetch(url, {method: "PUT", body: body, headers: {"Content-Type": "text/plain"}});
    return r.status + " " + (r.headers.get("ETag") || "no-etag");
  } catch (e) {
    return "failed: " + e.name;
  }
}`

func testBrowserFetch(t *testing.T, n *harness.Node, ctx context.Context) {
	sdk := n.SDKClient()
	app := newApp(t)
	app.pages["/app"] = `<!doctype html><title>app</title><script>` + fetchScript + `</script><p id="ready">ready</p>`
	withCORS, without := harness.BucketName("fetch"), harness.BucketName("nocors")
	for _, b := range []string{withCORS, without} {
		if _, err := sdk.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := sdk.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: &withCORS, CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{app.URL}, AllowedMethods: []string{"PUT", "GET"},
			AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(60)}}}})
	if err != nil {
		t.Fatal(err)
	}
	presign := s3.NewPresignClient(sdk)
	put := func(b, key, body string) string {
		t.Helper()
		req, err := presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: &key}, s3.WithPresignExpires(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		arg, _ := json.Marshal([]string{req.URL, body})
		step, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		err = chromedp.Do(step, chromedp.Navigate(app.URL+"/app"), chromedp.WaitVisible(chromedp.ID("ready")))
		var res string
		if err == nil {
			res, err = chromedp.Run(step, chromedp.Evaluate[string](`put(...`+string(arg)+`)`, chromedp.EvalAwaitPromise))
		}
		if err != nil {
			t.Fatalf("fetch from the page: %v", err)
		}
		return res
	}
	body := "written by fetch() from " + app.URL
	sum := md5.Sum([]byte(body))
	if got, want := put(withCORS, "fetched.txt", body), `200 "`+hex.EncodeToString(sum[:])+`"`; got != want {
		t.Fatalf("fetch PUT through CORS: %q, want %q", got, want)
	}
	out, err := sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: &withCORS, Key: aws.String("fetched.txt")})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(stored) != body {
		t.Fatalf("stored %q", stored)
	}
	// Without a CORS configuration the preflight is refused, so the
	// browser never sends the PUT.
	if got := put(without, "blocked.txt", body); got != "failed: TypeError" {
		t.Fatalf("fetch PUT without CORS: %q", got)
	}
	if _, err := sdk.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &without, Key: aws.String("blocked.txt")}); err == nil {
		t.Fatal("the PUT whose preflight was refused was stored")
	}
}
