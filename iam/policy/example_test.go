package policy_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/filesphere/filesphere/iam/policy"
)

// A bucket policy that denies deletes to everyone, and an identity policy
// that lets alice use her bucket: parse both once, then decide per request.
func Example() {
	bucketPolicy, err := policy.Parse([]byte(`{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Sid": "deny-deletes", "Effect": "Deny", "Principal": "*",
	    "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::photos/*"
	  }]}`), policy.KindResource)
	if err != nil {
		panic(err)
	}
	alicePolicy, err := policy.Parse([]byte(`{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Sid": "OwnBucket", "Effect": "Allow", "Action": "s3:*",
	    "Resource": ["arn:aws:s3:::photos", "arn:aws:s3:::photos/*"],
	    "Condition": {"Bool": {"aws:SecureTransport": "true"}}
	  }]}`), policy.KindIdentity)
	if err != nil {
		panic(err)
	}
	sets := policy.PolicySets{
		Identity: []policy.Named{{Name: "user alice inline", Policy: alicePolicy}},
		Resource: []policy.Named{{Name: "bucket policy", Policy: bucketPolicy}},
	}
	alice := policy.Principal{
		Type: policy.PrincipalUser, Account: "111122223333", Username: "alice",
		ARN: "arn:aws:iam::111122223333:user/alice", UserID: "AIDAEXAMPLEALICE",
	}
	for _, action := range []string{"s3:GetObject", "s3:DeleteObject"} {
		req := policy.Request{
			Principal: alice, Action: action,
			Resource: policy.S3ObjectARN("photos", "2024/cat.jpg"),
			Time:     time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC), // from the injected clock
		}
		req.Context.Set(policy.KeySecureTransport, "true")
		req.Context.Set(policy.KeySourceIP, "192.0.2.10")
		fmt.Println(action+":", policy.Decide(req, sets))
	}

	// Invalid policies are refused with a typed error naming the problem.
	_, err = policy.Parse([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*",
	  "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/40"}}}}`), policy.KindIdentity)
	fmt.Println(errors.Is(err, policy.ErrBadConditionValue), err)
	// Output:
	// s3:GetObject: Allow (allowed) by identity policy "user alice inline" statement 0 "OwnBucket"
	// s3:DeleteObject: Deny (explicit deny) by resource policy "bucket policy" statement 0 "deny-deletes"
	// true policy: statement 0: Condition: invalid condition value "10.0.0.0/40": IpAddress: invalid CIDR
}
