package iam

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/iam/policy"
	"github.com/sirupsen/logrus"
)

// Service is the account's identities and their access decisions, kept in
// a meta.KV so that every node serving the same KV sees the same users,
// keys and policies. It is safe for concurrent use.
type Service struct {
	cfg    Config
	kv     meta.KV // leader-confirmed reads (when the KV offers the choice) and writes
	stale  meta.KV // local reads: the authentication hot path
	sealer Sealer
	log    *logrus.Entry

	account  accountRecord
	root     *Credential // nil when no root key is configured
	creds    credCache
	started  time.Time                  // for the monotonic age of genRead
	genRead  atomic.Pointer[genReading] // the last reading of the IAM generation
	compiled policyCache
	used     lastUsed
	// consistent limits leader-confirmed reads on local cache misses.
	consistent chan struct{}

	closing   chan struct{}
	bg        sync.WaitGroup
	closeOnce sync.Once
}

// New opens the Service over kv: it loads the account record, creating it
// (with cfg.AccountID or a random id) on first start; concurrent first
// starts on several nodes agree on one. If kv offers a local view
// (Stale() meta.KV, as *meta.RaftKV does), authentication reads use it.
func New(ctx context.Context, cfg Config, kv meta.KV, sealer Sealer) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if kv == nil || sealer == nil {
		return nil, errors.New("iam: KV and Sealer are required")
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = logrus.NewEntry(l)
	}
	s := &Service{cfg: cfg, kv: kv, stale: kv, sealer: sealer, log: cfg.Log.WithField("component", "iam"),
		consistent: make(chan struct{}, cfg.MaxConsistentReads), closing: make(chan struct{}), started: time.Now()}
	if v, ok := kv.(interface{ Stale() meta.KV }); ok {
		s.stale = v.Stale()
	}
	s.creds.init(cfg.CacheSize)
	s.compiled.init(cfg.PolicyCacheSize)
	s.used.init()
	if err := s.bootstrap(ctx); err != nil {
		return nil, err
	}
	if cfg.Root.AccessKeyID != "" {
		s.root = &Credential{AccessKeyID: cfg.Root.AccessKeyID, SecretAccessKey: cfg.Root.SecretAccessKey,
			Principal: s.rootPrincipal(), kind: credRoot}
	}
	s.bg.Add(1)
	go s.background()
	return s, nil
}

func (s *Service) bootstrap(ctx context.Context) error {
	var acct accountRecord
	found, err := read(ctx, s.kv, keyAccount, &acct)
	if err != nil {
		return err
	}
	if !found {
		err = s.update(ctx, func(t *txn) error {
			if ok, err := t.get(keyAccount, &acct); err != nil || ok {
				return err
			}
			id := s.cfg.AccountID
			if id == "" {
				if id, err = newAccountID(s.cfg.Rand); err != nil {
					return err
				}
			}
			canon, err := newCanonicalID(s.cfg.Rand)
			if err != nil {
				return err
			}
			acct = accountRecord{ID: id, CanonicalID: canon, Created: s.now()}
			return t.create(keyAccount, acct)
		})
		if err != nil {
			return fmt.Errorf("iam: bootstrap account: %w", err)
		}
	}
	if s.cfg.AccountID != "" && acct.ID != s.cfg.AccountID {
		return fmt.Errorf("iam: configured account id %s differs from the stored %s", s.cfg.AccountID, acct.ID)
	}
	s.account = acct
	return nil
}

// Close stops the background work after writing the key uses recorded so
// far (waiting at most a few seconds for the KV).
func (s *Service) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	s.bg.Wait()
	return nil
}

func (s *Service) background() {
	defer s.bg.Done()
	flush := time.NewTicker(s.cfg.LastUsedFlushInterval)
	defer flush.Stop()
	var sweep <-chan time.Time
	if s.cfg.SessionSweepInterval > 0 {
		t := time.NewTicker(s.cfg.SessionSweepInterval)
		defer t.Stop()
		sweep = t.C
	}
	for {
		select {
		case <-flush.C:
			s.flushLastUsed(context.Background())
		case <-sweep:
			if err := s.SweepSessions(context.Background()); err != nil {
				s.log.WithError(err).Warn("sweeping expired sessions")
			}
		case <-s.closing:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s.flushLastUsed(ctx)
			cancel()
			return
		}
	}
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// Account is the account's identity.
type Account struct {
	ID          string // 12 digits, the same on every node
	CanonicalID string // 64 hex digits: Owner and grantee id in S3 ACLs and listings
	ARN         string // the root user, arn:aws:iam::ID:root
}

// Account returns the account's ids.
func (s *Service) Account() Account {
	return Account{ID: s.account.ID, CanonicalID: s.account.CanonicalID, ARN: rootARN(s.account.ID)}
}

func (s *Service) rootPrincipal() policy.Principal {
	return policy.Principal{Type: policy.PrincipalAccount, Account: s.account.ID, ARN: rootARN(s.account.ID),
		UserID: s.account.ID, CanonicalID: s.account.CanonicalID}
}
