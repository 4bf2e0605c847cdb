package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// CredentialSource gives the credentials (and possibly the region) an
// alias signs with. It is the seam a login session plugs into: a later
// `filesphere login` registers a SourceFactory for its kind whose source
// refreshes temporary credentials from the session.
type CredentialSource interface {
	// AWSConfig returns the SDK configuration to build the S3 client
	// from: its Credentials (a provider the SDK caches and refreshes)
	// and, when the source knows one, its Region. hc is the HTTP client
	// the source should use for its own requests (STS, SSO).
	AWSConfig(ctx context.Context, hc *http.Client) (aws.Config, error)
	// Describe says where the keys come from, without any secret, for
	// `alias list`.
	Describe() string
}

// SourceFactory builds the source of one credential kind.
type SourceFactory func(CredentialRef) (CredentialSource, error)

// DefaultSources are the built-in kinds: static, profile and env.
func DefaultSources() map[string]SourceFactory {
	return map[string]SourceFactory{
		KindStatic:  func(r CredentialRef) (CredentialSource, error) { return staticSource{r}, nil },
		KindProfile: func(r CredentialRef) (CredentialSource, error) { return sharedSource{profile: r.Profile}, nil },
		KindEnv:     func(CredentialRef) (CredentialSource, error) { return sharedSource{}, nil },
	}
}

func (c *Config) source(a Alias) (CredentialSource, error) {
	f, ok := c.Sources[a.Credentials.Kind]
	if !ok {
		return nil, fmt.Errorf("alias %s: credential kind %q is not known to this binary", a.Name, a.Credentials.Kind)
	}
	return f(a.Credentials)
}

// staticSource is keys kept in the alias.
type staticSource struct{ ref CredentialRef }

func (s staticSource) AWSConfig(context.Context, *http.Client) (aws.Config, error) {
	return aws.Config{Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
		s.ref.AccessKey, s.ref.SecretKey, s.ref.SessionToken))}, nil
}

func (s staticSource) Describe() string { return "access key " + s.ref.AccessKey }

// sharedSource is the SDK's shared configuration: one named profile of
// ~/.aws/config and ~/.aws/credentials (credential_process, SSO,
// assume-role, ...), or with no profile the default chain (AWS_* variables
// first).
type sharedSource struct{ profile string }

func (s sharedSource) AWSConfig(ctx context.Context, hc *http.Client) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(hc)}
	if s.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws shared config: %w", err)
	}
	return cfg, nil
}

func (s sharedSource) Describe() string {
	if s.profile == "" {
		return "AWS environment (AWS_* variables, default profile)"
	}
	return "aws profile " + s.profile
}
