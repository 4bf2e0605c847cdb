package s3api

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTaggingHeader: x-amz-tagging never panics; what it accepts obeys
// S3's tag rules and reads back the same once re-encoded.
func FuzzTaggingHeader(f *testing.F) {
	for _, s := range []string{"a=b", "a=b&c=d", "a=b&a=c", "k%3D=v%26", "=v", "a", "aws%3Ax=1", "%zz=1", "ü=é&x=%20"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tags, err := parseTaggingHeader(http.Header{"X-Amz-Tagging": {v}})
		if err != nil {
			return
		}
		if checkObjectTags(tags) != nil {
			t.Fatalf("accepted tags that break the rules: %q → %+v", v, tags)
		}
		var enc []string
		for _, tg := range tags {
			if !utf8.ValidString(tg.Key) || utf8.RuneCountInString(tg.Key) > maxTagKeyLen {
				t.Fatalf("accepted key %q", tg.Key)
			}
			enc = append(enc, url.QueryEscape(tg.Key)+"="+url.QueryEscape(tg.Value))
		}
		again, err := parseTaggingHeader(http.Header{"X-Amz-Tagging": {strings.Join(enc, "&")}})
		if err != nil || len(again) != len(tags) {
			t.Fatalf("re-encoded %q: %+v, %v", v, again, err)
		}
		for i := range tags {
			if again[i] != tags[i] {
				t.Fatalf("re-encoded %q reads %+v, was %+v", v, again, tags)
			}
		}
	})
}

// FuzzObjectLockConfiguration: a configuration document never panics and
// what is accepted is a valid default retention.
func FuzzObjectLockConfiguration(f *testing.F) {
	for _, s := range []string{
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>99999999999</Years></DefaultRetention></Rule></ObjectLockConfiguration>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc objectLockConfiguration
		if xml.Unmarshal(data, &doc) != nil {
			return
		}
		cfg, err := lockConfig(doc)
		if err == nil && cfg.Default != nil && cfg.Default.Validate() != nil {
			t.Fatalf("accepted %+v", *cfg.Default)
		}
	})
}
