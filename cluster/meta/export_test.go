package meta

// CrashClose closes f the way a killed process leaves it: the database not
// fsynced, the unclean marker of WithLogDurability left in place.
func (f *FSM) CrashClose() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	f.db = nil
	f.waiters.wake()
	return err
}
