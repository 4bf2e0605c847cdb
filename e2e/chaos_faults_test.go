package e2e

import (
	"errors"
	"fmt"
	"time"

	"github.com/filesphere/filesphere/e2e/harness"
)

func (e *chaosEnv) runRound(round int) {
	e.sendBig()
	// 1. kill -9 a node (the leader in odd rounds) and restart it; in
	// later rounds also empty another node's drives while it is down.
	victim := e.pickNode(round%2 == 1, 0)
	e.killRestart(round, victim)
	// 2. Empty a running node's drive folders.
	e.emptyDrives(round, e.pickNode(false, 0))
	e.sendBig()
	// 3. Flip bytes in shard files of one node.
	e.flipShards(round, e.pickNode(false, 0))
	// 4. Add a node; 5. drain another one.
	e.sendBig()
	added := e.join(round)
	e.drain(round, e.pickNode(false, added))
}

// sendBig hands the next large object (if any is left) to the big
// writer.
func (e *chaosEnv) sendBig() {
	if e.bigNext < len(e.p.big) {
		e.bigCh <- e.p.big[e.bigNext]
		e.bigNext++
	}
}

// pickNode returns the leader when leader is set, otherwise a random live
// node that is not the leader nor avoid.
func (e *chaosEnv) pickNode(leader bool, avoid int) int {
	l := e.currentLeader()
	if leader && l != 0 {
		return l
	}
	var cand []int
	for _, i := range e.liveIDs() {
		if i != l && i != avoid {
			cand = append(cand, i)
		}
	}
	return cand[e.rng.IntN(len(cand))]
}

// currentLeader asks the cluster for its leader (not cached: leadership
// also moves without faults when the machine is loaded).
func (e *chaosEnv) currentLeader() int {
	l, err := e.c.WaitLeader(30 * time.Second)
	if err != nil {
		e.t.Logf("no leader: %v", err)
		return 0
	}
	return l
}

// passMeter sums the leader's repair passes that end after it was created
// (by the pass counter and the cumulative totals of `admin heal status`,
// so passes that end between two polls are counted too).
type passMeter struct {
	since          time.Time
	leader, passes int
	base           passTotals // the leader's totals when last polled
	n              int        // passes counted
	moved, healed  int
	bytes          int64
	leaderChanges  int
}

type passTotals struct {
	moved, healed int
	bytes         int64
}

func totalsOf(st harness.HealStatus) passTotals {
	return passTotals{st.Totals.ShardsMoved, st.Totals.ShardsHealed, st.Totals.BytesWritten}
}

func (e *chaosEnv) newMeter() *passMeter {
	pm := &passMeter{since: time.Now()}
	l := e.currentLeader()
	if st, err := e.c.HealStatus(l); err == nil {
		pm.leader, pm.passes, pm.base = l, st.Passes, totalsOf(st)
	}
	return pm
}

// poll reads the leader's heal status, adds the passes ended since the
// last poll, and returns the last pass.
func (e *chaosEnv) poll(pm *passMeter) (*harness.HealReport, error) {
	l := e.currentLeader()
	if l == 0 {
		return nil, errors.New("no leader")
	}
	st, err := e.c.HealStatus(l)
	if err != nil {
		return nil, err
	}
	if l != pm.leader {
		// A new leader: its earlier passes are not counted, except its
		// last one if it began after the meter started.
		if pm.leader != 0 {
			pm.leaderChanges++
		}
		pm.leader, pm.passes, pm.base = l, st.Passes, totalsOf(st)
		if st.Last != nil && st.Last.Started.After(pm.since) {
			pm.passes--
			pm.base.moved -= st.Last.ShardsMoved
			pm.base.healed -= st.Last.ShardsHealed
			pm.base.bytes -= st.Last.BytesWritten
		}
	}
	if st.Passes > pm.passes {
		now := totalsOf(st)
		pm.n += st.Passes - pm.passes
		pm.moved += now.moved - pm.base.moved
		pm.healed += now.healed - pm.base.healed
		pm.bytes += now.bytes - pm.base.bytes
		pm.passes, pm.base = st.Passes, now
	}
	return st.Last, nil
}

func (pm *passMeter) String() string {
	s := fmt.Sprintf("%d passes: %d shards moved, %d rebuilt, %.1f MiB written", pm.n, pm.moved, pm.healed, float64(pm.bytes)/(1<<20))
	if pm.leaderChanges > 0 {
		s += fmt.Sprintf(" (leader changed %d times)", pm.leaderChanges)
	}
	return s
}

