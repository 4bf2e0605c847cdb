package iam

import (
	"context"
	"testing"

	"github.com/filesphere/filesphere/iam/policy"
)

// benchSetup: a user in a group, with an inline policy, a managed policy
// on the group and one on the user — a typical per-request identity.
func benchSetup(b *testing.B) (*Service, *Credential) {
	s, _, _ := newTestService(b)
	ctx := context.Background()
	k := newUserWithKey(b, s, "alice")
	ok(b, s.PutInlinePolicy(ctx, UserEntity("alice"), "home",
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}`))
	must[Group](b)(s.CreateGroup(ctx, "readers", ""))
	ok(b, s.AddUserToGroup(ctx, "readers", "alice"))
	mp := must[ManagedPolicy](b)(s.CreatePolicy(ctx, CreatePolicyInput{Name: "Read",
		Document: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"]}}`}))
	ok(b, s.AttachPolicy(ctx, GroupEntity("readers"), mp.ARN))
	deny := must[ManagedPolicy](b)(s.CreatePolicy(ctx, CreatePolicyInput{Name: "NoDeletes",
		Document: `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::photos/keep/*"}}`}))
	ok(b, s.AttachPolicy(ctx, UserEntity("alice"), deny.ARN))
	return s, must[*Credential](b)(s.Credentials(ctx, k.AccessKeyID))
}

// The per-request SigV4 lookup of a cached key.
func BenchmarkCredentials(b *testing.B) {
	s, c := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Credentials(ctx, c.AccessKeyID); err != nil {
			b.Fatal(err)
		}
	}
}

// Resolving a key after an IAM change emptied the cache (KV reads, open
// the sealed secret, gather and compile-cache policies).
func BenchmarkCredentialsUncached(b *testing.B) {
	s, c := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.resolve(ctx, s.stale, c.AccessKeyID, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// The per-request authorization with a bucket policy.
func BenchmarkAuthorize(b *testing.B) {
	s, c := benchSetup(b)
	ctx := context.Background()
	bucket, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::photos/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`), policy.KindResource)
	ok(b, err)
	req := AuthRequest{Caller: c, Action: "s3:GetObject", Resource: policy.S3ObjectARN("photos", "2024/cat.jpg"),
		ResourcePolicy: bucket, ResourcePolicyName: "bucket policy"}
	req.Context.Set(policy.KeySecureTransport, "true")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := s.Authorize(ctx, req)
		if err != nil || !d.Allowed() {
			b.Fatal(d, err)
		}
	}
}

// Both, as every signed request does them.
func BenchmarkCredentialsAndAuthorize(b *testing.B) {
	s, c := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cred, err := s.Credentials(ctx, c.AccessKeyID)
		if err != nil {
			b.Fatal(err)
		}
		d, err := s.Authorize(ctx, AuthRequest{Caller: cred, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"})
		if err != nil || !d.Allowed() {
			b.Fatal(d, err)
		}
	}
}
