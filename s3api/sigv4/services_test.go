package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// queryRequest is an IAM/STS Query API request as botocore and the SDKs
// sign it: a form POST signed for service with the payload hash in the
// signature but no x-amz-content-sha256 header.
func queryRequest(t *testing.T, service, form string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", "http://s3.example.test:9000/", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(form))
	creds := aws.Credentials{AccessKeyID: exampleAccessKey, SecretAccessKey: exampleSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", sdkTime); err != nil {
		t.Fatal(err)
	}
	return overWire(t, req)
}

func servicesVerifier(t *testing.T, services ...string) *Verifier {
	t.Helper()
	c := DefaultConfig()
	c.Now = func() time.Time { return sdkTime }
	c.Lookup = staticLookup(map[string]string{exampleAccessKey: exampleSecret})
	c.Services = services
	c.MaxHashedBody = 1 << 10
	v, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestQueryAPISignatures(t *testing.T) {
	form := url.Values{"Action": {"CreateUser"}, "UserName": {"alice"}, "Version": {"2010-05-08"}}.Encode()
	v := servicesVerifier(t, "s3", "iam", "sts")
	for _, svc := range []string{"iam", "sts"} {
		t.Run(svc, func(t *testing.T) {
			res, err := v.Verify(queryRequest(t, svc, form))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Service != svc || res.AccessKey != exampleAccessKey || !res.Signed.Equal(sdkTime) {
				t.Fatalf("result %+v", res)
			}
			body, err := io.ReadAll(res.Body)
			if err != nil || string(body) != form {
				t.Fatalf("body %q, %v", body, err)
			}
		})
	}
	t.Run("tampered body", func(t *testing.T) {
		r := queryRequest(t, "iam", form)
		r.Body = io.NopCloser(strings.NewReader(strings.Replace(form, "alice", "admin", 1)))
		if _, err := v.Verify(r); !errors.Is(err, ErrSignatureDoesNotMatch) {
			t.Fatalf("got %v, want a signature mismatch", err)
		}
	})
	t.Run("signed for iam, sent as sts", func(t *testing.T) {
		r := queryRequest(t, "iam", form)
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/iam/", "/sts/", 1))
		if _, err := v.Verify(r); !errors.Is(err, ErrSignatureDoesNotMatch) {
			t.Fatalf("got %v, want a signature mismatch (the key is per service)", err)
		}
	})
	t.Run("service not served", func(t *testing.T) {
		_, err := servicesVerifier(t, "s3").Verify(queryRequest(t, "iam", form))
		wantErr(t, err, ErrAuthorizationHeaderMalformed)
	})
	t.Run("body too large to hash", func(t *testing.T) {
		big := form + "&Tags=" + strings.Repeat("x", 2<<10)
		_, err := v.Verify(queryRequest(t, "iam", big))
		wantErr(t, err, ErrBodyTooLarge)
	})
	t.Run("s3 still needs the header", func(t *testing.T) {
		_, err := v.Verify(queryRequest(t, "s3", form))
		wantErr(t, err, ErrMissingContentSHA256)
	})
}

func TestVerifyWithUsesItsLookup(t *testing.T) {
	v := servicesVerifier(t, "iam")
	form := "Action=GetUser&Version=2010-05-08"
	var asked string
	_, err := v.VerifyWith(queryRequest(t, "iam", form), func(ak string) (string, error) {
		asked = ak
		return "", ErrInvalidAccessKeyID
	})
	if !errors.Is(err, ErrInvalidAccessKeyID) || asked != exampleAccessKey {
		t.Fatalf("got %v (asked %q)", err, asked)
	}
	if _, err := v.VerifyWith(queryRequest(t, "iam", form), nil); !errors.Is(err, ErrInvalidAccessKeyID) {
		t.Fatalf("nil lookup: %v", err)
	}
}

func TestConfigServices(t *testing.T) {
	c := DefaultConfig()
	c.Lookup = staticLookup(nil)
	for _, tc := range []struct {
		services []string
		ok       bool
	}{{[]string{"s3"}, true}, {[]string{"s3", "iam", "sts"}, true}, {nil, false}, {[]string{"ec2"}, false}} {
		c.Services = tc.services
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("Services %v: Validate() = %v", tc.services, err)
		}
	}
}
