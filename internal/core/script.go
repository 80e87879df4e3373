package core

import (
	"context"
	"encoding/json"
	"time"
)

// Script parameter types.
const (
	ParamText   = "text"
	ParamNumber = "number"
	ParamBool   = "bool" // yes/no
	ParamChoice = "choice"
	ParamSecret = "secret" // sealed at rest, masked in output, views and the audit log
)

// Run-as choices of a script.
const (
	RunAsSystem = "system" // SYSTEM on Windows, root elsewhere
	RunAsUser   = "user"   // the logged-on user (not supported yet)
)

// ScriptParam declares one parameter of a script. It reaches the script as
// the environment variable Name. Default is a JSON value of the type
// (none for secrets); Choices lists a choice's values.
type ScriptParam struct {
	Name     string          `json:"name"`
	Type     string          `json:"type"`
	Label    Text            `json:"label,omitzero"`
	Default  json.RawMessage `json:"default,omitempty"`
	Choices  []string        `json:"choices,omitempty"`
	Required bool            `json:"required,omitempty"`
}

// Script is one version of a script of the library. Editing a script
// stores a new version; runs record the version they ran. Builtin is the
// key of a built-in script ("" for the users' own), which are read-only.
// Signature is the base64 ed25519 signature of Language and Body for agents
// in lock mode (scriptsign).
type Script struct {
	ID             int64         `json:"id"`
	Name           string        `json:"name"`
	Builtin        string        `json:"builtin,omitempty"`
	Version        int           `json:"version"`
	Description    Text          `json:"description"`
	Language       string        `json:"language"`
	Body           string        `json:"body"`
	Params         []ScriptParam `json:"params"`
	TimeoutSeconds int           `json:"timeout_seconds"`
	RunAs          string        `json:"run_as"`
	OS             []string      `json:"os"` // linux, windows, darwin; empty: every OS
	Signature      string        `json:"signature,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"` // when this version was stored
	UpdatedBy      string        `json:"updated_by,omitempty"`
	Deleted        bool          `json:"deleted,omitempty"`
}

// ScriptVersion lists one stored version of a script.
type ScriptVersion struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// ScriptStore keeps the script library with every version.
type ScriptStore interface {
	// CreateScript stores s as version 1 and sets ID, Version and times;
	// ErrConflict for a name another script (not deleted) has.
	CreateScript(ctx context.Context, s *Script) error
	// UpdateScript stores s as a new version of script s.ID and sets
	// Version and UpdatedAt; ErrNotFound for an unknown or deleted script,
	// ErrConflict for a taken name.
	UpdateScript(ctx context.Context, s *Script) error
	// GetScript returns a script's current version; ErrNotFound if unknown
	// or deleted.
	GetScript(ctx context.Context, id int64) (Script, error)
	// GetScriptVersion returns one version, also of a deleted script.
	GetScriptVersion(ctx context.Context, id int64, version int) (Script, error)
	// ListScripts returns the current version of every script not deleted,
	// built-in ones first, then by name.
	ListScripts(ctx context.Context) ([]Script, error)
	// ListScriptVersions returns a script's versions, newest first.
	ListScriptVersions(ctx context.Context, id int64) ([]ScriptVersion, error)
	// DeleteScript marks a script deleted: it leaves the library, its
	// versions stay for the runs that name them.
	DeleteScript(ctx context.Context, id int64) error
	// EnsureBuiltinScript creates the built-in script s.Builtin or, when
	// its content changed, stores s as its new version; it sets s's ID and
	// Version.
	EnsureBuiltinScript(ctx context.Context, s *Script) error
}
