package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
)

// adminFlags reach a running server.
type adminFlags struct {
	endpoint  string
	accessKey string
	secretKey string
	region    string
}

func newAdminCmd() *cobra.Command {
	f := &adminFlags{}
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Administer a running FileSphere server",
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return bindEnv(cmd.Flags())
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.endpoint, "endpoint", "http://127.0.0.1:9000", "URL of a FileSphere server")
	pf.StringVar(&f.accessKey, "access-key", "", "access key (default $FILESPHERE_ROOT_USER)")
	pf.StringVar(&f.secretKey, "secret-key", "", "secret key (default $FILESPHERE_ROOT_PASSWORD)")
	pf.StringVar(&f.region, "region", "us-east-1", "region to sign requests for")
	cmd.AddCommand(newHealCmd(f), newClusterCmd(f), newNodeCmd(f))
	return cmd
}

func newHealCmd(f *adminFlags) *cobra.Command {
	var deep bool
	cmd := &cobra.Command{
		Use:   "heal",
		Short: "Rebuild missing or corrupt shards and report what was healed",
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := ""
			if deep {
				q = "?deep=true"
			}
			body, err := f.call(cmd.Context(), http.MethodPost, "/.filesphere/admin/v1/heal"+q)
			if err != nil {
				return err
			}
			fmt.Println(string(body))
			return nil
		},
	}
	cmd.Flags().BoolVar(&deep, "deep", false, "also read every shard and verify its bitrot hashes")
	cmd.AddCommand(newHealStatusCmd(f))
	return cmd
}

// call sends a SigV4-signed admin request and returns the body of a 200.
func (f *adminFlags) call(ctx context.Context, method, path string) ([]byte, error) {
	ak, sk := f.accessKey, f.secretKey
	if ak == "" {
		ak = os.Getenv("FILESPHERE_ROOT_USER")
	}
	if sk == "" {
		sk = os.Getenv("FILESPHERE_ROOT_PASSWORD")
	}
	if ak == "" || sk == "" {
		return nil, errors.New("credentials needed: --access-key/--secret-key or FILESPHERE_ROOT_USER/FILESPHERE_ROOT_PASSWORD")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(f.endpoint, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	empty := sha256.Sum256(nil)
	payload := hex.EncodeToString(empty[:])
	req.Header.Set("X-Amz-Content-Sha256", payload)
	creds := aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, payload, "s3", f.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Minute}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}
