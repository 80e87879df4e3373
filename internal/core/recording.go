package core

import (
	"context"
	"time"
)

// Recording is one recorded terminal session (asciicast v2). Its content
// is a gzip stream stored in chunks (RecordingStore.AppendRecording).
type Recording struct {
	ID        int64      `json:"id"`
	DeviceID  int64      `json:"device_id"`
	UserID    int64      `json:"user_id"`
	Actor     string     `json:"actor"` // as in the audit log
	Shell     string     `json:"shell"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"` // nil while running (or its node died)
	Size      int64      `json:"size"`               // the .cast's bytes, uncompressed
	Stored    int64      `json:"stored"`             // compressed bytes stored
	Truncated bool       `json:"truncated"`          // the session outgrew the cap
}

// RecordingStore keeps terminal recordings.
type RecordingStore interface {
	// CreateRecording stores r's facts and sets r.ID.
	CreateRecording(ctx context.Context, r *Recording) error
	// AppendRecording stores the next chunk (a gzip member) of recording
	// id with number seq and sets its totals.
	AppendRecording(ctx context.Context, id int64, seq int, chunk []byte, size, stored int64, truncated bool) error
	// FinishRecording sets the end of recording id.
	FinishRecording(ctx context.Context, id int64, ended time.Time) error
	GetRecording(ctx context.Context, id int64) (Recording, error)
	// RecordingChunks calls fn with each chunk of recording id in order.
	RecordingChunks(ctx context.Context, id int64, fn func(chunk []byte) error) error
	// DeleteRecordings deletes the recordings started before before and
	// returns how many.
	DeleteRecordings(ctx context.Context, before time.Time) (int, error)
}
