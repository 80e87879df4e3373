package agent

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// SpoolLimits bound the spool. Past them the oldest results are dropped and
// the drop is reported as a counted gap.
type SpoolLimits struct {
	MaxBytes int64         // total size of stored results
	MaxAge   time.Duration // results older than this are dropped
}

// DefaultSpoolLimits keep about a week of results of a typical agent.
var DefaultSpoolLimits = SpoolLimits{MaxBytes: 64 << 20, MaxAge: 7 * 24 * time.Hour}

// maxBatchBytes keeps one results message well below
// protocol.MaxMessageBytes, leaving room for the envelope.
const maxBatchBytes = protocol.MaxMessageBytes / 4 * 3

var (
	bucketResults = []byte("results") // seq (8 bytes, big endian) → record
	bucketIDs     = []byte("ids")     // result ID → seq
	bucketMeta    = []byte("meta")
	keyGapPending = []byte("gap_pending")  // 8-byte count of dropped results not yet reported
	keyGapSent    = []byte("gap_inflight") // JSON core.Result reporting a gap, until acked
)

// Spool is the on-disk queue of results not yet acknowledged by the
// server. Results are written before they are sent and deleted only on ack.
// It is safe for concurrent use.
type Spool struct {
	db     *bolt.DB
	limits SpoolLimits
	now    func() time.Time

	mu    sync.Mutex
	bytes int64
	count int
}

// OpenSpool opens or creates the spool database at path.
func OpenSpool(path string, limits SpoolLimits) (*Spool, error) {
	if limits.MaxBytes <= 0 {
		limits.MaxBytes = DefaultSpoolLimits.MaxBytes
	}
	if limits.MaxAge <= 0 {
		limits.MaxAge = DefaultSpoolLimits.MaxAge
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("opening spool %s: it is in use (is the agent already running?)", path)
		}
		return nil, fmt.Errorf("opening spool %s: %w", path, err)
	}
	s := &Spool{db: db, limits: limits, now: time.Now}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketResults, bucketIDs, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketResults).ForEach(func(_, v []byte) error {
			s.bytes += int64(len(v))
			s.count++
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening spool %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Spool) Close() error { return s.db.Close() }

// Len is the number of results waiting for an ack.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Bytes is the stored size of the waiting results.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// A record is the result's time (8 bytes, Unix ms), the length of its ID
// (1 byte), the ID and the result's JSON, so that pruning needs no decoding.
func encodeRecord(r core.Result) ([]byte, error) {
	if len(r.ID) == 0 || len(r.ID) > 255 {
		return nil, fmt.Errorf("result %q: bad id", r.ID)
	}
	js, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encoding result %s: %w", r.ID, err)
	}
	b := make([]byte, 9, 9+len(r.ID)+len(js))
	binary.BigEndian.PutUint64(b, uint64(r.At.UnixMilli()))
	b[8] = byte(len(r.ID))
	b = append(b, r.ID...)
	return append(b, js...), nil
}

func recordTime(v []byte) time.Time { return time.UnixMilli(int64(binary.BigEndian.Uint64(v))) }
func recordID(v []byte) []byte      { return v[9 : 9+int(v[8])] }
func recordJSON(v []byte) []byte    { return v[9+int(v[8]):] }

// Put stores results durably (one fsync'd transaction) and then enforces
// the limits. A result whose ID is already spooled is ignored.
func (s *Spool) Put(rs ...core.Result) error {
	if len(rs) == 0 {
		return nil
	}
	recs := make([][]byte, len(rs))
	for i, r := range rs {
		b, err := encodeRecord(r)
		if err != nil {
			return err
		}
		recs[i] = b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var added, addedBytes int64
	var freed int64
	var removed int
	err := s.db.Update(func(tx *bolt.Tx) error {
		res, ids := tx.Bucket(bucketResults), tx.Bucket(bucketIDs)
		for i, r := range rs {
			if ids.Get([]byte(r.ID)) != nil {
				continue
			}
			seq, err := res.NextSequence()
			if err != nil {
				return err
			}
			k := seqKey(seq)
			if err := res.Put(k, recs[i]); err != nil {
				return err
			}
			if err := ids.Put([]byte(r.ID), k); err != nil {
				return err
			}
			added++
			addedBytes += int64(len(recs[i]))
		}
		var err error
		removed, freed, err = s.prune(tx, s.bytes+addedBytes)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing to spool: %w", err)
	}
	s.count += int(added) - removed
	s.bytes += addedBytes - freed
	return nil
}

// Prune applies the age limit now (Put applies both limits).
func (s *Spool) Prune() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var removed int
	var freed int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		removed, freed, err = s.prune(tx, s.bytes)
		return err
	})
	if err != nil {
		return fmt.Errorf("pruning spool: %w", err)
	}
	s.count -= removed
	s.bytes -= freed
	return nil
}

