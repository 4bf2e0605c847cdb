package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// fakeRepair answers as a leader (state) or a follower (notLeader).
type fakeRepair struct {
	state     json.RawMessage
	notLeader *NotLeaderError
}

func (f *fakeRepair) RepairStatus(context.Context) (json.RawMessage, error) {
	if f.notLeader != nil {
		return nil, f.notLeader
	}
	return f.state, nil
}

func TestRepairStatus(t *testing.T) {
	rep := &fakeRepair{state: json.RawMessage(`{"leader":"n1","passes":3}`)}
	e := newEnv(t, func(c *ServerConfig) { c.Repair = rep })
	ctx := context.Background()
	st, err := e.client.RepairStatus(ctx, e.ts.URL)
	if err != nil || string(st) != `{"leader":"n1","passes":3}` {
		t.Fatalf("repair status %s, %v", st, err)
	}
	// A follower's refusal keeps its hint across the wire.
	rep.notLeader = &NotLeaderError{LeaderID: "n3", LeaderAddr: "127.0.0.1:7003"}
	_, err = e.client.RepairStatus(ctx, e.ts.URL)
	var nl *NotLeaderError
	if !errors.Is(err, ErrNotLeader) || !errors.As(err, &nl) || nl.LeaderID != "n3" || nl.LeaderAddr != "127.0.0.1:7003" {
		t.Fatalf("follower: %v", err)
	}
}

func TestRepairStatusNotServed(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.RepairStatus(context.Background(), e.ts.URL); !errors.Is(err, ErrNotImplemented) {
		t.Fatalf("no repair service: %v, want ErrNotImplemented", err)
	}
}
