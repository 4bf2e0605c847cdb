package main

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/filesphere/filesphere/iam/oauth"
	"github.com/filesphere/filesphere/s3api"
)

func TestIssuerURL(t *testing.T) {
	ln := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}
	tests := []struct {
		public, address, scheme, want string
	}{
		{"", ":9000", "http", "http://127.0.0.1:9000"},
		{"", "0.0.0.0:9000", "https", "https://127.0.0.1:9000"},
		{"", "10.1.2.3:9000", "http", "http://10.1.2.3:9000"},
		{"https://s3.example.com/", ":9000", "http", "https://s3.example.com"},
	}
	for _, tc := range tests {
		if got := issuerURL(oauthFlags{publicURL: tc.public}, tc.address, ln, tc.scheme); got != tc.want {
			t.Errorf("issuerURL(%q, %q) = %q, want %q", tc.public, tc.address, got, tc.want)
		}
	}
}

func TestOAuthAdminErrors(t *testing.T) {
	tests := []struct {
		err  error
		kind error
		msg  string
	}{
		{fmt.Errorf("%w: bad grant", oauth.ErrInvalid), s3api.ErrAdminInvalid, "s3api: invalid admin argument: bad grant"},
		{fmt.Errorf("%w: web", oauth.ErrNoSuchClient), s3api.ErrAdminNotFound, "s3api: no such admin entity: no such client: web"},
		{fmt.Errorf("%w: x", oauth.ErrIssuerExists), s3api.ErrAdminExists, "s3api: admin entity exists: issuer already registered: x"},
	}
	for _, tc := range tests {
		got := oauthAdminErr(tc.err)
		if !errors.Is(got, tc.kind) || got.Error() != tc.msg {
			t.Errorf("oauthAdminErr(%v) = %v", tc.err, got)
		}
	}
	if oauthAdminErr(nil) != nil {
		t.Error("nil became an error")
	}
}
