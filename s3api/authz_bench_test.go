package s3api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/internal/s3test"
	"github.com/filesphere/filesphere/s3api"
	"github.com/sirupsen/logrus"
)

// BenchmarkAuthorization measures authentication and authorization of one
// GetObject, by kind of caller, against the signature check alone (what
// every request cost before IAM): the difference is what IAM adds.
func BenchmarkAuthorization(b *testing.B) {
	env := s3test.New(b, s3test.WithLogLevel(logrus.WarnLevel))
	srv := env.Server.Config.Handler.(*s3api.Server)
	c := context.Background()
	sdk := env.SDK(b)
	for _, bk := range []string{"bench", "benchpublic"} {
		if _, err := sdk.CreateBucket(c, &s3.CreateBucketInput{Bucket: aws.String(bk)}); err != nil {
			b.Fatal(err)
		}
	}
	acct := env.IAM.Account().ID
	pub := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::benchpublic/*"},
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/friend"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::benchpublic/*"}]}`
	if _, err := sdk.PutBucketPolicy(c, &s3.PutBucketPolicyInput{Bucket: aws.String("benchpublic"), Policy: &pub}); err != nil {
		b.Fatal(err)
	}
	user := func(name, doc string) iam.AccessKey {
		if _, err := env.IAM.CreateUser(c, iam.CreateUserInput{Name: name}); err != nil {
			b.Fatal(err)
		}
		if doc != "" {
			if err := env.IAM.PutInlinePolicy(c, iam.UserEntity(name), "p", doc); err != nil {
				b.Fatal(err)
			}
		}
		k, err := env.IAM.CreateAccessKey(c, name)
		if err != nil {
			b.Fatal(err)
		}
		return k
	}
	reader := user("reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::bench","arn:aws:s3:::bench/*"]}]}`)
	friend := user("friend", "")

	signed := func(bucket, ak, sk string) *http.Request {
		r, _ := http.NewRequest("GET", env.PlainURL+"/"+bucket+"/some/key.txt", nil)
		r.RemoteAddr = "127.0.0.1:5555"
		if ak == "" {
			return r
		}
		sum := sha256.Sum256(nil)
		ph := hex.EncodeToString(sum[:])
		r.Header.Set("X-Amz-Content-Sha256", ph)
		if err := v4.NewSigner().SignHTTP(c, aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, r, ph, "s3", s3test.Region, time.Now()); err != nil {
			b.Fatal(err)
		}
		return r
	}
	b.Run("signature-only", func(b *testing.B) {
		r := signed("bench", env.AccessKey, env.SecretKey)
		b.ReportAllocs()
		for b.Loop() {
			if err := srv.VerifyOnly(r, env.SecretKey); err != nil {
				b.Fatal(err)
			}
		}
	})
	cases := []struct {
		name string
		r    *http.Request
	}{
		{"root", signed("bench", env.AccessKey, env.SecretKey)},
		{"user-identity-policy", signed("bench", reader.AccessKeyID, reader.SecretAccessKey)},
		{"user-bucket-policy", signed("benchpublic", friend.AccessKeyID, friend.SecretAccessKey)},
		{"anonymous-public-policy", signed("benchpublic", "", "")},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := srv.AuthenticateAndAuthorize(tc.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
