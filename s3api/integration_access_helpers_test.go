package s3api_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/iam"
)

// key is a credential other than the root's.
type key struct{ id, secret, token string }

// newUser creates an IAM user with the inline policies given (JSON) and an
// access key, through the server's iam.Service.
func (f *fixture) newUser(t *testing.T, name string, policies ...string) key {
	t.Helper()
	c := context.Background()
	if _, err := f.IAM.CreateUser(c, iam.CreateUserInput{Name: name}); err != nil {
		t.Fatalf("CreateUser %s: %v", name, err)
	}
	for i, p := range policies {
		if err := f.IAM.PutInlinePolicy(c, iam.UserEntity(name), "p"+string(rune('0'+i)), p); err != nil {
			t.Fatalf("PutUserPolicy %s: %v", name, err)
		}
	}
	k, err := f.IAM.CreateAccessKey(c, name)
	if err != nil {
		t.Fatalf("CreateAccessKey %s: %v", name, err)
	}
	return key{id: k.AccessKeyID, secret: k.SecretAccessKey}
}

// as signs a raw request with k.
func (r rawReq) as(k key) rawReq {
	r.access, r.secret, r.token = k.id, k.secret, k.token
	return r
}

// sdkAs is an SDK client signing with k.
func (f *fixture) sdkAs(t *testing.T, k key) *s3.Client {
	t.Helper()
	cfg := f.AWSConfig()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(k.id, k.secret, k.token)
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(f.URL)
		o.UsePathStyle = true
	})
}
