package drive

// Op names one kind of drive call. Faulty programs faults per Op, and
// Instrumented uses it as the "op" metric label.
type Op string

// The operations of ShardStore, ShardWriter and the readers Open returns.
const (
	OpCreate Op = "create"
	OpWrite  Op = "write"
	OpCommit Op = "commit"
	OpAbort  Op = "abort"
	OpOpen   Op = "open"
	OpRead   Op = "read"
	OpStat   Op = "stat"
	OpDelete Op = "delete"
	OpWalk   Op = "walk"
	OpInfo   Op = "info"
)
