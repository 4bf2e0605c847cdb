// Package iam will hold users, groups, access keys, temporary credentials
// and identity policies (see ARCHITECTURE.md). Until it exists the
// server has one root identity and s3api.AuthenticatedOnly decides access.
package iam
