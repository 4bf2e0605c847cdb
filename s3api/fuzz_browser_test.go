package s3api

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"mime/multipart"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzCORSConfig: parsing never panics, an accepted configuration is
// within S3's limits, and it reads back as itself once stored.
func FuzzCORSConfig(f *testing.F) {
	for _, s := range []string{
		`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CORSRule><ID>a</ID><AllowedHeader>x-amz-*</AllowedHeader>` +
			`<AllowedMethod>PUT</AllowedMethod><AllowedOrigin>https://*.example.com</AllowedOrigin><ExposeHeader>ETag</ExposeHeader>` +
			`<MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration><CORSRule><AllowedOrigin>**</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration><CORSRule><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule></CORSConfiguration>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseCORS(data)
		if err != nil {
			if c := toAPIError(err).Code; c != ErrMalformedXML && c != ErrInvalidRequest && c != ErrInvalidArgument {
				t.Fatalf("refused with %s", c)
			}
			return
		}
		if len(cfg.Rules) == 0 || len(cfg.Rules) > maxCORSRules {
			t.Fatalf("accepted %d rules", len(cfg.Rules))
		}
		for _, r := range cfg.Rules {
			for _, m := range r.AllowedMethods {
				if !slices.Contains(corsMethods, m) {
					t.Fatalf("accepted method %q", m)
				}
			}
			for _, o := range r.AllowedOrigins {
				if strings.Count(o, "*") > 1 {
					t.Fatalf("accepted origin %q", o)
				}
			}
		}
		doc, err := xml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseCORS(doc)
		if err != nil {
			t.Fatalf("stored document %s does not parse: %v", doc, err)
		}
		if doc2, _ := xml.Marshal(again); !bytes.Equal(doc, doc2) {
			t.Fatalf("round trip changed the document:\n%s\n%s", doc, doc2)
		}
	})
}

// FuzzPostPolicy: a policy document never panics the parser or the
// check, and every refusal is InvalidPolicyDocument or AccessDenied.
func FuzzPostPolicy(f *testing.F) {
	for _, s := range []string{
		`{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key",""],["content-length-range",0,10]]}`,
		`{"expiration":"2030-01-01T00:00:00.000Z","conditions":[["eq","$Content-Type","image/png"]]}`,
		`{"expiration":"x","conditions":[[]]}`,
		`{"conditions":[["content-length-range",1e3,2]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePostPolicy(base64.StdEncoding.EncodeToString(data))
		if err != nil {
			if c := toAPIError(err).Code; c != ErrInvalidPolicyDocument {
				t.Fatalf("refused with %s", c)
			}
			return
		}
		if p.sized && (p.minSize < 0 || p.maxSize < p.minSize) {
			t.Fatalf("accepted range [%d, %d]", p.minSize, p.maxSize)
		}
		err = p.check(time.Unix(0, 0), map[string]string{"key": "k", "bucket": "b"}, []string{"key"})
		if err != nil && toAPIError(err).Code != ErrAccessDenied {
			t.Fatalf("check refused with %s", toAPIError(err).Code)
		}
	})
}

// FuzzPostForm: any body read as a form ends in a form with its file or
// one of the form's errors, never a panic, and never reads past the
// bound before the file.
func FuzzPostForm(f *testing.F) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.SetBoundary("fuzzboundary")
	w.WriteField("key", "a/${filename}")
	w.WriteField("policy", "e30=")
	fw, _ := w.CreateFormFile("file", "x.txt")
	fw.Write([]byte("data"))
	w.Close()
	f.Add(b.Bytes())
	f.Add([]byte("--fuzzboundary\r\n\r\n--fuzzboundary--"))
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &tallyReader{r: bytes.NewReader(data)}
		raw := &formReader{r: src, limit: maxPostPreData + postRawSlack}
		form, err := readForm(multipart.NewReader(raw, "fuzzboundary"))
		if src.n > maxPostPreData+postRawSlack {
			t.Fatalf("read %d bytes before the file", src.n)
		}
		if err != nil {
			switch c := toAPIError(formError(err, raw.eof)).Code; c {
			case ErrMalformedPOSTRequest, ErrIncompleteBody, ErrIncorrectNumberOfFilesInPost, ErrInvalidArgument,
				ErrMaxPostPreDataLengthExceeded:
			default:
				t.Fatalf("form refused with %s", c)
			}
			return
		}
		if form.file == nil {
			t.Fatal("a form without its file")
		}
		size := 0
		for n, v := range form.fields {
			size += len(n) + len(v)
		}
		if size > maxPostPreData || len(form.fields) > maxPostFields {
			t.Fatalf("accepted %d bytes in %d fields", size, len(form.fields))
		}
	})
}
