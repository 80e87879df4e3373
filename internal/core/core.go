// Package core holds Wacht's domain types, the small store interfaces that
// the server's services depend on, and the sentinel errors every layer maps
// to exactly once (driver errors in the store, HTTP codes in the API).
package core

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors. The store maps driver errors to these; the API maps these
// to HTTP status codes.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrInvalid      = errors.New("invalid input")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	// ErrTokenExpired, ErrTokenRevoked and ErrTokenUsedUp explain why an
	// enrollment token enrolled nothing; the agent prints them.
	ErrTokenExpired = errors.New("enrollment token has expired")
	ErrTokenRevoked = errors.New("enrollment token has been revoked")
	ErrTokenUsedUp  = errors.New("enrollment token has no uses left")
	// ErrDeviceRevoked refuses a device whose enrollment was revoked.
	ErrDeviceRevoked = errors.New("device has been revoked")
	// ErrOffline is returned for a command to an agent that is not connected.
	ErrOffline = errors.New("device is offline")
)

// Status is the outcome of one check run, ordered by severity so that the
// worst of several is their maximum.
type Status int

const (
	StatusUnknown Status = iota // never reported, or the check could not tell
	StatusOK
	StatusWarning
	StatusFailure
	StatusError       // the check itself failed to run
	StatusUnsupported // the check does not apply on this OS
)

var statusNames = [...]string{"unknown", "ok", "warning", "failure", "error", "unsupported"}

func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return "unknown"
	}
	return statusNames[s]
}

// ParseStatus is the inverse of String; unknown names give StatusUnknown.
func ParseStatus(name string) Status {
	for i, n := range statusNames {
		if n == name {
			return Status(i)
		}
	}
	return StatusUnknown
}

// Severity ranks statuses for "worst of": failure > error > warning > unknown
// > ok > unsupported.
func (s Status) Severity() int {
	switch s {
	case StatusFailure:
		return 5
	case StatusError:
		return 4
	case StatusWarning:
		return 3
	case StatusUnknown:
		return 2
	case StatusOK:
		return 1
	default:
		return 0
	}
}

// Worst returns the most severe of the given statuses (StatusOK for none).
func Worst(ss ...Status) Status {
	w := StatusOK
	for _, s := range ss {
		if s.Severity() > w.Severity() {
			w = s
		}
	}
	return w
}

// MarshalText and UnmarshalText make Status travel as its name in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Status) UnmarshalText(b []byte) error {
	*s = ParseStatus(string(b))
	return nil
}

// Text is a message in the two languages Wacht speaks.
type Text struct {
	EN string `json:"en"`
	DE string `json:"de"`
}

// In returns the text in lang ("de" or "en"), falling back to English.
func (t Text) In(lang string) string {
	if lang == "de" && t.DE != "" {
		return t.DE
	}
	return t.EN
}

// Roles of dashboard users.
const (
	RoleAdmin      = "admin"
	RoleTechnician = "technician"
	RoleReadOnly   = "readonly"
)

// Device states.
const (
	DeviceActive  = "active"
	DeviceRevoked = "revoked"
)

type Client struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Contact             // contact details and report language
}

