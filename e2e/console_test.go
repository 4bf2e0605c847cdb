package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/filesphere/filesphere/e2e/harness"
	"github.com/filesphere/filesphere/storage"
)

// TestConsole drives the web console in headless Chromium against a real
// node: log in (with the root's access key, and as a user through the
// built-in OAuth2 server's login page), create a bucket, upload a 20 MiB file and a folder with
// progress shown, resume an upload after the network drops, browse and
// page a large folder, preview, share a link and fetch it with a plain
// client, list and restore versions, undelete, edit a bucket policy with
// an error shown at its line, create a policy and a user with a password,
// register OAuth clients and an external issuer, turn a bucket's
// deduplication on and see its ratio, see that user's limited console (and its
// refusals through the console's API), watch a
// repair after a drive is emptied, drain confirmation, live graphs; and
// spot checks of labels, keyboard order and phone width. Screenshots go
// to $FILESPHERE_ARTIFACTS (or a temp folder named in the log).
func TestConsole(t *testing.T) {
	n := harness.StartNode(t, harness.NodeOptions{Name: "console", Console: true,
		// Background repairs every few seconds, slowed so that their
		// progress can be watched.
		ExtraArgs: []string{"--repair-interval", "3s", "--repair-bandwidth", strconv.Itoa(6 << 20)}})
	c := &consoleDriver{t: t, n: n, url: n.ConsoleURL(), sdk: n.SDKClient(), art: artifactsDir(t)}
	if c.url == "" {
		t.Fatal("the banner names no console")
	}
	c.ctx = harness.Browser(t)
	c.do(chromedp.EmulateViewport(1280, 900))
	bucket := harness.BucketName("console")
	c.bucket = bucket

	// Each step builds on the ones before it: the first failure stops.
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"login", c.testLogin}, {"bucket", c.testCreateBucket}, {"settings", c.testSettings}, {"dedup", c.testDedup}, {"upload", c.testUpload},
		{"resume", c.testResume}, {"browse", c.testBrowse}, {"preview and share", c.testPreviewAndShare},
		{"versions", c.testVersions}, {"users and policies", c.testUsersAndPolicies}, {"oauth clients", c.testOAuthClients},
		{"external issuers", c.testIssuers},
		{"limited console", c.testLimitedConsole},
		{"cluster and repair", c.testClusterAndRepair}, {"phone width", c.testPhoneWidth},
	} {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

type consoleDriver struct {
	t      *testing.T
	n      *harness.Node
	url    string
	sdk    *s3.Client
	ctx    context.Context
	art    string
	bucket string
	// dedupBucket deduplicates (set in the console's settings).
	dedupBucket string
	// viewer is the read-only user created in "users and policies".
	viewerKey, viewerSecret string
	bigSum                  string
}

func artifactsDir(t *testing.T) string {
	dir := os.Getenv("FILESPHERE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "filesphere-artifacts")
	}
	dir = filepath.Join(dir, "console-"+time.Now().Format("20060102-150405"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("console screenshots: %s", dir)
	return dir
}

// do runs browser actions, failing the test on error.
func (c *consoleDriver) do(actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		c.t.Fatalf("browser: %v", err)
	}
}

// void drops an action's value.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// js evaluates an expression (awaiting a promise) in the page.
func js[T any](c *consoleDriver, expr string) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		c.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitJS polls a boolean expression until it holds.
func (c *consoleDriver) waitJS(what, expr string, timeout time.Duration) {
	c.t.Helper()
	err := harness.Eventually(timeout, 50*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("not yet: %s", what)
		}
		return nil
	})
	if err != nil {
		c.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		c.t.Fatalf("waiting for %s: %v\npage text: %s", what, err, c.pageText())
	}
}

func (c *consoleDriver) pageText() string {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	return s
}

func (c *consoleDriver) waitHeading(want string) {
	c.t.Helper()
	c.waitJS("the page "+want, `document.getElementById('page-title')?.textContent === `+strconv.Quote(want), 20*time.Second)
}

// goTo opens a console route and waits for its heading.
func (c *consoleDriver) goTo(hash, heading string) {
	c.t.Helper()
	// The same route again is rendered anew, as a reload would.
	c.do(void(chromedp.Evaluate[bool](`(() => { const h = ` + strconv.Quote(hash) + `; document.getElementById('page-title')?.remove();
		if (location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange')); else location.hash = h; return true; })()`)))
	c.waitHeading(heading)
}

// shot saves a screenshot of the whole page.
func (c *consoleDriver) shot(name string) {
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(c.art, name+".png"), png, 0o644); err != nil {
		c.t.Logf("screenshot %s: %v", name, err)
	}
}