// waitRepaired polls the leader's heal status until a background pass
// that started after since reports failed=0, every stream it checked at
// full redundancy and nothing outstanding: no stream queued for repair,
// no sweep under way, no drive offline (and, with placed, no shard moved:
// all where the ring wants them). It returns the meter of the passes seen.
func (e *chaosEnv) waitRepaired(since time.Time, placed bool, timeout time.Duration) (*passMeter, error) {
	pm := e.newMeter()
	var seen *harness.HealReport
	err := harness.Eventually(timeout, 200*time.Millisecond, func() error {
		last, err := e.poll(pm)
		if err != nil {
			return err
		}
		switch {
		case last == nil || !last.Started.After(since):
			return errors.New("no repair pass started since the fault has ended")
		case !e.healthy(last, placed):
			seen = last
			return fmt.Errorf("last pass on %s not at full redundancy (or still moving): %s", e.c.ID(pm.leader), last)
		}
		return nil
	})
	if err != nil {
		e.remember(seen)
	}
	return pm, err
}

// deepHealUntilSettled runs `admin heal --deep` on the leader until a
// pass finds every stream healthy.
func (e *chaosEnv) deepHealUntilSettled(timeout time.Duration) (harness.HealReport, error) {
	var rep harness.HealReport
	n := 0
	err := harness.Eventually(timeout, time.Second, func() error {
		l := e.currentLeader()
		if l == 0 {
			return errors.New("no leader")
		}
		var err error
		n++
		rep, err = e.c.RunHeal(l, true, timeout)
		if err != nil {
			return err
		}
		e.t.Logf("  deep heal #%d via %s: %s", n, e.c.ID(l), rep)
		if !e.healthy(&rep, true) {
			return fmt.Errorf("deep heal via %s: %s", e.c.ID(l), rep)
		}
		return nil
	})
	if err != nil {
		e.remember(&rep)
	}
	return rep, err
}

func (e *chaosEnv) fault(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	e.t.Log("FAULT " + s)
	e.faults = append(e.faults, s)
}

func (e *chaosEnv) killRestart(round, victim int) {
	t, c := e.t, e.c
	wasLeader := victim == e.currentLeader()
	role := "follower"
	if wasLeader {
		role = "leader"
	}
	other := 0
	t0 := time.Now()
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	// Requests issued meanwhile met the dead node; from now on the
	// clients use the others.
	e.setLive(victim, false)
	if wasLeader {
	}
	t.Logf("round %d: killed %s (%s) with SIGKILL", round, c.ID(victim), role)
	extra := ""
	if round > 1 {
		// Two faults at once (still within m=2 per stream): empty the
		// drives of another node while the victim is down.
		time.Sleep(e.p.down / 2)
		other = e.pickNode(false, victim)
		n := 0
		for _, d := range c.Node(other).Drives() {
			k, err := harness.EmptyDrive(d)
			if err != nil {
				t.Fatalf("emptying %s: %v", d, err)
			}
			n += k
		}
		extra = fmt.Sprintf(" + emptied %s's drives (%d shard files) while it was down", c.ID(other), n)
	}
	time.Sleep(time.Until(t0.Add(e.p.down)))
	if err := c.Restart(victim); err != nil {
		t.Fatalf("restarting %s: %v", c.ID(victim), err)
	}
	restarted := time.Now()
	e.setLive(victim, true)
	pm, err := e.waitRepaired(restarted, false, e.p.recovery)
	if err != nil {
		t.Errorf("round %d: after kill -9 of %s: %v", round, c.ID(victim), err)
		return
	}
	e.fault("round %d: kill -9 %s (%s), down %v%s: full redundancy %v after the kill, %v after the restart (%s)",
		round, c.ID(victim), role, restarted.Sub(t0).Round(100*time.Millisecond), extra,
		time.Since(t0).Round(100*time.Millisecond), time.Since(restarted).Round(100*time.Millisecond), pm)
}

func (e *chaosEnv) emptyDrives(round, victim int) {
	t, c := e.t, e.c
	files, bytes, _ := harness.ShardBytes(c.Node(victim).Drives()...)
	t0 := time.Now()
	for _, d := range c.Node(victim).Drives() {
		if _, err := harness.EmptyDrive(d); err != nil {
			t.Fatalf("emptying %s: %v", d, err)
		}
	}
	done := time.Now()
	t.Logf("round %d: emptied both drive folders of running %s (%d shard files, %.1f MiB)", round, c.ID(victim), files, float64(bytes)/(1<<20))
	pm, err := e.waitRepaired(done, false, e.p.recovery)
	if err != nil {
		t.Errorf("round %d: after emptying %s's drives: %v", round, c.ID(victim), err)
		return
	}
	refilled, rbytes, _ := harness.ShardBytes(c.Node(victim).Drives()...)
	e.fault("round %d: emptied %s's 2 drives (%d shard files, %.1f MiB): full redundancy after %v (%s); %d shard files (%.1f MiB) there now",
		round, c.ID(victim), files, float64(bytes)/(1<<20), time.Since(t0).Round(100*time.Millisecond), pm, refilled, float64(rbytes)/(1<<20))
}

