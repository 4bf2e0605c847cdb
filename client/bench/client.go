package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Client is the part of S3 the load generator drives. Error answers are
// *S3Error; the runner checks sizes and classifies the rest (ErrorCode).
// Implementations are safe for concurrent use.
type Client interface {
	HeadBucket(ctx context.Context, bucket string) error
	CreateBucket(ctx context.Context, bucket string) error
	DeleteBucket(ctx context.Context, bucket string) error
	// PutObject uploads body (whose buffer nobody changes meanwhile).
	PutObject(ctx context.Context, bucket, key string, body Body) error
	// GetObject reads the whole object, using buf as scratch space, and
	// returns the number of body bytes received.
	GetObject(ctx context.Context, bucket, key string, buf []byte) (int64, error)
	// HeadObject returns the object's size.
	HeadObject(ctx context.Context, bucket, key string) (int64, error)
	DeleteObject(ctx context.Context, bucket, key string) error
	// ListObjects returns one ListObjectsV2 page.
	ListObjects(ctx context.Context, bucket, prefix, token string, maxKeys int) (ListPage, error)
	// DeleteObjects removes up to 1,000 keys in one request.
	DeleteObjects(ctx context.Context, bucket string, keys []string) error
	Close()
}

// ListPage is one page of a listing; Next is empty on the last page.
type ListPage struct {
	Keys []string
	Next string
}

// S3Error is an error answer from the endpoint.
type S3Error struct {
	Status    int
	Code      string // empty when the answer had no S3 error body (HEAD)
	Message   string
	RequestID string
}

func (e *S3Error) Error() string {
	s := "HTTP " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// SizeError is a body of the wrong length: a GET that delivered fewer (or
// more) bytes than the object has, or a HEAD reporting another size.
type SizeError struct {
	Op        string
	Key       string
	Got, Want int64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%s %s: %d bytes, want %d", e.Op, e.Key, e.Got, e.Want)
}

// ErrListMismatch is a complete listing that did not return exactly the
// keys the run uploaded.
var ErrListMismatch = errors.New("listing does not match the uploaded keys")

// ErrorCode is the label an error is counted under in reports: the S3
// error code, "HTTP <status>" for an answer without one, or a client-side
// class (ShortRead, SizeMismatch, ListMismatch, Timeout, ConnectionRefused,
// ConnectionReset, NetworkError).
func ErrorCode(err error) string {
	var s3e *S3Error
	var se *SizeError
	var ne net.Error
	switch {
	case errors.As(err, &s3e):
		if s3e.Code != "" {
			return s3e.Code
		}
		return "HTTP " + strconv.Itoa(s3e.Status)
	case errors.As(err, &se) && se.Op == "GET" && se.Got < se.Want, errors.Is(err, io.ErrUnexpectedEOF):
		return "ShortRead"
	case errors.As(err, &se):
		return "SizeMismatch"
	case errors.Is(err, ErrListMismatch):
		return "ListMismatch"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "Timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "ConnectionRefused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF):
		return "ConnectionReset"
	default:
		return "NetworkError"
	}
}

// NewClient builds the client Config.Client selects.
func NewClient(cfg Config, concurrency int) (Client, error) {
	if len(cfg.Endpoints) > 0 {
		s := &spread{}
		for _, ep := range append([]string{cfg.Endpoint}, cfg.Endpoints...) {
			one := cfg
			one.Endpoint, one.Endpoints = ep, nil
			c, err := NewClient(one, concurrency)
			if err != nil {
				s.Close()
				return nil, err
			}
			s.cs = append(s.cs, c)
		}
		return s, nil
	}
	tr, err := newTransport(cfg, concurrency)
	if err != nil {
		return nil, err
	}
	if cfg.Client == ClientSDK {
		return newSDKClient(cfg, tr), nil
	}
	return newHTTPClient(cfg, tr), nil
}

// newTransport is a keep-alive pool with a connection per worker, no
// proxy and no transparent gzip (byte counts must be the object's).
func newTransport(cfg Config, concurrency int) (*http.Transport, error) {
	tc := &tls.Config{InsecureSkipVerify: cfg.Insecure} //nolint:gosec // only with --insecure
	if cfg.CACertFile != "" {
		pem, err := os.ReadFile(cfg.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("ca cert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca cert %s: no PEM certificates found", cfg.CACertFile)
		}
		tc.RootCAs = pool
	}
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          2 * concurrency,
		MaxIdleConnsPerHost:   2 * concurrency,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
	}, nil
}
