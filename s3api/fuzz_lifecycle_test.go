package s3api

import (
	"encoding/xml"
	"reflect"
	"testing"
)

// FuzzLifecycleConfiguration: a lifecycle document never panics the
// parser; what it accepts and the engine validates renders to a document
// that parses back to the same configuration.
func FuzzLifecycleConfiguration(f *testing.F) {
	for _, s := range []string{
		`<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><Prefix>p/</Prefix></Filter><Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><Status>Disabled</Status><Prefix>x</Prefix><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>4</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><ID>b</ID><Status>Enabled</Status><Filter><And><Prefix>q</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></And></Filter><Expiration><Date>2031-01-01T00:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><ID>c</ID><Status>Enabled</Status><Filter></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><Transition><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var in lifecycleXML
		if xml.Unmarshal([]byte(doc), &in) != nil {
			return
		}
		lc, err := parseLifecycle(in)
		if err != nil || lc.Validate() != nil {
			return
		}
		for _, r := range lc.Rules {
			if r.ID == "" {
				return // the engine names it; the id is what reads back
			}
		}
		out, err := xml.Marshal(renderLifecycle(lc))
		if err != nil {
			t.Fatal(err)
		}
		var again lifecycleXML
		if err := xml.Unmarshal(out, &again); err != nil {
			t.Fatalf("rendered %s does not parse: %v", out, err)
		}
		back, err := parseLifecycle(again)
		if err != nil || !reflect.DeepEqual(back, lc) {
			t.Fatalf("%s\nparsed %+v\nrendered %s\nreads %+v (%v)", doc, lc, out, back, err)
		}
	})
}
