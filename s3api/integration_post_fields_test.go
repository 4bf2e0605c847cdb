package s3api_test

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/filesphere/filesphere/storage"
)

// documentedPostFields are the form fields the S3 API reference documents
// for POST Object (and its SigV4 authentication). Each one is honoured or
// refused: the walk fails on a field without a case.
var documentedPostFields = []string{
	"acl", "awsaccesskeyid", "cache-control", "content-type", "content-disposition", "content-encoding", "expires",
	"content-md5", "key", "policy", "success_action_redirect", "redirect", "success_action_status", "tagging",
	"x-amz-storage-class", "x-amz-meta-*", "x-amz-security-token", "x-amz-signature", "x-amz-algorithm",
	"x-amz-credential", "x-amz-date", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
	"x-amz-server-side-encryption-context", "x-amz-server-side-encryption-bucket-key-enabled",
	"x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key",
	"x-amz-server-side-encryption-customer-key-md5", "x-amz-website-redirect-location", "x-amz-checksum-algorithm",
	"x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme", "x-amz-checksum-sha1",
	"x-amz-checksum-sha256", "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date",
	"x-amz-object-lock-legal-hold", "file",
}

// postFieldCases: want "" means the form succeeds and stores (with the
// status given), else the error code; {braces} are computed.
var postFieldCases = []struct {
	field, value, want string
}{
	{"acl", "private", ""}, {"acl", "bucket-owner-full-control", ""}, {"acl", "public-read", ni}, {"acl", "nonsense", inv},
	{"awsaccesskeyid", "AKIAIOSFODNN7EXAMPLE", inv},
	{"cache-control", "no-cache", ""}, {"content-type", "text/x-walk", ""}, {"content-disposition", "attachment", ""},
	{"content-encoding", "gzip", ""}, {"expires", "{date}", ""}, {"x-amz-meta-*", "blue", ""},
	{"content-md5", "{md5}", ""}, {"content-md5", "{badmd5}", "BadDigest"},
	// The key, the policy and the signature fields are in every case.
	{"key", "{key}", ""}, {"policy", "{signed}", ""}, {"x-amz-signature", "{signed}", ""}, {"x-amz-algorithm", "{signed}", ""},
	{"x-amz-credential", "{signed}", ""}, {"x-amz-date", "{signed}", ""}, {"file", "{file}", ""},
	{"success_action_redirect", "https://app.example.test/ok", ""}, {"redirect", "https://app.example.test/ok", ""},
	{"success_action_status", "201", ""}, {"success_action_status", "200", ""},
	{"tagging", "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>", ni},
	{"x-amz-storage-class", "STANDARD", ""}, {"x-amz-storage-class", "GLACIER", ni}, {"x-amz-storage-class", "COLD", "InvalidStorageClass"},
	// A session token is checked as with the header: a permanent key's
	// form carrying one that is not its session's is refused.
	{"x-amz-security-token", "token", "InvalidToken"},
	{"x-amz-server-side-encryption", "AES256", ni}, {"x-amz-server-side-encryption", "rot13", inv},
	{"x-amz-server-side-encryption-aws-kms-key-id", "key-1", ni}, {"x-amz-server-side-encryption-context", "e30=", ni},
	{"x-amz-server-side-encryption-bucket-key-enabled", "true", ni},
	{"x-amz-server-side-encryption-customer-algorithm", "AES256", ni},
	{"x-amz-server-side-encryption-customer-key", "{ssekey}", ni}, {"x-amz-server-side-encryption-customer-key-md5", "{ssekeymd5}", ni},
	{"x-amz-website-redirect-location", "/elsewhere", ni},
	{"x-amz-checksum-algorithm", "CRC32", ""}, {"x-amz-checksum-algorithm", "SHA512", ni},
	{"x-amz-checksum-algorithm", "ADLER32", "InvalidRequest"},
	{"x-amz-checksum-crc32", "{crc32}", ""}, {"x-amz-checksum-crc32", "{badcrc32}", "BadDigest"},
	{"x-amz-checksum-crc32c", "{crc32c}", ""}, {"x-amz-checksum-crc64nvme", "{crc64nvme}", ""},
	{"x-amz-checksum-sha1", "{sha1}", ""}, {"x-amz-checksum-sha256", "{sha256}", ""},
	{"x-amz-object-lock-mode", "GOVERNANCE", ni}, {"x-amz-object-lock-mode", "FOREVER", inv},
	{"x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z", ni},
	{"x-amz-object-lock-legal-hold", "ON", ni}, {"x-amz-object-lock-legal-hold", "MAYBE", inv},
}