type Site struct {
	ID         int64     `json:"id"`
	ClientID   int64     `json:"client_id"`
	ClientName string    `json:"client_name,omitempty"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
}

// Device is one enrolled machine.
type Device struct {
	ID           int64     `json:"id"`
	SiteID       int64     `json:"site_id"`
	SiteName     string    `json:"site_name,omitempty"`
	ClientID     int64     `json:"client_id"`
	ClientName   string    `json:"client_name,omitempty"`
	Hostname     string    `json:"hostname"`
	OS           string    `json:"os"`       // GOOS
	Platform     string    `json:"platform"` // e.g. "Debian GNU/Linux 12"
	Arch         string    `json:"arch"`
	MachineID    string    `json:"machine_id,omitempty"` // stable OS machine id; the API hides it from readonly users
	PublicKey    []byte    `json:"-"`                    // ed25519 public key
	Role         string    `json:"role"`                 // server, workstation, notebook
	State        string    `json:"state"`                // active, revoked, retired
	Tags         []string  `json:"tags"`
	AgentVersion string    `json:"agent_version"`
	EnrolledAt   time.Time `json:"enrolled_at"`
	LastSeen     time.Time `json:"last_seen"`
	// DuplicateOf is the active device of the same site that had this
	// device's machine ID when it enrolled without proving that device's
	// key: a reinstall that lost its key, a cloned machine or an impostor
	// (0: none). A technician decides which one to retire.
	DuplicateOf int64 `json:"duplicate_of,omitempty"`
	// Filled by queries that join current check state.
	Worst Status `json:"worst_status"`
}

// CheckState is the current state of one check instance on one device.
type CheckState struct {
	CheckID   int64     `json:"id"`
	DeviceID  int64     `json:"device_id"`
	Name      string    `json:"name"` // check type, e.g. "disk"
	Key       string    `json:"key"`  // instance, e.g. "/" or "C:"; "" for single-instance checks
	Status    Status    `json:"status"`
	Value     *float64  `json:"value,omitempty"`
	Unit      string    `json:"unit,omitempty"`
	Message   Text      `json:"message"`
	At        time.Time `json:"at"`         // time of the latest result
	ChangedAt time.Time `json:"changed_at"` // when Status last changed
}

// Result is one check result as stored in history. ID is chosen by the agent
// (a UUID) and makes redelivery idempotent.
type Result struct {
	ID      string    `json:"id"`
	Check   string    `json:"check"`
	Key     string    `json:"key"`
	Status  Status    `json:"status"`
	Value   *float64  `json:"value,omitempty"`
	Unit    string    `json:"unit,omitempty"`
	Message Text      `json:"message"`
	At      time.Time `json:"at"`
	// Rollup is set on an hourly summary that replaced the raw results of
	// the hour starting At once they aged out: Value is their mean, Status
	// the worst, ID and Message are empty.
	Rollup *Rollup `json:"rollup,omitempty"`
	// Data is the check's structured findings, a JSON object with a kind
	// and a version (protocol.Events, protocol.Logins), or nil. Only the
	// reads that need it (ListClientResults) return it.
	Data json.RawMessage `json:"data,omitempty"`
}

// Rollup summarizes one check's results of an hour.
type Rollup struct {
	Results int      `json:"results"`
	Min     *float64 `json:"min,omitempty"`
	Max     *float64 `json:"max,omitempty"`
}

// EnrollmentToken is stored with a hash of its secret only.
type EnrollmentToken struct {
	ID         int64  `json:"id"`
	SecretHash []byte `json:"-"`
	// Label says what the token is for ("Intune rollout", "Laptop
	// Meier"); optional.
	Label      string     `json:"label"`
	CreatedBy  string     `json:"created_by"`
	ClientID   int64      `json:"client_id"`
	ClientName string     `json:"client_name"`
	SiteID     int64      `json:"site_id"`
	SiteName   string     `json:"site_name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	MaxUses    int        `json:"max_uses"` // 0 = unlimited
	Uses       int        `json:"uses"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

type User struct {
	ID           int64  `json:"id"`
	Email        string `json:"email"`
	PasswordHash string `json:"-"`
	Role         string `json:"role"`
	Lang         string `json:"lang"` // "", "de" or "en"; "" follows the browser
	// TimeZone is the IANA zone the dashboard shows times in; "" until
	// chosen (the dashboard then asks the browser once).
	TimeZone  string    `json:"time_zone"`
	CreatedAt time.Time `json:"created_at"`
	// Scope is the set of clients the user may see (admins: all).
	Scope Scope `json:"scope"`
	// TOTPEnabled says whether sign-in asks for a second factor.
	TOTPEnabled bool `json:"totp_enabled"`
	// ProviderMFA is set for the request of a session whose single
	// sign-on provider checked a second factor instead of Wacht
	// (core.Session.ProviderMFA); it is not stored with the user.
	ProviderMFA bool `json:"-"`
	// Disabled users can neither sign in nor use their API tokens (deleted
	// users are disabled too).
	Disabled bool `json:"disabled"`
}

// HasSecondFactor reports whether the user's sign-in passed a second
// factor: Wacht's TOTP or one their single sign-on provider enforces.
func (u User) HasSecondFactor() bool { return u.TOTPEnabled || u.ProviderMFA }

// APIToken authenticates API calls as its user. Only a hash is stored.
type APIToken struct {
	ID        int64      `json:"id"`
	UserID    int64      `json:"user_id"`
	Name      string     `json:"name"`
	Hash      []byte     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Role ("" = the user's) and Scope (zero = the user's) narrow the
	// token; at use time it gets the lesser of these and its user's rights.
	Role  string `json:"role,omitempty"`
	Scope Scope  `json:"scope"`
}

// Session is a dashboard login. Only a hash of the cookie value is stored.
type Session struct {
	Hash      []byte
	UserID    int64
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
	// OIDCProvider is the provider the user signed in with (0: password);
	// ProviderMFA says it vouched for their second factor.
	OIDCProvider int64
	ProviderMFA  bool
}

// AuditEntry records who changed what.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // "user:alice@x", "cli", "agent:12"
	Action string    `json:"action"` // "token.create", "device.run-checks", ...
	Target string    `json:"target"`
	Detail string    `json:"detail"`
	Remote string    `json:"remote"` // the caller's address; "" for the CLI
	Result string    `json:"result"` // AuditOK, AuditDenied, AuditFailed; "" = ok
	// PrevHash and Hash chain the entries (see store.AuditHash).
	PrevHash []byte `json:"prev_hash"`
	Hash     []byte `json:"hash"`
}

// Small store interfaces, one per aggregate. internal/store implements all of
// them with one SQL implementation.

type TenantStore interface {
	// EnsureClientSite returns the client and site by name, creating them.
	EnsureClientSite(ctx context.Context, client, site string) (Client, Site, error)
	ListClients(ctx context.Context) ([]Client, error)
	ListSites(ctx context.Context) ([]Site, error)
}

type TokenStore interface {
	CreateEnrollmentToken(ctx context.Context, t *EnrollmentToken) error // sets ID, CreatedAt
	ListEnrollmentTokens(ctx context.Context) ([]EnrollmentToken, error)
	// GetEnrollmentToken returns one token with its client and site names;
	// ErrNotFound.
	GetEnrollmentToken(ctx context.Context, id int64) (EnrollmentToken, error)
	RevokeEnrollmentToken(ctx context.Context, id int64, at time.Time) error
	// Enroll consumes one use of the token with this secret hash and creates
	// a new device in the token's site, atomically. It never re-keys an
	// existing device: if an active device of the site has d's machine ID,
	// the new one's DuplicateOf names it. It returns ErrNotFound for an
	// unknown token and ErrTokenExpired / ErrTokenRevoked / ErrTokenUsedUp
	// as they apply.
	Enroll(ctx context.Context, secretHash []byte, d *Device, now time.Time) error
	// Rekey consumes one use of the token and gives device d.ID the key
	// d.PublicKey and d's host facts, atomically, but only if it is an
	// active device of the token's site whose key is still oldKey (the
	// caller verified a signature made with oldKey); otherwise ErrConflict
	// and nothing changes. The token errors are Enroll's.
	Rekey(ctx context.Context, secretHash []byte, d *Device, oldKey []byte, now time.Time) error
}

type DeviceStore interface {
	ListDevices(ctx context.Context) ([]Device, error) // with Worst filled
	GetDevice(ctx context.Context, id int64) (Device, error)
	RevokeDevice(ctx context.Context, id int64) error
	// TouchDevice records that the agent was heard from, with its facts.
	TouchDevice(ctx context.Context, id int64, at time.Time, agentVersion string) error
	// SetDeviceActionKey records the fingerprint of the newest action key
	// the device's agent trusts (reported at auth, confirmed after a
	// rotation's announcement).
	SetDeviceActionKey(ctx context.Context, id int64, fingerprint string) error
	// DevicesNotOnActionKey lists the active devices whose agents have not
	// confirmed the action key with fingerprint fp.
	DevicesNotOnActionKey(ctx context.Context, fp string) ([]DeviceActionKey, error)
}

// DeviceActionKey is a device with the fingerprint of the newest action key
// its agent reported trusting ("" if it never reported one).
type DeviceActionKey struct {
	ID          int64
	Hostname    string
	ClientName  string
	SiteName    string
	Fingerprint string
	LastSeen    time.Time // zero: never connected
}

type ResultStore interface {
	// SaveResults stores a batch in one transaction: history rows (ignoring
	// IDs already stored) and current state. It returns only after commit.
	SaveResults(ctx context.Context, deviceID int64, rs []Result) error
	ListCheckStates(ctx context.Context, deviceID int64) ([]CheckState, error)
	ListResults(ctx context.Context, deviceID int64, since time.Time, limit int) ([]Result, error)
	// ListCheckHistory returns the history of one check instance (name and
	// key) of the device at or after since and before until (zero: no
	// bound), newest first, at most limit rows (limit ≤ 0: all). An unknown
	// device or check yields no rows.
	ListCheckHistory(ctx context.Context, deviceID int64, check, key string, since, until time.Time, limit int) ([]Result, error)
	CountResults(ctx context.Context, deviceID int64) (int, error)
}

type UserStore interface {
	CreateUser(ctx context.Context, u *User) error
	GetUserByEmail(ctx context.Context, email string) (User, error)
	GetUser(ctx context.Context, id int64) (User, error)
	CountUsers(ctx context.Context) (int, error)
	SetUserLang(ctx context.Context, id int64, lang string) error
	SetUserTimeZone(ctx context.Context, id int64, zone string) error
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// GetAPIToken finds a token by hash; revoked or expired tokens are
	// returned too, the caller decides.
	GetAPIToken(ctx context.Context, hash []byte) (APIToken, error)
	RevokeAPIToken(ctx context.Context, id int64, at time.Time) error
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, hash []byte) (Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
}

type AuditStore interface {
	Audit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, limit int) ([]AuditEntry, error)
}

type SettingStore interface {
	GetSetting(ctx context.Context, key string) (string, error) // ErrNotFound if unset
	SetSetting(ctx context.Context, key, value string) error
}

// Store is everything the server needs; the server's packages depend on the
// small interfaces above, not on this.
type Store interface {
	TenantStore
	TokenStore
	DeviceStore
	ResultStore
	UserStore
	AuditStore
	SettingStore
	PolicyStore
	ClientStore
	AccessStore
	AuditChain
	AlertStore
	ProtectionStore
	NetDeviceStore
	MaintenanceStore
	ReportStore
	RecordingStore
	ScriptStore
	ScriptJobStore
	PackageStore
	InventoryStore
	PatchStore
	SupportStore
	ReleaseStore
	BillingStore
	DeviceListStore
	SavedViewStore
	OIDCProviderStore
	Close() error
}

// DefaultHeartbeat is the interval agents send heartbeats at unless the
// server says otherwise (wacht serve --heartbeat).
const DefaultHeartbeat = 30 * time.Second

// MaxSeenFlush bounds how long a heartbeat waits in memory before its
// device's last_seen is written (see SeenFlush).
const MaxSeenFlush = 5 * time.Second

// onlineMargin is the slack OnlineWindow allows beyond one heartbeat and
// its flush, for the network, a busy database and timer jitter.
const onlineMargin = 5 * time.Second

// SeenFlush is how often the gateway writes the last_seen of the devices
// it heard from (it coalesces heartbeats into one statement): within a
// third of a heartbeat, at most MaxSeenFlush.
func SeenFlush(heartbeat time.Duration) time.Duration {
	return min(heartbeat/3, MaxSeenFlush)
}

// OnlineWindow is how long after its last message a device still counts as
// online when agents send a heartbeat every heartbeat (<= 0: the default):
// three heartbeats, 90 s by default — but never less than a heartbeat plus
// its flush delay plus a margin, or live devices would flap offline
// between heartbeats with short intervals.
func OnlineWindow(heartbeat time.Duration) time.Duration {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	return max(3*heartbeat, heartbeat+SeenFlush(heartbeat)+onlineMargin)
}

// Online reports whether the device was heard from within window (see
// OnlineWindow) before now.
func (d Device) Online(now time.Time, window time.Duration) bool {
	return d.State == DeviceActive && !d.LastSeen.IsZero() && now.Sub(d.LastSeen) < window
}
