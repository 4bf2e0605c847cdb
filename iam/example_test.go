package iam_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/iam/policy"
)

// The main flow: a user, an access key, a policy; then, per request, the
// SigV4 lookup and the authorization decision.
func Example() {
	dir, _ := os.MkdirTemp("", "iam-example")
	defer os.RemoveAll(dir)
	kv, err := meta.OpenLocal(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer kv.Close()
	key := make([]byte, 32) // the KMS holds this in production
	rand.Read(key)
	sealer, _ := iam.NewStaticSealer(key, nil)
	cfg := iam.DefaultConfig()
	cfg.AccountID = "111122223333"
	ctx := context.Background()
	svc, err := iam.New(ctx, cfg, kv, sealer)
	if err != nil {
		panic(err)
	}
	defer svc.Close()

	// Management (the IAM API's CreateUser, CreateAccessKey, PutUserPolicy).
	user, _ := svc.CreateUser(ctx, iam.CreateUserInput{Name: "alice"})
	ak, _ := svc.CreateAccessKey(ctx, "alice")
	err = svc.PutInlinePolicy(ctx, iam.UserEntity("alice"), "ReadPhotos", `{
	  "Version": "2012-10-17",
	  "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"}]}`)
	fmt.Println(user.ARN, err)

	// Per request: the SigV4 lookup, then the decision.
	cred, err := svc.Credentials(ctx, ak.AccessKeyID)
	if err != nil {
		panic(err)
	}
	fmt.Println(cred.SecretAccessKey == ak.SecretAccessKey, cred.VerifySessionToken("") == nil)
	for _, action := range []string{"s3:GetObject", "s3:PutObject"} {
		d, err := svc.Authorize(ctx, iam.AuthRequest{Caller: cred, Action: action, Resource: policy.S3ObjectARN("photos", "cat.jpg")})
		fmt.Println(action, d, err)
	}

	// Unknown keys are typed errors the API layer maps to its codes.
	_, err = svc.Credentials(ctx, "AKIAIOSFODNN7EXAMPLE")
	fmt.Println(errors.Is(err, iam.ErrInvalidAccessKeyID))
	// Output:
	// arn:aws:iam::111122223333:user/alice <nil>
	// true true
	// s3:GetObject Allow (allowed) by identity policy "user alice inline policy ReadPhotos" statement 0 "Read" <nil>
	// s3:PutObject Deny (implicit deny) <nil>
	// true
}