// TestDocumentedPostFields walks every form field AWS documents for POST
// Object: each is honoured (the form stores, and a field with an effect
// has it) or refused with the right code, and then nothing is stored.
func TestDocumentedPostFields(t *testing.T) {
	f := newFixture(t)
	b := f.bucket(t)
	body := []byte("the file of the form walk")
	for _, name := range documentedPostFields {
		if !slices.ContainsFunc(postFieldCases, func(c struct{ field, value, want string }) bool { return c.field == name }) {
			t.Errorf("documented form field %s has no case", name)
		}
	}
	b64 := base64.StdEncoding.EncodeToString
	sseKey := []byte(strings.Repeat("k", 32))
	for i, tc := range postFieldCases {
		name := strings.ReplaceAll(tc.field, "*", "color")
		t.Run(tc.field+"="+strings.ReplaceAll(tc.value, "/", "_"), func(t *testing.T) {
			if !slices.Contains(documentedPostFields, tc.field) {
				t.Fatal("a case for a field AWS does not document")
			}
			key := fmt.Sprintf("walk-%d", i)
			value := tc.value
			switch tc.value {
			case "{date}":
				value = time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
			case "{md5}":
				value = contentMD5(body)
			case "{badmd5}":
				value = contentMD5([]byte("other"))
			case "{badcrc32}":
				value = b64(sumOf(storage.ChecksumCRC32, []byte("other")))
			case "{crc32}", "{crc32c}", "{crc64nvme}", "{sha1}", "{sha256}":
				value = b64(sumOf(storage.ChecksumAlgorithm(strings.ToUpper(strings.Trim(tc.value, "{}"))), body))
			case "{ssekey}":
				value = b64(sseKey)
			case "{ssekeymd5}":
				value = contentMD5(sseKey)
			}
			fields := []field{{"key", key}}
			conds := []any{anyKey}
			// The key, the file and the signature fields are in every form.
			if !slices.Contains([]string{"key", "file", "policy", "x-amz-signature", "x-amz-algorithm", "x-amz-credential", "x-amz-date"}, tc.field) {
				fields = append(fields, field{name, value})
				conds = append(conds, []any{"starts-with", "$" + name, ""})
			}
			form := postForm{fields: f.signed(fields, signing{}, conds...), file: body}
			if tc.field == "awsaccesskeyid" {
				form = postForm{fields: []field{{"key", key}, {"AWSAccessKeyId", value}, {"policy", "e30="}, {"signature", "c2ln"}}, file: body}
			}
			resp, rb := f.post(t, b, form)
			if tc.want == "" {
				if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("want success, got %d: %s", resp.StatusCode, rb)
				}
				if !f.exists(t, b, key) {
					t.Fatal("the form succeeded but stored nothing")
				}
				postFieldEffect(t, f, b, key, name, value, resp)
				return
			}
			var doc errorDoc
			if xml.Unmarshal(rb, &doc) != nil || doc.Code != tc.want {
				t.Fatalf("want %s, got %d: %s", tc.want, resp.StatusCode, rb)
			}
			if tc.want == ni && !strings.Contains(doc.Message, name) {
				t.Errorf("the NotImplemented message does not name %s: %s", name, doc.Message)
			}
			if f.exists(t, b, key) {
				t.Fatalf("refused with %s but stored", tc.want)
			}
		})
	}
}

// postFieldEffect confirms the honoured fields with an effect had it.
func postFieldEffect(t *testing.T, f *fixture, b, key, name, value string, resp *http.Response) {
	t.Helper()
	out, err := f.sdk.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	var got, want string
	switch name {
	case "content-type":
		got, want = *out.ContentType, value
	case "cache-control":
		got, want = *out.CacheControl, value
	case "content-disposition":
		got, want = *out.ContentDisposition, value
	case "content-encoding":
		got, want = *out.ContentEncoding, value
	case "x-amz-meta-color":
		got, want = out.Metadata["color"], value
	case "x-amz-checksum-sha256":
		got, want = *out.ChecksumSHA256, value
	case "x-amz-checksum-crc32":
		got, want = *out.ChecksumCRC32, value
	case "x-amz-checksum-algorithm":
		got, want = fmt.Sprint(out.ChecksumCRC32 != nil), "true"
	case "success_action_status":
		got, want = fmt.Sprint(resp.StatusCode), value
	case "success_action_redirect", "redirect":
		got, want = fmt.Sprint(resp.StatusCode, strings.HasPrefix(resp.Header.Get("Location"), value+"?bucket=")), "303 true"
	default:
		return
	}
	if got != want {
		t.Errorf("%s: %q, want %q", name, got, want)
	}
}
