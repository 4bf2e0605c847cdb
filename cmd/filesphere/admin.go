package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/filesphere/filesphere/internal/tlsutil"
	"github.com/filesphere/filesphere/s3api"
	"github.com/spf13/cobra"
)

// adminFlags reach a running server.
type adminFlags struct {
	endpoint  string
	accessKey string
	secretKey string
	region    string
	dataDir   string
	caCert    string
	insecure  bool
	client    *http.Client
}

func newAdminCmd() *cobra.Command {
	f := &adminFlags{client: &http.Client{Timeout: 30 * time.Minute}}
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Administer a running FileSphere server",
		Long: `Administer a running FileSphere server over its admin API (SigV4-signed requests):
repair, cluster membership and drains; and users, groups, managed policies and access keys
over the IAM API (the requests the aws cli sends, authorized by the same policies).

Credentials: --access-key/--secret-key, else FILESPHERE_ROOT_USER/FILESPHERE_ROOT_PASSWORD,
else the root credentials a local server keeps in <data>/root-credentials.json.

HTTPS endpoints are verified against the system roots plus --ca-cert, or, without it, the
certificate a local server made with --tls-auto (<data>/tls/cert.pem). --insecure skips
verification.`,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			return f.configureTLS(cmd.ErrOrStderr())
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.endpoint, "endpoint", "http://127.0.0.1:9000", "URL of a FileSphere server")
	pf.StringVar(&f.accessKey, "access-key", "", "access key (default $FILESPHERE_ROOT_USER, else from --data)")
	pf.StringVar(&f.secretKey, "secret-key", "", "secret key (default $FILESPHERE_ROOT_PASSWORD, else from --data)")
	pf.StringVar(&f.region, "region", "us-east-1", "region to sign requests for")
	pf.StringVar(&f.dataDir, "data", "./data", "data folder of a local server, whose root-credentials.json is used when no keys are given (and tls/cert.pem as CA for https)")
	pf.StringVar(&f.caCert, "ca-cert", "", "PEM file of CA certificates to trust for an https endpoint, besides the system's")
	pf.BoolVar(&f.insecure, "insecure", false, "do not verify the server's TLS certificate")
	cmd.AddCommand(newHealCmd(f), newClusterCmd(f), newNodeCmd(f), newUserCmd(f), newGroupCmd(f), newManagedPolicyCmd(f), newKeyCmd(f),
		newLifecycleCmd(f), newKMSCmd(f), newOAuthCmd(f))
	return cmd
}

// credentials picks the keys: flags, else environment, else the local
// server's credentials file. Keys are never mixed from two sources.
func (f *adminFlags) credentials() (aws.Credentials, error) {
	ak, sk := f.accessKey, f.secretKey
	if ak == "" && sk == "" {
		ak, sk = os.Getenv("FILESPHERE_ROOT_USER"), os.Getenv("FILESPHERE_ROOT_PASSWORD")
	}
	switch {
	case ak != "" && sk != "":
		return aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, nil
	case ak != "" || sk != "":
		return aws.Credentials{}, errors.New("give both an access key and a secret key (--access-key/--secret-key or FILESPHERE_ROOT_USER/FILESPHERE_ROOT_PASSWORD)")
	}
	path := filepath.Join(f.dataDir, credentialsFile)
	c, err := readCredentialsFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return aws.Credentials{}, fmt.Errorf("no credentials: give --access-key/--secret-key, set FILESPHERE_ROOT_USER/FILESPHERE_ROOT_PASSWORD, or point --data at the server's data folder (no %s)", path)
	case err != nil:
		return aws.Credentials{}, fmt.Errorf("reading credentials: %w", err)
	}
	return aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey}, nil
}

// configureTLS sets the client's TLS trust from --ca-cert/--insecure or,
// for an https endpoint without them, from a local --tls-auto certificate.
func (f *adminFlags) configureTLS(warn io.Writer) error {
	ca := f.caCert
	if ca == "" && !f.insecure && strings.HasPrefix(f.endpoint, "https://") {
		if p := filepath.Join(autoTLSDir(f.dataDir), tlsutil.SelfSignedCert); fileExists(p) {
			ca = p
		}
	}
	if f.insecure {
		fmt.Fprintln(warn, "filesphere: warning: --insecure: the server's certificate is not verified")
	}
	cfg, err := clientTLS(ca, f.insecure)
	if err != nil || cfg == nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	f.client.Transport = tr
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// call sends a SigV4-signed admin request to path (under the admin
// prefix) and returns the body of a 200. Errors read as one line prefixed
// with the command ("heal status: AccessDenied: …").
func (f *adminFlags) call(cmd *cobra.Command, method, path string) ([]byte, error) {
	label := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" admin ")
	body, err := f.do(cmd.Context(), method, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return body, nil
}

func (f *adminFlags) do(ctx context.Context, method, path string) ([]byte, error) {
	creds, err := f.credentials()
	if err != nil {
		return nil, err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(f.endpoint, "/")+s3api.AdminPrefix+path, nil)
	if err != nil {
		return nil, err
	}
	empty := sha256.Sum256(nil)
	payload := hex.EncodeToString(empty[:])
	req.Header.Set("X-Amz-Content-Sha256", payload)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, payload, "s3", f.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, responseError(resp, body)
	}
	return body, nil
}

// s3Error is an S3 error answer.
type s3Error struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *s3Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// responseError reads an error answer: S3 XML when it is one, else the
// status and the start of the body on one line.
func responseError(resp *http.Response, body []byte) error {
	var doc struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string
		Message   string
		RequestID string `xml:"RequestId"`
	}
	if xml.Unmarshal(body, &doc) == nil && doc.Code != "" {
		if doc.RequestID == "" {
			doc.RequestID = resp.Header.Get("X-Amz-Request-Id")
		}
		return &s3Error{Status: resp.StatusCode, Code: doc.Code, Message: oneLine(doc.Message), RequestID: doc.RequestID}
	}
	msg := oneLine(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	return fmt.Errorf("HTTP %s: %s", resp.Status, msg)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
