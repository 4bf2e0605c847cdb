package bench

import (
	"encoding/xml"
	"slices"
	"strings"
	"testing"
)

// refParse is the encoding/xml reading parseListPage must agree with.
func refParse(t *testing.T, b []byte) ListPage {
	t.Helper()
	var doc struct {
		Contents []struct {
			Key string `xml:"Key"`
		} `xml:"Contents"`
		IsTruncated           bool   `xml:"IsTruncated"`
		NextContinuationToken string `xml:"NextContinuationToken"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var p ListPage
	for _, c := range doc.Contents {
		p.Keys = append(p.Keys, c.Key)
	}
	if doc.IsTruncated {
		p.Next = doc.NextContinuationToken
	}
	return p
}

func TestParseListPageAgreesWithEncodingXML(t *testing.T) {
	head := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>`
	entry := func(k string) string {
		return `<Contents><Key>` + k + `</Key><LastModified>2026-01-02T15:04:05.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>`
	}
	for _, tc := range []struct{ name, body string }{
		{"empty", head + `<KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`},
		{"plain", head + `<KeyCount>2</KeyCount><IsTruncated>false</IsTruncated>` + entry("p/a") + entry("p/b") + `</ListBucketResult>`},
		{"escaped", head + `<KeyCount>3</KeyCount><IsTruncated>false</IsTruncated>` + entry("p/a&amp;b") + entry("p/&lt;x&gt; &#233;t&#xE9;") + entry("p/é ü") + `</ListBucketResult>`},
		{"truncated", head + `<KeyCount>1</KeyCount><IsTruncated>true</IsTruncated><NextContinuationToken>cC9i&amp;Yw==</NextContinuationToken>` + entry("p/a") + `</ListBucketResult>`},
		{"no keycount", head + `<IsTruncated>false</IsTruncated>` + entry("p/z") + `</ListBucketResult>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseListPage([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			want := refParse(t, []byte(tc.body))
			if !slices.Equal(got.Keys, want.Keys) || got.Next != want.Next {
				t.Fatalf("got %q next %q, encoding/xml reads %q next %q", got.Keys, got.Next, want.Keys, want.Next)
			}
		})
	}
	for _, bad := range []string{
		`<Error><Code>InternalError</Code></Error>`,
		head + `<KeyCount>2</KeyCount>` + entry("p/a") + `</ListBucketResult>`,
		head + `<IsTruncated>true</IsTruncated>` + entry("p/a") + `</ListBucketResult>`,
		head + `<Contents><Key>p/a`,
		head + `<Contents><Key>p/&bogus;</Key></Contents></ListBucketResult>`,
	} {
		if p, err := parseListPage([]byte(bad)); err == nil {
			t.Errorf("accepted %q as %+v", strings.TrimPrefix(bad, head), p)
		}
	}
}
