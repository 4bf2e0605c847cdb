package policy

import "testing"

// BenchmarkDecide is a typical S3 request: a user with a group policy and
// an inline home-folder policy, a bucket policy with an IP fence, a TLS
// rule and a public prefix. It runs on every request, so it must not
// allocate.
func BenchmarkDecide(b *testing.B) {
	group := mustParse(b, KindIdentity, `{"Version":"2012-10-17","Statement":[
	 {"Sid":"ReadShared","Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion","s3:ListBucket"],"Resource":["arn:aws:s3:::corp-bucket","arn:aws:s3:::corp-bucket/shared/*"]},
	 {"Sid":"NoIAM","Effect":"Deny","Action":"iam:*","Resource":"*"}]}`)
	sets := PolicySets{
		Identity: []Named{{Name: "group staff", Policy: group}, {Name: "user inline", Policy: mustParse(b, KindIdentity, homeFolders)}},
		Resource: []Named{{Name: "bucket policy", Policy: mustParse(b, KindResource, `{"Version":"2012-10-17","Statement":[
		 {"Sid":"office-only","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::corp-bucket","arn:aws:s3:::corp-bucket/*"],
		  "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:DB8:1234:5678::/64"]}}},
		 {"Sid":"tls-only","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::corp-bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},
		 {"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::corp-bucket/public/*"}]}`)}},
	}
	req := rq(testUser("alice"), "s3:PutObject", "arn:aws:s3:::corp-bucket/home/alice/reports/2024/q3.pdf",
		"aws:SourceIp", "192.0.2.44", "aws:SecureTransport", "true", "aws:UserAgent", "aws-cli/2.15", "s3:x-amz-acl", "private")
	if d := Decide(req, sets); !d.Allowed() || d.Sid != "UseOwnFolder" {
		b.Fatalf("Decide = %v", d)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Decide(req, sets)
	}
}

// BenchmarkParse is the cost of compiling a bucket policy (done once per
// PutBucketPolicy or cache fill, not per request).
func BenchmarkParse(b *testing.B) {
	doc := []byte(signatureRules)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc, KindResource); err != nil {
			b.Fatal(err)
		}
	}
}
