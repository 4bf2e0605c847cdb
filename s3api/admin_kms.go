package s3api

import (
	"context"
	"time"

	"github.com/filesphere/filesphere/kms"
)

// The admin operations of the built-in KMS (routes in adminRoutes).
const (
	OpAdminKMSCreateKey  Operation = "AdminKMSCreateKey"
	OpAdminKMSListKeys   Operation = "AdminKMSListKeys"
	OpAdminKMSKeyStatus  Operation = "AdminKMSKeyStatus"
	OpAdminKMSRotateKey  Operation = "AdminKMSRotateKey"
	OpAdminKMSDisableKey Operation = "AdminKMSDisableKey"
	OpAdminKMSEnableKey  Operation = "AdminKMSEnableKey"
)

// KeyManager is what the KMS admin operations need; *kms.KMS satisfies
// it. Keys are never deleted (their objects would be lost).
type KeyManager interface {
	CreateKey(ctx context.Context, name string) (kms.KeyInfo, error)
	ListKeys(ctx context.Context) ([]kms.KeyInfo, error)
	DescribeKey(ctx context.Context, name string) (kms.KeyInfo, error)
	RotateKey(ctx context.Context, name string) (kms.KeyInfo, error)
	DisableKey(ctx context.Context, name string) (kms.KeyInfo, error)
	EnableKey(ctx context.Context, name string) (kms.KeyInfo, error)
}

// AdminKMSKey is one key as the admin API shows it: never key material.
type AdminKMSKey struct {
	Name     string               `json:"name"`
	State    string               `json:"state"`
	Created  time.Time            `json:"created"`
	Updated  time.Time            `json:"updated"`
	Current  uint32               `json:"current_version"`
	Versions []AdminKMSKeyVersion `json:"versions"`
	ARN      string               `json:"arn"`
}

// AdminKMSKeyVersion is one version of a key.
type AdminKMSKeyVersion struct {
	Version uint32    `json:"version"`
	Created time.Time `json:"created"`
}

// AdminKMSKeys is the answer of the key list.
type AdminKMSKeys struct {
	Keys []AdminKMSKey `json:"keys"`
}

func (s *Server) adminKey(k kms.KeyInfo) AdminKMSKey {
	out := AdminKMSKey{Name: k.Name, State: string(k.State), Created: k.Created, Updated: k.Updated,
		Current: k.Current(), Versions: []AdminKMSKeyVersion{}, ARN: s.kmsKeyARN(k.Name)}
	for _, v := range k.Versions {
		out.Versions = append(out.Versions, AdminKMSKeyVersion{Version: v.Version, Created: v.Created})
	}
	return out
}

// kmsAdminHandlers adds the KMS admin operations to the handler table.
func (s *Server) kmsAdminHandlers(ops map[Operation]handlerFunc) {
	byName := map[Operation]func(KeyManager, context.Context, string) (kms.KeyInfo, error){
		OpAdminKMSCreateKey:  KeyManager.CreateKey,
		OpAdminKMSKeyStatus:  KeyManager.DescribeKey,
		OpAdminKMSRotateKey:  KeyManager.RotateKey,
		OpAdminKMSDisableKey: KeyManager.DisableKey,
		OpAdminKMSEnableKey:  KeyManager.EnableKey,
	}
	for op, fn := range byName {
		ops[op] = s.kmsAdmin(func(ctx context.Context, km KeyManager, req *request) (any, error) {
			name := req.URL.Query().Get("name")
			if name == "" {
				return nil, apiErr(ErrInvalidArgument, "The name parameter is required.")
			}
			k, err := fn(km, ctx, name)
			if err != nil {
				return nil, err
			}
			if op != OpAdminKMSKeyStatus {
				s.log.WithFields(map[string]any{"request_id": req.reqID, "key": k.Name, "op": op, "version": k.Current(),
					"state": k.State}).Info("kms key changed")
			}
			return s.adminKey(k), nil
		})
	}
	ops[OpAdminKMSListKeys] = s.kmsAdmin(func(ctx context.Context, km KeyManager, _ *request) (any, error) {
		keys, err := km.ListKeys(ctx)
		if err != nil {
			return nil, err
		}
		out := AdminKMSKeys{Keys: []AdminKMSKey{}}
		for _, k := range keys {
			out.Keys = append(out.Keys, s.adminKey(k))
		}
		return out, nil
	})
}

// kmsAdmin is admin for the KMS operations, which need Config.KMS.
func (s *Server) kmsAdmin(h func(context.Context, KeyManager, *request) (any, error)) handlerFunc {
	return func(ctx context.Context, req *request) (*response, error) {
		if err := checkAdminRequest(req); err != nil {
			return nil, err
		}
		if s.cfg.KMS == nil {
			return nil, apiErr(ErrNotImplemented, "The built-in KMS is not enabled on this server.")
		}
		v, err := h(ctx, s.cfg.KMS, req)
		if err != nil {
			return nil, err
		}
		return jsonResponse(v)
	}
}