func (e *chaosEnv) flipShards(round, victim int) {
	t, c := e.t, e.c
	var all []harness.ShardFile
	for _, d := range c.Node(victim).Drives() {
		fs, err := harness.ShardFiles(d)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fs...)
	}
	e.rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	flipped := 0
	t0 := time.Now()
	for _, f := range all {
		if flipped == e.p.flips {
			break
		}
		if f.Size == 0 {
			continue
		}
		if err := harness.FlipBytes(f.Path, 3, e.rng); err != nil {
			continue // deleted or replaced meanwhile
		}
		flipped++
	}
	t.Logf("round %d: flipped 3 bytes in each of %d shard files on %s", round, flipped, c.ID(victim))
	// Only a deep pass (scrub) finds flipped bytes; the background scrub
	// runs every 60th pass, so heal explicitly.
	rep, err := e.deepHealUntilSettled(e.p.recovery)
	if err != nil {
		t.Errorf("round %d: after flipping bytes on %s: %v", round, c.ID(victim), err)
		return
	}
	e.fault("round %d: flipped bytes in %d shard files on %s: deep heal settled (%d streams healthy) %v after the damage",
		round, flipped, c.ID(victim), rep.Streams, time.Since(t0).Round(100*time.Millisecond))
}

// join adds a node and measures what the rebalance writes against the
// ideal: the stored shard bytes divided by the new number of nodes.
func (e *chaosEnv) join(round int) int {
	t, c := e.t, e.c
	var drives []string
	for _, i := range c.Members() {
		drives = append(drives, c.Node(i).Drives()...)
	}
	files, stored, _ := harness.ShardBytes(drives...)
	nodes := len(c.Members()) + 1
	pm := e.newMeter()
	t0 := time.Now()
	idx, err := c.AddNode()
	if err != nil {
		t.Fatalf("round %d: adding a node: %v", round, err)
	}
	e.setLive(idx, true)
	ready := time.Now()
	err = harness.Eventually(e.p.recovery, 200*time.Millisecond, func() error {
		last, err := e.poll(pm)
		if err != nil {
			return err
		}
		if last == nil || !last.Started.After(ready) || pm.moved == 0 || !e.healthy(last, true) {
			return fmt.Errorf("rebalance not finished: %s; last pass %v", pm, last)
		}
		return nil
	})
	if err != nil {
		t.Errorf("round %d: after adding %s: %v", round, c.ID(idx), err)
		return idx
	}
	ideal := float64(stored) / float64(nodes)
	e.fault("round %d: join of %s (%d nodes): rebalanced in %v: %s; ideal ≈ %.1f MiB (%d shard files, %.1f MiB stored / %d nodes) → %.2f× ideal bytes, %d/%d shards moved (%.2f× ideal count)",
		round, c.ID(idx), nodes, time.Since(t0).Round(100*time.Millisecond), pm, ideal/(1<<20), files, float64(stored)/(1<<20), nodes,
		float64(pm.bytes)/ideal, pm.moved, (files+nodes-1)/nodes, float64(pm.moved*nodes)/float64(files))
	return idx
}

func (e *chaosEnv) drain(round, victim int) {
	t, c := e.t, e.c
	files, stored, _ := harness.ShardBytes(c.Node(victim).Drives()...)
	pm := e.newMeter()
	t0 := time.Now()
	via := e.currentLeader()
	done := make(chan harness.Result, 1)
	go func() { done <- c.DrainNode(via, victim, e.p.recovery) }()
	var r harness.Result
	for waiting := true; waiting; {
		select {
		case r = <-done:
			waiting = false
		case <-time.After(200 * time.Millisecond):
			_, _ = e.poll(pm)
		}
	}
	if r.Err != nil {
		t.Errorf("round %d: draining %s via %s: %s", round, c.ID(victim), c.ID(via), r)
		return
	}
	drained := time.Now()
	e.setLive(victim, false)
	if err := c.Stop(victim); err != nil {
		t.Logf("stopping drained %s: %v", c.ID(victim), err)
	}
	if victim == e.currentLeader() {
	}
	pm2, err := e.waitRepaired(drained, true, e.p.recovery)
	if err != nil {
		t.Errorf("round %d: after draining %s: %v", round, c.ID(victim), err)
		return
	}
	e.fault("round %d: drain of %s (%d shard files, %.1f MiB on it): safe to turn off after %v (%s), full redundancy and all in place %v after the drain started (then %s)",
		round, c.ID(victim), files, float64(stored)/(1<<20), drained.Sub(t0).Round(100*time.Millisecond), pm, time.Since(t0).Round(100*time.Millisecond), pm2)
}

// verify reads back every acknowledged write and checks every
// acknowledged delete, through the live nodes, after the cluster settled.
