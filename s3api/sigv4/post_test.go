package sigv4

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

// The worked example of the S3 API reference, "Example: Browser-Based
// Upload using HTTP POST (Using AWS Signature Version 4)": its policy in
// the exact base64 form AWS publishes, and the signature AWS gives for it
// with the documentation key pair.
const (
	awsPostPolicy    = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
	awsPostSignature = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
	awsPostCred      = exampleAccessKey + "/20151229/us-east-1/s3/aws4_request"
	awsPostDate      = "20151229T000000Z"
)

func awsPostForm() PostForm {
	return PostForm{Policy: awsPostPolicy, Algorithm: "AWS4-HMAC-SHA256", Credential: awsPostCred,
		Date: awsPostDate, Signature: awsPostSignature}
}

func TestVerifyPost(t *testing.T) {
	// The policy's expiration, not the clock, bounds a form: a verifier
	// years later still accepts the signature.
	v := newTestVerifier(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil)
	sign := func(f PostForm, secret string) PostForm {
		key := tSigningKey(secret, f.Date[:8], "us-east-1")
		f.Signature = hex.EncodeToString(tHMAC(key, f.Policy))
		return f
	}
	tests := []struct {
		name string
		form func(PostForm) PostForm
		want error
	}{
		{"the AWS example", func(f PostForm) PostForm { return f }, nil},
		{"a policy of our own", func(f PostForm) PostForm { f.Policy = "eyJ9"; return sign(f, exampleSecret) }, nil},
		{"another secret", func(f PostForm) PostForm { return sign(f, "not-the-secret") }, ErrSignatureDoesNotMatch},
		{"tampered policy", func(f PostForm) PostForm { f.Policy = "x" + f.Policy[1:]; return f }, ErrSignatureDoesNotMatch},
		{"unknown key", func(f PostForm) PostForm {
			f.Credential = "AKIDUNKNOWN/20151229/us-east-1/s3/aws4_request"
			return f
		}, ErrInvalidAccessKeyID},
		{"SigV4A", func(f PostForm) PostForm { f.Algorithm = "AWS4-ECDSA-P256-SHA256"; return f }, ErrUnsupportedAlgorithm},
		{"no algorithm", func(f PostForm) PostForm { f.Algorithm = ""; return f }, ErrUnsupportedAlgorithm},
		{"malformed credential", func(f PostForm) PostForm { f.Credential = exampleAccessKey; return f }, ErrInvalidPostForm},
		{"other service", func(f PostForm) PostForm {
			f.Credential = exampleAccessKey + "/20151229/us-east-1/iam/aws4_request"
			return f
		}, ErrInvalidPostForm},
		{"date not the scope's", func(f PostForm) PostForm { f.Date = "20151230T000000Z"; return f }, ErrInvalidPostForm},
		{"date unreadable", func(f PostForm) PostForm { f.Date = "2015-12-29"; return f }, ErrInvalidPostForm},
		{"other region", func(f PostForm) PostForm {
			f.Credential = exampleAccessKey + "/20151229/eu-west-1/s3/aws4_request"
			return sign(f, exampleSecret)
		}, ErrInvalidPostForm},
		{"short signature", func(f PostForm) PostForm { f.Signature = f.Signature[:63]; return f }, ErrInvalidPostForm},
		{"no policy", func(f PostForm) PostForm { f.Policy = ""; return sign(f, exampleSecret) }, ErrInvalidPostForm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := v.VerifyPost(tc.form(awsPostForm()))
			wantErr(t, err, tc.want)
			if err != nil {
				return
			}
			if res.AccessKey != exampleAccessKey || !res.PostPolicy || res.Anonymous || res.Presigned || res.Body != nil {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// A signature mismatch tells the client what was signed (the policy), as
// for the other forms, so it can compare with its own.
func TestVerifyPostMismatchDetail(t *testing.T) {
	v := newTestVerifier(t, exampleTime, nil)
	f := awsPostForm()
	f.Signature = awsPostSignature[:60] + "0000"
	_, err := v.VerifyPost(f)
	var sm *SignatureMismatchError
	if !errors.As(err, &sm) || sm.StringToSign != awsPostPolicy || sm.AccessKey != exampleAccessKey {
		t.Fatalf("error %v", err)
	}
}

func BenchmarkVerifyPost(b *testing.B) {
	v := newTestVerifier(b, exampleTime, nil)
	f := awsPostForm()
	b.ReportAllocs()
	b.SetBytes(int64(len(f.Policy)))
	for b.Loop() {
		if _, err := v.VerifyPost(f); err != nil {
			b.Fatal(err)
		}
	}
}