// viewShot saves what the window shows (the README's picture).
func (c *consoleDriver) viewShot(name string) {
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement.blur(); window.scrollTo(0, 0); true`))
	var png []byte
	if err == nil {
		png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(c.art, name+".png"), png, 0o644)
	}
	if err != nil {
		c.t.Logf("screenshot %s: %v", name, err)
	}
}

// waitStoredPart waits until the one multipart upload under way has a
// part stored on the server.
func (c *consoleDriver) waitStoredPart() {
	c.t.Helper()
	err := harness.Eventually(30*time.Second, 50*time.Millisecond, func() error {
		ups, err := c.sdk.ListMultipartUploads(c.ctx, &s3.ListMultipartUploadsInput{Bucket: &c.bucket})
		if err != nil || len(ups.Uploads) != 1 {
			return fmt.Errorf("uploads %v %v", ups, err)
		}
		parts, err := c.sdk.ListParts(c.ctx, &s3.ListPartsInput{Bucket: &c.bucket, Key: ups.Uploads[0].Key, UploadId: ups.Uploads[0].UploadId})
		if err != nil || len(parts.Parts) == 0 {
			return fmt.Errorf("no part stored yet (%v)", err)
		}
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

// dropFiles drags files and folders from the disk onto an element, as
// a person dragging them from a file manager would.
func (c *consoleDriver) dropFiles(id string, paths ...string) {
	c.t.Helper()
	pos := js[[]float64](c, `(() => { const e = document.getElementById(`+strconv.Quote(id)+`); e.scrollIntoView({block: 'center'});
		const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`)
	data := &input.DragData{Items: []*input.DragDataItem{}, Files: paths, DragOperationsMask: 1}
	c.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
			if _, err := cdp.Call(ctx, t, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: pos[0], Y: pos[1], Data: data}); err != nil {
				return err
			}
		}
		return nil
	}))
}

// setNetwork throttles the browser's uploads (bytes/s, 0 = unthrottled)
// or takes it offline.
func (c *consoleDriver) setNetwork(offline bool, upload float64) {
	c.t.Helper()
	if upload == 0 {
		upload = -1
	}
	c.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Offline: offline, DownloadThroughput: -1, UploadThroughput: upload}}})
		return err
	}))
}

// labelled checks that every form control on the page has a label.
func (c *consoleDriver) labelled(page string) {
	c.t.Helper()
	missing := js[string](c, `Array.from(document.querySelectorAll('main input, main select, main textarea, #uploads input'))
		.filter(e => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
		.map(e => e.outerHTML.slice(0, 80)).join('\n')`)
	if missing != "" {
		c.t.Errorf("%s: controls without a label:\n%s", page, missing)
	}
	unnamed := js[string](c, `Array.from(document.querySelectorAll('button, a[href]')).filter(e => e.offsetParent !== null && !(e.textContent.trim() || e.getAttribute('aria-label')))
		.map(e => e.outerHTML.slice(0, 80)).join('\n')`)
	if unnamed != "" {
		c.t.Errorf("%s: buttons or links without a name:\n%s", page, unnamed)
	}
}

func (c *consoleDriver) login(ak, sk string) {
	c.t.Helper()
	if !js[bool](c, `!!document.getElementById('login')`) {
		c.do(chromedp.Navigate(c.url), chromedp.WaitVisible(chromedp.ID("login")))
	}
	c.do(void(chromedp.Evaluate[bool](`document.querySelectorAll('#login input').forEach(i => { i.value = ''; }); true`)),
		chromedp.SendKeys(chromedp.CSS(`#login input[name="accessKeyId"]`), ak),
		chromedp.SendKeys(chromedp.CSS(`#login input[name="secretAccessKey"]`), sk))
	c.do(chromedp.Click(chromedp.CSS(`#login button[type="submit"]`)))
	c.waitHeading("Buckets")
}

func (c *consoleDriver) logout() {
	c.t.Helper()
	c.do(chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login")))
}

func (c *consoleDriver) testLogin(t *testing.T) {
	c.t = t
	c.do(chromedp.Navigate(c.url), chromedp.WaitVisible(chromedp.ID("login")))
	c.labelled("login")
	// Keyboard order: the access key, the secret key, the button.
	c.do(chromedp.Focus(chromedp.CSS(`#login input[name="accessKeyId"]`)), chromedp.KeyEvent("\t"))
	if got := js[string](c, `document.activeElement.name`); got != "secretAccessKey" {
		t.Errorf("Tab from the access key focused %q", got)
	}
	c.do(chromedp.KeyEvent("\t"))
	if got := js[string](c, `document.activeElement.textContent`); got != "Log in" {
		t.Errorf("Tab from the secret key focused %q", got)
	}
	// A wrong secret is refused with the API's reason.
	c.do(chromedp.SendKeys(chromedp.CSS(`#login input[name="accessKeyId"]`), c.n.AccessKey()),
		chromedp.SendKeys(chromedp.CSS(`#login input[name="secretAccessKey"]`), "not-the-secret"),
		chromedp.Click(chromedp.CSS(`#login button[type="submit"]`)))
	c.waitJS("the refusal", `document.getElementById('login-error').textContent.includes('SignatureDoesNotMatch')`, 10*time.Second)
	c.shot("01-login-refused")
	c.login(c.n.AccessKey(), c.n.SecretKey())
	// The session cookie is out of the page's reach.
	if cookies := js[string](c, `document.cookie`); cookies != "" {
		t.Errorf("the page can read cookies: %q", cookies)
	}
	if !strings.Contains(js[string](c, `document.getElementById('who').textContent`), "root") {
		t.Errorf("header: %s", c.pageText())
	}
}

func (c *consoleDriver) testCreateBucket(t *testing.T) {
	c.t = t
	c.goTo("#/", "Buckets")
	c.labelled("buckets")
	// A new page takes the focus to its content: Tab reaches its first
	// control, and Shift+Tab from there the header's last one.
	c.do(chromedp.KeyEvent("\t"))
	if got := js[string](c, `document.activeElement.labels?.[0]?.textContent || document.activeElement.textContent`); got != "New bucket name" {
		t.Errorf("the first Tab stop of the page is %q", got)
	}
	c.do(chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
	if got := js[string](c, `document.activeElement.textContent`); got != "Log out" {
		t.Errorf("Shift+Tab from the content reaches %q", got)
	}
	c.do(chromedp.SendKeys(chromedp.CSS(`#create-bucket input[name="bucket"]`), c.bucket),
		chromedp.Click(chromedp.CSS(`#create-bucket button[type="submit"]`)))
	c.waitHeading(c.bucket)
	if _, err := c.sdk.HeadBucket(c.ctx, &s3.HeadBucketInput{Bucket: &c.bucket}); err != nil {
		t.Fatalf("the bucket the console created: %v", err)
	}
	c.goTo("#/", "Buckets")
	c.waitJS("the bucket listed", `!!document.querySelector('#buckets a[href="#/b/`+c.bucket+`/"]')`, 10*time.Second)
	c.shot("02-buckets")
}

func (c *consoleDriver) testSettings(t *testing.T) {
	c.t = t
	c.goTo("#/settings/"+c.bucket, "Settings of "+c.bucket)
	c.labelled("settings")
	c.do(chromedp.Click(chromedp.ID("versioning-enable")))
	c.waitJS("versioning enabled", `document.getElementById('versioning-status').textContent === 'Status: Enabled'`, 10*time.Second)
	// Malformed JSON: the error names line 4, where the comma is missing.
	bad := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\" \"Principal\": \"*\"}\n  ]\n}"
	c.setEditor("policy-text", bad)
	c.do(chromedp.Click(chromedp.ID("policy-save")))
	c.waitJS("the syntax error", `document.getElementById('policy-text-err').textContent.startsWith('Line 4:')`, 10*time.Second)
	if js[string](c, `document.querySelector('#policy .gutter .bad')?.textContent`) != "4" {
		t.Errorf("the gutter does not mark line 4")
	}
	// Valid JSON the server refuses: the error is placed at the bad action.
	semantic := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Principal\": \"*\",\n" +
		"      \"Action\": \"s3:GetObject\",\n      \"Resource\": \"arn:aws:s3:::other-bucket/*\"\n    }\n  ]\n}"
	c.setEditor("policy-text", semantic)
	c.do(chromedp.Click(chromedp.ID("policy-save")))
	c.waitJS("the server's refusal at line 8", `document.getElementById('policy-text-err').textContent.startsWith('Line 8: MalformedPolicy')`, 10*time.Second)
	c.shot("03-policy-error")
	if _, err := c.sdk.GetBucketPolicy(c.ctx, &s3.GetBucketPolicyInput{Bucket: &c.bucket}); err == nil {
		t.Fatal("a refused policy was stored")
	}
	// Encryption as the server offers it today.
	text := js[string](c, `document.getElementById('encryption')?.textContent || ''`)
	if !strings.Contains(text, "NotImplemented") && !strings.Contains(text, "Default encryption (XML)") {
		t.Errorf("encryption section: %q", text)
	}
	c.shot("04-settings")
}

// adminCLI runs `filesphere admin ARGS` as the root, to check what the
// console did from outside it.
func (c *consoleDriver) adminCLI(args ...string) string {
	c.t.Helper()
	r := harness.RunCommand(time.Minute, []string{"PATH=" + harness.SafePath, "HOME=" + c.t.TempDir(),
		"FILESPHERE_ROOT_USER=" + c.n.AccessKey(), "FILESPHERE_ROOT_PASSWORD=" + c.n.SecretKey()}, c.t.TempDir(),
		harness.BinaryPath(c.t), append(append([]string{"admin"}, args...), c.n.AdminArgs()...)...)
	if r.Err != nil {
		c.t.Fatalf("filesphere admin %v:\n%s", args, r)
	}
	return r.Stdout
}

// testDedup turns a new bucket's deduplication on in its settings, uploads
// the same content under two keys through the console, and sees the
// status (the admin API's, as the CLI also reports it) store it once.
func (c *consoleDriver) testDedup(t *testing.T) {
	c.t = t
	c.dedupBucket = harness.BucketName("console-dedup")
	if _, err := c.sdk.CreateBucket(c.ctx, &s3.CreateBucketInput{Bucket: &c.dedupBucket}); err != nil {
		t.Fatal(err)
	}
	c.goTo("#/settings/"+c.dedupBucket, "Settings of "+c.dedupBucket)
	c.waitJS("deduplication off", `document.getElementById('dedup-status')?.textContent === 'Status: Disabled' && !document.getElementById('dedup-switch').checked`, 10*time.Second)
	c.do(chromedp.Click(chromedp.ID("dedup-switch")))
	c.waitJS("deduplication on", `document.getElementById('dedup-status').textContent === 'Status: Enabled' && document.getElementById('dedup-switch').checked`, 10*time.Second)
	dir := t.TempDir()
	one, two := filepath.Join(dir, "dup-one.bin"), filepath.Join(dir, "dup-two.bin")
	sum := harness.WriteRandomFile(t, one, 3<<20, 41)
	if harness.WriteRandomFile(t, two, 3<<20, 41) != sum {
		t.Fatal("the two files differ")
	}
	c.goTo("#/b/"+c.dedupBucket+"/", c.dedupBucket)
	c.do(chromedp.SetUploadFiles(chromedp.ID("upload-files"), []string{one, two}))
	c.waitUploaded("dup-one.bin")
	c.waitUploaded("dup-two.bin")
	for _, key := range []string{"dup-one.bin", "dup-two.bin"} {
		out, err := c.sdk.GetObject(c.ctx, &s3.GetObjectInput{Bucket: &c.dedupBucket, Key: &key})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, out.Body)
		out.Body.Close()
		if err != nil || hex.EncodeToString(h.Sum(nil)) != sum {
			t.Fatalf("%s reads back wrong (%v)", key, err)
		}
	}
	c.goTo("#/settings/"+c.dedupBucket, "Settings of "+c.dedupBucket)
	c.waitJS("a ratio above 1", `Number(document.getElementById('dedup-facts')?.dataset.ratio) > 1 && /×$/.test(document.getElementById('dedup-ratio').textContent)`, 10*time.Second)
	c.shot("04b-dedup")
	ratio := js[float64](c, `Number(document.getElementById('dedup-facts').dataset.ratio)`)
	var st storage.DedupStatus
	out := c.adminCLI("dedup", "status", c.dedupBucket, "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("dedup status: %v\n%s", err, out)
	}
	if !st.Enabled || st.LogicalBytes != 2*(3<<20) || st.StoredBytes > 3<<20 || st.Ratio != ratio {
		t.Errorf("dedup status %+v; the console showed ratio %v", st, ratio)
	}
}

func (c *consoleDriver) setEditor(id, text string) {
	c.do(void(chromedp.Evaluate[bool](`(() => { const t = document.getElementById(` + strconv.Quote(id) + `); t.value = ` + strconv.Quote(text) +
		`; t.dispatchEvent(new Event('input')); return true; })()`)))
}

// setValue chooses a value of a select or input, as a person would
// (the change event fires).
func (c *consoleDriver) setValue(id, v string) {
	c.t.Helper()
	c.do(void(chromedp.Evaluate[bool](`(() => { const e = document.getElementById(` + strconv.Quote(id) + `); e.value = ` + strconv.Quote(v) +
		`; e.dispatchEvent(new Event('change')); return e.value === ` + strconv.Quote(v) + `; })()`)))
}

// watchProgress waits until the upload of key shows partial progress
// (0 < value < max) and returns; it fails if the upload ends first.
func (c *consoleDriver) watchProgress(key string) {
	c.t.Helper()
	sel := `document.querySelector('#upload-list li[data-key=` + strconv.Quote(key) + `]')`
	c.waitJS("partial progress of "+key, `(() => { const li = `+sel+`; if (!li) return false; const p = li.querySelector('progress');
		return p.value > 0 && p.value < p.max && li.dataset.state === 'running'; })()`, 30*time.Second)
}

func (c *consoleDriver) waitUploaded(key string) {
	c.t.Helper()
	c.waitJS(key+" uploaded", `document.querySelector('#upload-list li[data-key=`+strconv.Quote(key)+`]')?.dataset.state === 'done'`, 90*time.Second)
}

func (c *consoleDriver) objectSum(key string) (string, string) {
	c.t.Helper()
	out, err := c.sdk.GetObject(c.ctx, &s3.GetObjectInput{Bucket: &c.bucket, Key: &key})
	if err != nil {
		c.t.Fatalf("GetObject %s: %v", key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, out.Body); err != nil {
		c.t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), aws.ToString(out.ETag)
}

func (c *consoleDriver) testUpload(t *testing.T) {
	c.t = t
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	c.bigSum = harness.WriteRandomFile(t, big, 20<<20, 11)
	folder := filepath.Join(dir, "album")
	sums := map[string]string{}
	for i, name := range []string{"a.txt", "b.txt", "sub/c.txt"} {
		sums["album/"+name] = harness.WriteRandomFile(t, filepath.Join(folder, name), int64(1000*(i+1)), uint64(20+i))
	}
	c.goTo("#/b/"+c.bucket+"/", c.bucket)
	c.labelled("browse")
	// 8 MiB/s: the 20 MiB file takes a few seconds, so its progress shows.
	c.setNetwork(false, 8<<20)
	c.do(chromedp.SetUploadFiles(chromedp.ID("upload-files"), []string{big}))
	c.watchProgress("big.bin")
	c.waitJS("total progress", `(() => { const p = document.getElementById('upload-total-bar'); return p.value > 0 && p.value < p.max; })()`, 10*time.Second)
	c.shot("05-upload-progress")
	c.waitUploaded("big.bin")
	c.setNetwork(false, 0)
	if sum, etag := c.objectSum("big.bin"); sum != c.bigSum || !strings.HasSuffix(etag, `-4"`) {
		t.Fatalf("big.bin: sha256 %s (want %s), ETag %s (want 4 parts)", sum, c.bigSum, etag)
	}
	// A folder, with its structure.
	c.do(chromedp.SetUploadFiles(chromedp.ID("upload-folder"), []string{folder}))
	for key := range sums {
		c.waitUploaded(key)
	}
	for key, want := range sums {
		if sum, _ := c.objectSum(key); sum != want {
			t.Errorf("%s: sha256 %s, want %s", key, sum, want)
		}
	}
	c.waitJS("the folder listed", `!!document.querySelector('#objects tr[data-prefix="album/"]')`, 20*time.Second)
	c.shot("06-uploaded")
	// Drag and drop a folder and a file onto the listing.
	dropped := filepath.Join(dir, "dropped")
	dropSums := map[string]string{
		"dropped/x.txt":     harness.WriteRandomFile(t, filepath.Join(dropped, "x.txt"), 3000, 30),
		"dropped/sub/y.txt": harness.WriteRandomFile(t, filepath.Join(dropped, "sub", "y.txt"), 4000, 31),
		"loose.txt":         harness.WriteRandomFile(t, filepath.Join(dir, "loose.txt"), 5000, 32),
	}
	c.dropFiles("dropzone", dropped, filepath.Join(dir, "loose.txt"))
	for key, want := range dropSums {
		c.waitUploaded(key)
		if sum, _ := c.objectSum(key); sum != want {
			t.Errorf("dropped %s: sha256 %s, want %s", key, sum, want)
		}
	}
}

// testResume drops the network in the middle of a multipart upload; Resume
// continues with the parts not yet stored (ListParts), and the object is
// whole.
func (c *consoleDriver) testResume(t *testing.T) {
	c.t = t
	dir := t.TempDir()
	file := filepath.Join(dir, "resume.bin")
	// 8 parts, three at a time: when the first is stored, most are not.
	want := harness.WriteRandomFile(t, file, 40<<20, 12)
	c.setNetwork(false, 4<<20)
	c.do(chromedp.SetUploadFiles(chromedp.ID("upload-files"), []string{file}))
	// Offline once at least one part is stored.
	c.waitStoredPart()
	c.setNetwork(true, 0)
	c.waitJS("the upload paused", `document.querySelector('#upload-list li[data-key="resume.bin"]').dataset.state === 'paused'`, 30*time.Second)
	if pending := js[string](c, `localStorage.getItem('filesphere-uploads')`); !strings.Contains(pending, "resume.bin") {
		t.Fatalf("the upload id is not kept for resuming: %s", pending)
	}
	c.shot("07-upload-paused")
	c.setNetwork(false, 0)
	c.do(chromedp.Click(chromedp.CSS(`#upload-list li[data-key="resume.bin"] .upload-resume`)))
	c.waitUploaded("resume.bin")
	if !strings.Contains(js[string](c, `document.querySelector('#upload-list li[data-key="resume.bin"]').textContent`), "done") {
		t.Error("resume.bin not shown done")
	}
	if n := js[string](c, `document.querySelector('#upload-list li[data-key="resume.bin"]').dataset.resumed || ''`); n == "" || n == "0" {
		t.Errorf("Resume did not reuse the stored parts (%q)", n)
	}
	if sum, etag := c.objectSum("resume.bin"); sum != want || !strings.HasSuffix(etag, `-8"`) {
		t.Fatalf("resume.bin after resuming: sha256 %s (want %s), ETag %s", sum, want, etag)
	}
	if pending := js[string](c, `localStorage.getItem('filesphere-uploads')`); strings.Contains(pending, "resume.bin") {
		t.Errorf("a finished upload is still kept for resuming: %s", pending)
	}
	uploads, err := c.sdk.ListMultipartUploads(c.ctx, &s3.ListMultipartUploadsInput{Bucket: &c.bucket})
	if err != nil || len(uploads.Uploads) != 0 {
		t.Fatalf("uploads left over: %v %v", uploads, err)
	}
	// Cancel: the multipart upload is aborted.
	c.setNetwork(false, 4<<20)
	c.do(chromedp.SetUploadFiles(chromedp.ID("upload-files"), []string{file}))
	c.waitJS("the second upload under way", `(() => { const li = document.querySelectorAll('#upload-list li[data-key="resume.bin"]')[1]; return li && li.dataset.state === 'running' && li.querySelector('progress').value > 1048576; })()`, 30*time.Second)
	c.do(chromedp.Click(chromedp.CSS(`#upload-list li[data-key="resume.bin"]:last-child .upload-cancel`)))
	c.setNetwork(false, 0)
	c.waitJS("canceled", `document.querySelectorAll('#upload-list li[data-key="resume.bin"]')[1].dataset.state === 'canceled'`, 10*time.Second)
	err = harness.Eventually(10*time.Second, 100*time.Millisecond, func() error {
		uploads, err := c.sdk.ListMultipartUploads(c.ctx, &s3.ListMultipartUploadsInput{Bucket: &c.bucket})
		if err != nil {
			return err
		}
		if len(uploads.Uploads) != 0 {
			return fmt.Errorf("%d uploads not aborted", len(uploads.Uploads))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c.do(chromedp.Click(chromedp.ID("uploads-close")))

	// A reload in the middle: the folder lists the unfinished upload, and
	// choosing the same file again continues it from the stored parts.
	other := filepath.Join(dir, "reload.bin")
	wantOther := harness.WriteRandomFile(t, other, 40<<20, 13)
	c.setNetwork(false, 4<<20)
	c.do(chromedp.SetUploadFiles(chromedp.ID("upload-files"), []string{other}))
	c.waitStoredPart()
	c.do(chromedp.Reload())
	c.waitHeading(c.bucket)
	c.setNetwork(false, 0)
	c.waitJS("the unfinished upload listed", `(document.getElementById('pending')?.textContent || '').includes('reload.bin')`, 10*time.Second)
	c.shot("07a-unfinished-after-reload")
	c.do(chromedp.SetUploadFiles(chromedp.ID("upload-files"), []string{other}))
	c.waitUploaded("reload.bin")
	if n := js[string](c, `document.querySelector('#upload-list li[data-key="reload.bin"]').dataset.resumed || ''`); n == "" || n == "0" {
		t.Errorf("the upload after the reload did not resume (stored parts reused: %q)", n)
	}
	if sum, etag := c.objectSum("reload.bin"); sum != wantOther || !strings.HasSuffix(etag, `-8"`) {
		t.Fatalf("reload.bin: sha256 %s (want %s), ETag %s", sum, wantOther, etag)
	}
	c.do(chromedp.Click(chromedp.ID("uploads-close")))
}

func (c *consoleDriver) testBrowse(t *testing.T) {
	c.t = t
	// 450 keys under many/: listed 200 at a time, never all at once.
	keys := make(chan string)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var first error
			for k := range keys {
				if _, err := c.sdk.PutObject(c.ctx, &s3.PutObjectInput{Bucket: &c.bucket, Key: &k, Body: strings.NewReader("x")}); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		}()
	}
	for i := range 450 {
		keys <- fmt.Sprintf("many/k%04d", i)
	}
	close(keys)
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	c.goTo("#/b/"+c.bucket+"/", c.bucket)
	c.waitJS("the folders", `!!document.querySelector('#objects a.folder[href$="/many/"]')`, 10*time.Second)
	c.do(chromedp.Click(chromedp.CSS(`#objects a.folder[href$="/album/"]`)))
	c.waitHeading("album/")
	c.waitJS("album's files", `document.querySelectorAll('#objects tr[data-key]').length === 2 && !!document.querySelector('#objects tr[data-prefix="album/sub/"]')`, 10*time.Second)
	c.goTo("#/b/"+c.bucket+"/many/", "many/")
	rows := `document.querySelectorAll('#objects tr[data-key]').length`
	c.waitJS("the first page", rows+` === 200 && !document.getElementById('load-more').hidden`, 10*time.Second)
	c.do(chromedp.Click(chromedp.ID("load-more")))
	c.waitJS("the second page", rows+` === 400`, 10*time.Second)
	c.do(chromedp.Click(chromedp.ID("load-more")))
	c.waitJS("the last page", rows+` === 450 && document.getElementById('load-more').hidden`, 10*time.Second)
	c.shot("08-browse-paged")
}

func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testPDF is a small valid PDF (one page with a line of text); its xref
// offsets are computed.
func testPDF() []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		"<< /Length 44 >>\nstream\nBT /F1 18 Tf 20 70 Td (FileSphere PDF) Tj ET\nendstream",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

func (c *consoleDriver) put(key, ctype string, body []byte, meta map[string]string) string {
	c.t.Helper()
	out, err := c.sdk.PutObject(c.ctx, &s3.PutObjectInput{Bucket: &c.bucket, Key: &key, Body: bytes.NewReader(body),
		ContentType: &ctype, Metadata: meta, ChecksumAlgorithm: "SHA256"})
	if err != nil {
		c.t.Fatalf("PutObject %s: %v", key, err)
	}
	return aws.ToString(out.VersionId)
}

func (c *consoleDriver) testPreviewAndShare(t *testing.T) {
	c.t = t
	text := "Quarterly notes\nline two <b>not html</b>\n"
	c.put("docs/notes.txt", "text/plain", []byte(text), map[string]string{"owner": "finance"})
	c.put("docs/chart.png", "image/png", testPNG(t), nil)
	c.put("docs/report.pdf", "application/pdf", testPDF(), nil)

	// Public read of the folder: a bucket policy statement, then anyone
	// may GET under docs/ (and only there), until it is switched off.
	anon := func(key string) int {
		resp, err := http.Get(c.n.URL("/" + c.bucket + "/" + key))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := anon("docs/notes.txt"); st != 403 {
		t.Fatalf("anonymous GET before the switch: %d", st)
	}
	c.goTo("#/b/"+c.bucket+"/docs/", "docs/")
	c.do(chromedp.Click(chromedp.ID("public-read")))
	c.waitJS("the switch on", `document.getElementById('public-read').checked && !document.getElementById('public-read').disabled`, 10*time.Second)
	if err := harness.Eventually(10*time.Second, 100*time.Millisecond, func() error {
		if st := anon("docs/notes.txt"); st != 200 {
			return fmt.Errorf("anonymous GET under docs/: %d", st)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.pageText())
	}
	if st := anon("big.bin"); st != 403 {
		t.Errorf("anonymous GET outside docs/: %d", st)
	}
	c.shot("09a-public-read")
	c.do(chromedp.Click(chromedp.ID("public-read")))
	c.waitJS("the switch off", `!document.getElementById('public-read').checked && !document.getElementById('public-read').disabled`, 10*time.Second)
	if err := harness.Eventually(10*time.Second, 100*time.Millisecond, func() error {
		if st := anon("docs/notes.txt"); st != 403 {
			return fmt.Errorf("anonymous GET after the switch off: %d", st)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	c.goTo("#/o/"+c.bucket+"/docs/notes.txt", "notes.txt")
	c.waitJS("the text preview", `document.querySelector('#preview pre')?.textContent === `+strconv.Quote(text), 10*time.Second)
	props := js[string](c, `document.getElementById('object-props').textContent`)
	for _, want := range []string{"text/plain", "Checksum SHA256", "Metadata owner", "finance", "Version"} {
		if !strings.Contains(props, want) {
			t.Errorf("object details lack %q: %s", want, props)
		}
	}
	c.labelled("object")
	// Share for 10 minutes; a plain client fetches the link.
	c.setValue("share-expiry", "600")
	c.do(chromedp.Click(chromedp.ID("share-create")))
	c.waitJS("the link", `document.getElementById('share-url').value.startsWith('http')`, 10*time.Second)
	link := js[string](c, `document.getElementById('share-url').value`)
	c.shot("09-preview-text-share")
	c.viewShot("readme-console")
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != text {
		t.Fatalf("shared link %s: %d %q", link, resp.StatusCode, body)
	}
	if !strings.Contains(link, "X-Amz-Expires=600") || !strings.HasPrefix(link, c.n.Endpoint()+"/"+c.bucket+"/docs/notes.txt?") {
		t.Errorf("shared link %s", link)
	}

	c.goTo("#/o/"+c.bucket+"/docs/chart.png", "chart.png")
	c.waitJS("the image preview", `(() => { const i = document.querySelector('#preview img'); return !!i && i.complete && i.naturalWidth === 64; })()`, 10*time.Second)
	c.shot("10-preview-image")
	c.goTo("#/o/"+c.bucket+"/docs/report.pdf", "report.pdf")
	c.waitJS("the PDF preview", `(document.querySelector('#preview iframe')?.src || '').startsWith('blob:')`, 10*time.Second)
	c.shot("11-preview-pdf")
	// The download link saves the object's bytes as an attachment.
	got := js[string](c, `fetch(document.getElementById('download').getAttribute('href')).then(async r =>
		r.status + ' ' + r.headers.get('Content-Disposition') + ' ' + (await r.arrayBuffer()).byteLength)`)
	if want := fmt.Sprintf("200 attachment; filename*=UTF-8''report.pdf %d", len(testPDF())); got != want {
		t.Errorf("download: %q, want %q", got, want)
	}
}

func (c *consoleDriver) testVersions(t *testing.T) {
	c.t = t
	key := "docs/draft.txt"
	v1 := c.put(key, "text/plain", []byte("first draft"), nil)
	c.put(key, "text/plain", []byte("second draft"), nil)
	c.put(key, "text/plain", []byte("third draft"), nil)
	c.goTo("#/o/"+c.bucket+"/"+key, "draft.txt")
	c.waitJS("three versions", `document.querySelectorAll('#versions-table tr[data-version]').length === 3`, 10*time.Second)
	c.shot("12-versions")
	c.do(chromedp.Click(chromedp.CSS(`#versions-table tr[data-version="` + v1 + `"] button.restore`)))
	c.waitJS("four versions after the restore", `document.querySelectorAll('#versions-table tr[data-version]').length === 4`, 10*time.Second)
	if got := c.get(key); got != "first draft" {
		t.Fatalf("after restoring v1 the object reads %q", got)
	}
	// Delete (a delete marker), then undelete by removing the marker.
	c.do(chromedp.Click(chromedp.ID("delete-object")))
	c.confirm()
	c.waitHeading("docs/")
	if _, err := c.sdk.HeadObject(c.ctx, &s3.HeadObjectInput{Bucket: &c.bucket, Key: &key}); err == nil {
		t.Fatal("the deleted object is still current")
	}
	c.goTo("#/o/"+c.bucket+"/"+key, "draft.txt")
	c.waitJS("the deleted state", `!!document.getElementById('object-deleted') && !!document.querySelector('#versions-table tr[data-marker="true"] button.undelete')`, 10*time.Second)
	c.shot("13-deleted")
	c.do(chromedp.Click(chromedp.CSS(`#versions-table tr[data-marker="true"] button.undelete`)))
	c.waitJS("undeleted", `!document.getElementById('object-deleted') && !!document.getElementById('object-props')`, 10*time.Second)
	if got := c.get(key); got != "first draft" {
		t.Fatalf("after undelete the object reads %q", got)
	}
}

func (c *consoleDriver) get(key string) string {
	c.t.Helper()
	out, err := c.sdk.GetObject(c.ctx, &s3.GetObjectInput{Bucket: &c.bucket, Key: &key})
	if err != nil {
		c.t.Fatalf("GetObject %s: %v", key, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return string(b)
}

// confirm presses OK in the console's confirmation dialog.
func (c *consoleDriver) confirm() {
	c.t.Helper()
	c.waitJS("the dialog", `document.getElementById('dialog').open`, 10*time.Second)
	c.do(chromedp.Click(chromedp.ID("dialog-ok")))
}

func (c *consoleDriver) testUsersAndPolicies(t *testing.T) {
	c.t = t
	c.goTo("#/admin/policies", "Policies")
	c.labelled("policies")
	doc := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"},` +
		`{"Effect":"Allow","Action":"admin:DedupStatus","Resource":"*"},` +
		`{"Effect":"Allow","Action":["s3:ListBucket","s3:ListBucketVersions","s3:GetBucketVersioning"],"Resource":"arn:aws:s3:::` + c.bucket + `"},` +
		`{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion","s3:GetObjectTagging"],"Resource":"arn:aws:s3:::` + c.bucket + `/*"}]}`
	c.do(chromedp.SendKeys(chromedp.ID("policy-name"), "console-readonly"))
	c.setEditor("policy-doc", strings.Replace(doc, `"Effect":"Allow","Action":"s3:ListAllMyBuckets"`, `"Effect":"Allow" "Action":"s3:ListAllMyBuckets"`, 1))
	c.do(chromedp.Click(chromedp.CSS(`#create-policy button[type="submit"]`)))
	c.waitJS("the syntax error", `document.getElementById('policy-doc-err').textContent.startsWith('Line 1:')`, 10*time.Second)
	c.setEditor("policy-doc", doc)
	c.do(chromedp.Click(chromedp.CSS(`#create-policy button[type="submit"]`)))
	c.waitJS("the policy listed", `document.getElementById('policies').textContent.includes('console-readonly')`, 10*time.Second)
	c.shot("14-policies")

	c.goTo("#/admin/users", "Users")
	c.do(chromedp.SendKeys(chromedp.ID("create-user-name"), "viewer"), chromedp.Click(chromedp.CSS(`#create-user button[type="submit"]`)))
	c.waitHeading("User viewer")
	c.labelled("user")
	c.setValue("user-attach-policy", "arn:aws:iam::"+c.account()+":policy/console-readonly")
	c.do(chromedp.Click(chromedp.ID("user-attach")))
	c.waitJS("the policy attached", `(document.getElementById('user-policies')?.textContent || '').includes('console-readonly')`, 10*time.Second)
	c.do(chromedp.Click(chromedp.ID("create-key")))
	c.waitJS("the new secret", `document.getElementById('dialog').open && document.getElementById('new-secret').value.length >= 30`, 10*time.Second)
	c.viewerKey = js[string](c, `document.getElementById('new-key-id').textContent`)
	c.viewerSecret = js[string](c, `document.getElementById('new-secret').value`)
	c.shot("15-new-access-key")
	c.do(chromedp.Click(chromedp.ID("dialog-ok")))
	c.waitJS("the key listed and the secret gone", `!document.getElementById('dialog').open && document.getElementById('access-keys').textContent.includes(`+strconv.Quote(c.viewerKey)+`)`, 10*time.Second)
	if strings.Contains(c.pageText(), c.viewerSecret) {
		t.Error("the secret is still shown after the dialog")
	}
	// A password, for "Log in with FileSphere".
	c.do(chromedp.SendKeys(chromedp.ID("user-password"), viewerPassword), chromedp.Click(chromedp.CSS(`#set-password button[type="submit"]`)))
	c.waitJS("the password set", `(document.getElementById('user-password-state')?.textContent || '').includes('can log in with FileSphere')`, 10*time.Second)
	// A group, and the user in it.
	c.goTo("#/admin/groups", "Groups")
	c.do(chromedp.SendKeys(chromedp.ID("create-group-name"), "readers"), chromedp.Click(chromedp.CSS(`#create-group button[type="submit"]`)))
	c.waitHeading("Group readers")
	c.goTo("#/admin/users/viewer", "User viewer")
	c.setValue("user-add-group", "readers")
	c.do(chromedp.Click(chromedp.ID("user-add-to-group")))
	c.waitJS("the user in the group", `document.querySelector('a[href="#/admin/groups/readers"]') !== null`, 10*time.Second)
	c.goTo("#/admin/groups/readers", "Group readers")
	c.waitJS("the member listed", `(document.getElementById('group-members-title')?.parentElement.textContent || '').includes('viewer')`, 10*time.Second)
}

// viewerPassword is the read-only user's password (set in the console).
const viewerPassword = "Corr3ct-Horse-Viewer!"

// testOAuthClients: the console's own client is registered with its
// callback; a public client is registered and removed (with a
// confirmation), a confidential one shows its secret once.
func (c *consoleDriver) testOAuthClients(t *testing.T) {
	c.t = t
	c.goTo("#/admin/oauth", "OAuth clients")
	c.labelled("oauth clients")
	callback := c.url + "/api/login/web-identity/callback"
	c.waitJS("the console's client", `(document.querySelector('#oauth-clients tr[data-client="filesphere-console"]')?.textContent || '').includes(`+strconv.Quote(callback)+`)`, 10*time.Second)
	if !js[bool](c, `document.querySelectorAll('#signing-keys tbody tr').length >= 1 && document.getElementById('signing-keys').textContent.includes('ES256')`) {
		t.Errorf("signing keys: %s", js[string](c, `document.getElementById('signing-keys')?.textContent || ''`))
	}
	c.do(chromedp.SendKeys(chromedp.ID("client-name"), "cli"), chromedp.SendKeys(chromedp.ID("client-redirect-uris"), "http://127.0.0.1/callback"),
		chromedp.Click(chromedp.CSS(`#create-client button[type="submit"]`)))
	c.waitJS("the public client listed", `!!document.querySelector('#oauth-clients tr[data-client="cli"]')`, 10*time.Second)
	c.do(chromedp.SendKeys(chromedp.ID("client-name"), "backup"))
	c.setValue("client-grant", "client_credentials")
	c.do(chromedp.SendKeys(chromedp.ID("client-user"), "viewer"), chromedp.Click(chromedp.CSS(`#create-client button[type="submit"]`)))
	c.waitJS("the client secret", `document.getElementById('dialog').open && (document.getElementById('new-client-secret')?.value.length || 0) >= 40`, 10*time.Second)
	secret := js[string](c, `document.getElementById('new-client-secret').value`)
	c.shot("16-oauth-client-secret")
	c.do(chromedp.Click(chromedp.ID("dialog-ok")))
	c.waitJS("the confidential client listed", `!document.getElementById('dialog').open && (document.querySelector('#oauth-clients tr[data-client="backup"]')?.textContent || '').includes('acts as viewer')`, 10*time.Second)
	if strings.Contains(c.pageText(), secret) {
		t.Error("the client secret is still shown after the dialog")
	}
	c.do(chromedp.Click(chromedp.CSS(`#oauth-clients tr[data-client="cli"] button.danger`)))
	c.confirm()
	c.waitJS("the client removed", `!document.querySelector('#oauth-clients tr[data-client="cli"]') && !!document.querySelector('#oauth-clients tr[data-client="backup"]')`, 10*time.Second)
	c.shot("17-oauth-clients")
}

// testIssuers registers an external OpenID Connect issuer (a real one,
// served here) in its screen, after a mapping the form refuses and a URL
// the server refuses, and removes it with a confirmation; the CLI sees
// both changes.
func (c *consoleDriver) testIssuers(t *testing.T) {
	c.t = t
	idp := newTestOIDC(t)
	c.goTo("#/admin/issuers", "External issuers")
	c.labelled("external issuers")
	c.waitJS("no issuer yet", `!!document.getElementById('oauth-issuers') && !document.querySelector('#oauth-issuers tr[data-issuer]')`, 10*time.Second)
	role := "arn:aws:iam::" + c.account() + ":role/ci"
	submit := func() { c.do(chromedp.Click(chromedp.CSS(`#add-issuer button[type="submit"]`))) }
	c.setValue("issuer-url", idp.srv.URL)
	c.setValue("issuer-audiences", "filesphere\nfilesphere-ci")
	c.setValue("issuer-claim-roles", "groups=ci")
	submit()
	c.waitJS("the mapping refused in the form", `document.getElementById('issuer-error').textContent.includes('is not CLAIM=VALUE=ROLE_ARN')`, 10*time.Second)
	c.setValue("issuer-claim-roles", "groups=ci="+role)
	c.setValue("issuer-url", "http://issuer.example.com")
	submit()
	c.waitJS("the URL refused by the server", `/^InvalidArgument: .*must use https/.test(document.getElementById('issuer-error').textContent)`, 10*time.Second)
	c.setValue("issuer-url", idp.srv.URL)
	submit()
	row := `document.querySelector('#oauth-issuers tr[data-issuer=` + strconv.Quote(idp.srv.URL) + `]')`
	c.waitJS("the issuer listed", `(`+row+`?.textContent || '').includes('filesphere-ci') && `+row+`.textContent.includes('groups = ci → '+`+strconv.Quote(role)+`)`, 10*time.Second)
	if l := c.adminCLI("oauth", "issuer", "list"); !strings.Contains(l, idp.srv.URL) || !strings.Contains(l, "groups=ci="+role) {
		t.Errorf("issuer list after registering in the console:\n%s", l)
	}
	c.shot("17b-external-issuers")
	c.do(chromedp.Click(chromedp.CSS(`#oauth-issuers tr[data-issuer="` + idp.srv.URL + `"] button.danger`)))
	c.confirm()
	c.waitJS("the issuer removed", `!`+row+` && !!document.getElementById('oauth-issuers')`, 10*time.Second)
	if l := c.adminCLI("oauth", "issuer", "list"); strings.Contains(l, idp.srv.URL) {
		t.Errorf("issuer list after removing in the console:\n%s", l)
	}
}

// oauthLogin logs in with "Log in with FileSphere": the built-in login
// page of the node's OAuth2 server, then back to the console.
func (c *consoleDriver) oauthLogin(user, password string) {
	c.t.Helper()
	c.do(chromedp.Click(chromedp.ID("login-web-identity")))
	c.waitJS("the OAuth2 login page", `location.href.startsWith(`+strconv.Quote(c.n.Endpoint()+"/.filesphere/oauth/authorize?")+`) && !!document.getElementById('username')`, 20*time.Second)
	if !strings.Contains(c.pageText(), "Sign in to FileSphere for filesphere-console") {
		c.t.Errorf("login page: %s", c.pageText())
	}
	c.shot("18-oauth-login-page")
	c.do(chromedp.SendKeys(chromedp.ID("username"), user), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`button[value="approve"]`)))
	c.waitJS("back on the console", `location.href.startsWith(`+strconv.Quote(c.url+"/")+`)`, 20*time.Second)
	c.waitHeading("Buckets")
}

func (c *consoleDriver) account() string {
	return js[string](c, `fetch('/api/session').then(r => r.json()).then(s => s.account)`)
}

// testLimitedConsole logs in as the read-only user: no buttons for what it
// may not do, and the console's API refuses those actions anyway.
func (c *consoleDriver) testLimitedConsole(t *testing.T) {
	c.t = t
	c.logout()
	// A wrong password is refused on the login page itself; the right one
	// comes back to the console as the user, with the user's own
	// temporary credentials.
	c.do(chromedp.Click(chromedp.ID("login-web-identity")))
	c.waitJS("the OAuth2 login page", `!!document.getElementById('username')`, 20*time.Second)
	c.do(chromedp.SendKeys(chromedp.ID("username"), "viewer"), chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
		chromedp.Click(chromedp.CSS(`button[value="approve"]`)))
	c.waitJS("the refusal", `(document.querySelector('p.err')?.textContent || '').includes('incorrect')`, 20*time.Second)
	c.do(chromedp.Navigate(c.url), chromedp.WaitVisible(chromedp.ID("login")))
	c.oauthLogin("viewer", viewerPassword)
	who := js[string](c, `fetch('/api/session').then(r => r.json()).then(s => s.arn + ' ' + s.accessKeyId + ' ' + s.root)`)
	if f := strings.Fields(who); len(f) != 3 || !strings.HasSuffix(f[0], ":user/viewer") || !strings.HasPrefix(f[1], "ASIA") || f[2] != "false" {
		t.Errorf("the OAuth session: %s", who)
	}
	if !strings.Contains(js[string](c, `document.getElementById('who').textContent`), "viewer") {
		t.Errorf("header: %s", c.pageText())
	}
	c.shot("19-oauth-logged-in")
	if js[bool](c, `!document.getElementById('nav-admin').hidden || !document.getElementById('nav-cluster').hidden || !!document.getElementById('create-bucket')`) {
		t.Error("the read-only user sees admin navigation or bucket creation")
	}
	c.goTo("#/b/"+c.bucket+"/docs/", "docs/")
	c.waitJS("the listing", `document.querySelectorAll('#objects tr[data-key]').length >= 3`, 10*time.Second)
	if n := js[int](c, `document.querySelectorAll('main button.danger, #upload-files, #upload-folder, #public-read').length`); n != 0 {
		t.Errorf("the read-only user sees %d delete, upload or policy controls", n)
	}
	c.shot("20-readonly-browse")
	c.goTo("#/o/"+c.bucket+"/docs/notes.txt", "notes.txt")
	c.waitJS("the preview", `!!document.querySelector('#preview pre')`, 10*time.Second)
	if js[bool](c, `!!document.getElementById('delete-object') || !!document.querySelector('#versions-table button.restore, #versions-table button.danger')`) {
		t.Error("the read-only user sees delete or restore buttons")
	}
	// Through the console's own API, bypassing the page: refused by S3.
	got := js[string](c, `fetch('/api/session').then(r => r.json()).then(s => fetch('/api/s3/`+c.bucket+`/docs/notes.txt', {method: 'DELETE', headers: {'X-Filesphere-Csrf': s.csrf}}))
		.then(async r => r.status + ' ' + await r.text())`)
	if !strings.HasPrefix(got, "403 ") || !strings.Contains(got, "<Code>AccessDenied</Code>") || !strings.Contains(got, "user/viewer is not authorized to perform: s3:DeleteObject") {
		t.Errorf("DELETE through the console API as the read-only user: %s", got)
	}
	if c.get("docs/notes.txt") == "" {
		t.Fatal("the object is gone")
	}
	got = js[string](c, `fetch('/api/session').then(r => r.json()).then(s => fetch('/api/iam', {method: 'POST', body: 'Action=CreateUser&UserName=mallory&Version=2010-05-08',
		headers: {'X-Filesphere-Csrf': s.csrf, 'Content-Type': 'application/x-www-form-urlencoded'}})).then(async r => r.status + ' ' + await r.text())`)
	if !strings.HasPrefix(got, "403 ") || !strings.Contains(got, "AccessDenied") {
		t.Errorf("CreateUser through the console API as the read-only user: %s", got)
	}
	for _, call := range []string{"POST /api/s3/.filesphere/admin/v1/heal", "POST /api/s3/.filesphere/admin/v1/oauth/clients?name=x&grant=device_code&public=true",
		"PUT /api/s3/" + c.bucket + "/docs/new.txt", "PUT /api/s3/" + c.bucket + "?versioning",
		"POST /api/s3/.filesphere/admin/v1/dedup?bucket=" + c.dedupBucket + "&state=disabled"} {
		method, path, _ := strings.Cut(call, " ")
		body := "undefined"
		if method == "PUT" {
			body = "'x'"
		}
		got = js[string](c, `fetch('/api/session').then(r => r.json()).then(s => fetch(`+strconv.Quote(path)+`, {method: `+strconv.Quote(method)+`, body: `+body+`, headers: {'X-Filesphere-Csrf': s.csrf}}))
			.then(async r => r.status + ' ' + await r.text())`)
		if !strings.HasPrefix(got, "403 ") || !strings.Contains(got, "AccessDenied") {
			t.Errorf("%s through the console API as the read-only user: %s", call, got)
		}
	}
	c.goTo("#/settings/"+c.bucket, "Settings of "+c.bucket)
	if js[bool](c, `!!document.getElementById('versioning-enable') || !!document.getElementById('policy-save') || !!document.getElementById('bucket-delete')`) {
		t.Error("the read-only user sees settings it may not change")
	}
	// admin:DedupStatus but not admin:Dedup: the status, and no switch;
	// the refused POST above changed nothing.
	c.goTo("#/settings/"+c.dedupBucket, "Settings of "+c.dedupBucket)
	c.waitJS("the deduplication status", `document.getElementById('dedup-status')?.textContent === 'Status: Enabled'`, 10*time.Second)
	if js[bool](c, `!!document.getElementById('dedup-switch')`) {
		t.Error("the read-only user sees the deduplication switch")
	}
	c.shot("20b-readonly-dedup")
	c.logout()
	c.login(c.n.AccessKey(), c.n.SecretKey())
}

func (c *consoleDriver) testClusterAndRepair(t *testing.T) {
	c.t = t
	c.goTo("#/cluster", "Cluster")
	c.waitJS("the node and its drives", `document.querySelectorAll('#nodes tr.drive').length === 4 && document.getElementById('cluster-summary').textContent.includes('Leader')`, 15*time.Second)
	c.labelled("cluster")
	// Empty one drive folder, then repair from the console.
	drive := filepath.Join(c.n.DataDir(), "drive2")
	ents, err := os.ReadDir(drive)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(drive, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	// The background repair notices within its interval; its progress
	// shows while it runs (slowed by --repair-bandwidth).
	c.waitJS("the repair running", `!!document.getElementById('repair-running')`, 30*time.Second)
	c.shot("21-repair-progress")
	c.waitJS("streams healed", `/healed [1-9]/.test(document.getElementById('repair').textContent)`, 60*time.Second)
	c.waitJS("the repair done", `!document.getElementById('repair-running')`, 60*time.Second)
	// The incremental repair's state: its queue and the placement sweep
	// that rebuilt the emptied drive.
	c.waitJS("the queue and the sweep shown", `/^Repair queue: /.test(document.getElementById('repair-queue')?.textContent || '') &&
		/^Placement sweep/.test(document.getElementById('repair-sweep')?.textContent || '')`, 20*time.Second)
	if n := countShards(t, drive); n == 0 {
		t.Fatal("no shard is back on the emptied drive")
	}
	// A pass from the console's button: every stream whole again.
	c.do(chromedp.Click(chromedp.ID("heal-now")))
	c.waitJS("a pass with every stream whole", `(() => { const rows = document.querySelectorAll('#redundancy tr[data-level]');
		return !document.getElementById('repair-running') && rows.length === 1 && rows[0].dataset.level === '4' && / 0 failed/.test(document.getElementById('repair-last').textContent); })()`, 60*time.Second)
	c.shot("22-repair-done")
	// Drain asks for confirmation; cancelling changes nothing.
	c.do(chromedp.Click(chromedp.CSS(`#nodes button.drain`)))
	c.waitJS("the drain confirmation", `document.getElementById('dialog').open && document.getElementById('dialog-title').textContent.startsWith('Drain node')`, 10*time.Second)
	c.shot("23-drain-confirm")
	c.do(chromedp.Click(chromedp.ID("dialog-cancel")))
	c.waitJS("the dialog closed", `!document.getElementById('dialog').open`, 10*time.Second)
	if strings.Contains(js[string](c, `document.getElementById('nodes').textContent`), "draining") {
		t.Fatal("a cancelled drain started")
	}
	// Live graphs from the node's metrics, fed by some traffic.
	for i := range 20 {
		c.put(fmt.Sprintf("traffic/%d", i), "text/plain", bytes.Repeat([]byte("t"), 50_000), nil)
	}
	c.waitJS("the graphs", `/\d/.test(document.getElementById('graph-requests-now').textContent) && document.querySelector('#graph-sent polyline')?.getAttribute('points')?.split(' ').length >= 2`, 20*time.Second)
	c.shot("24-cluster")
}

// testPhoneWidth loads the main pages at 390 px: nothing may be wider than
// the screen.
func (c *consoleDriver) testPhoneWidth(t *testing.T) {
	c.t = t
	c.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	defer c.do(chromedp.EmulateViewport(1280, 900))
	for i, p := range []struct{ hash, heading string }{
		{"#/", "Buckets"},
		{"#/b/" + c.bucket + "/docs/", "docs/"},
		{"#/o/" + c.bucket + "/docs/notes.txt", "notes.txt"},
		{"#/settings/" + c.bucket, "Settings of " + c.bucket},
		{"#/admin/users/viewer", "User viewer"},
		{"#/cluster", "Cluster"},
	} {
		c.goTo(p.hash, p.heading)
		c.waitJS("the page at phone width", `document.readyState === 'complete'`, 5*time.Second)
		if w := js[string](c, `document.documentElement.scrollWidth + ' ' + window.innerWidth`); func() bool {
			f := strings.Fields(w)
			sw, _ := strconv.Atoi(f[0])
			iw, _ := strconv.Atoi(f[1])
			return sw > iw
		}() {
			t.Errorf("%s overflows at 390 px: scroll width, window width = %s", p.hash, w)
		}
		c.shot(fmt.Sprintf("25-phone-%d", i))
	}
}

// TestConsoleTLS: with the S3 API on HTTPS the console is HTTPS too (the
// same certificate), its cookie Secure and __Host- prefixed, and its
// shared links https.
func TestConsoleTLS(t *testing.T) {
	n := harness.StartNode(t, harness.NodeOptions{Name: "console-tls", Console: true, ExtraArgs: []string{"--tls-auto"}})
	u := n.ConsoleURL()
	if !strings.HasPrefix(u, "https://") {
		t.Fatalf("console URL %q", u)
	}
	client := n.HTTPClient(30 * time.Second)
	body := strings.NewReader(`{"accessKeyId":"` + n.AccessKey() + `","secretAccessKey":"` + n.SecretKey() + `"}`)
	req, _ := http.NewRequest("POST", u+"/api/login", body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(out), `"s3Endpoint":"`+n.Endpoint()+`"`) {
		t.Fatalf("login: %d %s", resp.StatusCode, out)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-filesphere_console" || !cookies[0].Secure || !cookies[0].HttpOnly {
		t.Fatalf("cookies over TLS: %+v", cookies)
	}
	req, _ = http.NewRequest("GET", u+"/api/s3/", nil)
	req.AddCookie(cookies[0])
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(out), "<ListAllMyBucketsResult") {
		t.Fatalf("ListBuckets through the console: %d %s", resp.StatusCode, out)
	}
	// Log in with FileSphere over https: the issuer's https authorization
	// endpoint, the pending login in a Secure, __Host- cookie.
	noFollow := *client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noFollow.Get(u + "/api/login/web-identity")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, n.Endpoint()+"/.filesphere/oauth/authorize?") ||
		!strings.Contains(loc, "redirect_uri="+url.QueryEscape(u+"/api/login/web-identity/callback")) {
		t.Fatalf("OAuth start over TLS: %d %s", resp.StatusCode, loc)
	}
	cookies = resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-filesphere_console_login" || !cookies[0].Secure || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("pending login cookie over TLS: %+v", cookies)
	}
}