// prune drops results older than MaxAge and then the oldest results until
// total fits MaxBytes, and adds the number dropped to the pending gap.
func (s *Spool) prune(tx *bolt.Tx, total int64) (removed int, freed int64, err error) {
	res, ids := tx.Bucket(bucketResults), tx.Bucket(bucketIDs)
	cutoff := s.now().Add(-s.limits.MaxAge)
	c := res.Cursor()
	for k, v := c.First(); k != nil; k, v = c.First() {
		if total-freed <= s.limits.MaxBytes && !recordTime(v).Before(cutoff) {
			break
		}
		if err := ids.Delete(recordID(v)); err != nil {
			return 0, 0, err
		}
		if err := c.Delete(); err != nil {
			return 0, 0, err
		}
		removed++
		freed += int64(len(v))
	}
	if removed > 0 {
		meta := tx.Bucket(bucketMeta)
		n := readCount(meta.Get(keyGapPending)) + uint64(removed)
		if err := meta.Put(keyGapPending, binary.BigEndian.AppendUint64(nil, n)); err != nil {
			return 0, 0, err
		}
	}
	return removed, freed, nil
}

func readCount(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// Batch returns up to max of the oldest results (and at most about 3 MiB),
// without removing them. A pending gap report comes first: it is created
// once, then resent with the same ID until acked.
func (s *Spool) Batch(max int) ([]core.Result, error) {
	if max <= 0 || max > protocol.MaxBatch {
		max = protocol.MaxBatch
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []core.Result
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		gap := meta.Get(keyGapSent)
		if gap == nil {
			if n := readCount(meta.Get(keyGapPending)); n > 0 {
				b, err := json.Marshal(GapResult(int64(n), s.now()))
				if err != nil {
					return err
				}
				if err := meta.Put(keyGapSent, b); err != nil {
					return err
				}
				if err := meta.Delete(keyGapPending); err != nil {
					return err
				}
				gap = b
			}
		}
		size := 0
		if gap != nil {
			var r core.Result
			if err := json.Unmarshal(gap, &r); err != nil {
				return fmt.Errorf("decoding gap report: %w", err)
			}
			out = append(out, r)
			size += len(gap)
		}
		c := tx.Bucket(bucketResults).Cursor()
		for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
			js := recordJSON(v)
			if size+len(js) > maxBatchBytes && len(out) > 0 {
				break
			}
			var r core.Result
			if err := json.Unmarshal(js, &r); err != nil {
				return fmt.Errorf("decoding spooled result: %w", err)
			}
			out = append(out, r)
			size += len(js)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading spool: %w", err)
	}
	return out, nil
}

// Delete removes acknowledged results; unknown IDs are ignored.
func (s *Spool) Delete(ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var removed int
	var freed int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		res, idx, meta := tx.Bucket(bucketResults), tx.Bucket(bucketIDs), tx.Bucket(bucketMeta)
		var gapID string
		if gap := meta.Get(keyGapSent); gap != nil {
			var r core.Result
			if json.Unmarshal(gap, &r) == nil {
				gapID = r.ID
			}
		}
		for _, id := range ids {
			if id == gapID && gapID != "" {
				if err := meta.Delete(keyGapSent); err != nil {
					return err
				}
				continue
			}
			k := idx.Get([]byte(id))
			if k == nil {
				continue
			}
			k = append([]byte(nil), k...)
			if v := res.Get(k); v != nil {
				freed += int64(len(v))
				removed++
				if err := res.Delete(k); err != nil {
					return err
				}
			}
			if err := idx.Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting acked results from spool: %w", err)
	}
	s.count -= removed
	s.bytes -= freed
	return nil
}

// Dropped is the number of dropped results not yet acknowledged as reported.
func (s *Spool) Dropped() (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		n = int64(readCount(meta.Get(keyGapPending)))
		if gap := meta.Get(keyGapSent); gap != nil {
			var r core.Result
			if err := json.Unmarshal(gap, &r); err != nil {
				return err
			}
			if r.Value != nil {
				n += int64(*r.Value)
			}
		}
		return nil
	})
	return n, err
}

// GapResult reports n results the spool had to drop.
func GapResult(n int64, at time.Time) core.Result {
	return core.Result{
		ID:     core.NewResultID(),
		Check:  "agent",
		Key:    "spool",
		Status: core.StatusWarning,
		Value:  check.Float(float64(n)),
		Message: core.Text{
			EN: fmt.Sprintf("The agent's spool was full or its results too old: %d results were dropped without being sent", n),
			DE: fmt.Sprintf("Der Zwischenspeicher des Agenten war voll oder zu alt: %d Ergebnisse wurden ungesendet verworfen", n),
		},
		At: at.UTC().Truncate(time.Millisecond),
	}
}
