package core

import (
	"context"
	"time"
)

// Billing (issue 22): a contract per customer fixes the price per
// installation and year, the activation fee and the hourly rate; a billing
// run counts each customer's installations per day over a period, prices
// them and, once finalized, is never changed (a correction is a new run
// that names the run it corrects). Technicians record time worked, which a
// run bills at the contract's hourly rate.

// Billing periods of a contract: a bill covers one calendar month, quarter
// or year and is made after it ended.
const (
	PeriodMonthly   = "monthly"
	PeriodQuarterly = "quarterly"
	PeriodYearly    = "yearly"
)

// The default plan: 129 € per installation and year including 19 % VAT,
// 39 € once per new installation.
const (
	DefaultPlan             = "All-in-one"
	DefaultPriceCents       = 12900
	DefaultActivationCents  = 3900
	DefaultVATBasisPoints   = 1900
	DefaultHourlyRateCents  = 9500
	DefaultReactivateMonths = 6
)

// Contract is what one customer pays from Start to End (both dates
// inclusive, "YYYY-MM-DD" in the MSP's time zone; End "" is open). A
// customer's contracts never overlap. Every price is in cents and gross
// (VAT included) when Gross is set, net otherwise.
type Contract struct {
	ID         int64  `json:"id"`
	ClientID   int64  `json:"client_id"`
	ClientName string `json:"client_name,omitempty"`
	Plan       string `json:"plan"`
	// PriceCents is the price of one installation for a whole year.
	PriceCents int64 `json:"price_cents"`
	// ActivationCents is charged once per new installation.
	ActivationCents int64 `json:"activation_cents"`
	// HourlyRateCents prices work billed by time (TimeEntry).
	HourlyRateCents int64 `json:"hourly_rate_cents"`
	Gross           bool  `json:"gross"`
	// VATBasisPoints is the VAT rate in hundredths of a percent (1900 =
	// 19 %, 700 = 7 %, 0 = none); 0–10000.
	VATBasisPoints int    `json:"vat_basis_points"`
	Period         string `json:"period"` // Period*
	Start          string `json:"start"`
	End            string `json:"end,omitempty"`
	// NetworkDevicesBillable counts network devices (routers, printers…)
	// as installations too, on their own line.
	NetworkDevicesBillable bool `json:"network_devices_billable"`
	// ReactivateMonths: a machine enrolled again at least this many
	// months after it was retired is a new installation and pays the
	// activation fee again; 0: never again.
	ReactivateMonths int       `json:"reactivate_months"`
	UpdatedAt        time.Time `json:"updated_at"`
	UpdatedBy        string    `json:"updated_by"`
}

// DefaultContract is the default plan for a customer from start on.
func DefaultContract(clientID int64, start string) Contract {
	return Contract{ClientID: clientID, Plan: DefaultPlan, PriceCents: DefaultPriceCents, ActivationCents: DefaultActivationCents,
		HourlyRateCents: DefaultHourlyRateCents, Gross: true, VATBasisPoints: DefaultVATBasisPoints, Period: PeriodMonthly,
		Start: start, ReactivateMonths: DefaultReactivateMonths}
}

// BillingDevice is what billing knows of a device, retired or not: when it
// was enrolled and retired (zero: not retired) and the machine it runs on
// (MachineID; "" for network devices and agents that report none).
type BillingDevice struct {
	ID         int64     `json:"id"`
	ClientID   int64     `json:"client_id"`
	Hostname   string    `json:"hostname"`
	Kind       string    `json:"kind"` // KindAgent or KindNetwork
	MachineID  string    `json:"machine_id,omitempty"`
	EnrolledAt time.Time `json:"enrolled_at"`
	RetiredAt  time.Time `json:"retired_at"`
}

// TimeEntry is time a technician worked for a customer, optionally on an
// outage or a support request. A running entry (started, not stopped) has
// Minutes 0 and Running set; stopping it sets Minutes from the clock. An
// entry a finalized billing run billed (BilledRunID) cannot change.
type TimeEntry struct {
	ID          int64     `json:"id"`
	ClientID    int64     `json:"client_id"`
	ClientName  string    `json:"client_name,omitempty"`
	OutageID    int64     `json:"outage_id,omitempty"`
	SupportID   int64     `json:"support_request_id,omitempty"`
	User        string    `json:"user"`
	StartedAt   time.Time `json:"started_at"`
	Minutes     int       `json:"minutes"`
	Running     bool      `json:"running"`
	Note        string    `json:"note"`
	Billable    bool      `json:"billable"`
	BilledRunID int64     `json:"billed_run_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// TimeQuery filters time entries; zero fields do not filter. From and
// Until bound StartedAt ([From, Until)).
type TimeQuery struct {
	ClientID  int64
	OutageID  int64
	SupportID int64
	From      time.Time
	Until     time.Time
	// Unbilled leaves out entries a finalized run billed.
	Unbilled bool
	Scope    Scope   // the clients the reader may see
	Limit    int     // ≤ 0: all
	After    PageKey // continue after this entry (started at, ID)
}

// Billing line kinds.
const (
	LineInstallations  = "installations"
	LineNetworkDevices = "network_devices"
	LineActivations    = "activations"
	LineTime           = "time"
)

// BillLine is one priced line of a bill. Quantity is in Unit (device-days
// for installations, count for activations, minutes for time); the
// amounts are rounded commercially to the cent, line by line, and
// Net + VAT = Gross. Explain says how the figure was reached.
type BillLine struct {
	Kind     string `json:"kind"` // Line*
	Text     Text   `json:"text"`
	Quantity int64  `json:"quantity"`
	Unit     string `json:"unit"` // "device-days", "activations", "minutes"
	// UnitCents is the contract's price the line is based on (per
	// installation and year, per activation, per hour), net or gross as
	// the contract says.
	UnitCents  int64 `json:"unit_cents"`
	NetCents   int64 `json:"net_cents"`
	VATCents   int64 `json:"vat_cents"`
	GrossCents int64 `json:"gross_cents"`
	Explain    Text  `json:"explain"`
	// TimeEntryID is the time entry a LineTime line bills.
	TimeEntryID int64 `json:"time_entry_id,omitempty"`
}

// BillDevice shows how one device was counted: its days in the period and
// whether it paid an activation (and why, or why not).
type BillDevice struct {
	DeviceID   int64  `json:"device_id"`
	Hostname   string `json:"hostname"`
	Kind       string `json:"kind"`
	Days       int    `json:"days"`
	Activation bool   `json:"activation"`
	Note       Text   `json:"note"`
}

// Bill is one customer's bill for one billing period under one contract.
type Bill struct {
	ClientID       int64        `json:"client_id"`
	ClientName     string       `json:"client_name"`
	ContractID     int64        `json:"contract_id"`
	Plan           string       `json:"plan"`
	Period         string       `json:"period"`
	From           string       `json:"from"` // first day, "YYYY-MM-DD"
	To             string       `json:"to"`   // last day, inclusive
	Days           int          `json:"days"` // days in the period
	VATBasisPoints int          `json:"vat_basis_points"`
	Lines          []BillLine   `json:"lines"`
	Devices        []BillDevice `json:"devices"`
	NetCents       int64        `json:"net_cents"`
	VATCents       int64        `json:"vat_cents"`
	GrossCents     int64        `json:"gross_cents"`
}

// BillingRun is a finalized billing run over [From, To] (whole calendar
// months, "YYYY-MM-DD", To inclusive): the bills of every customer whose
// billing period ended in it. Corrects names the finalized run it
// replaces (0: none); a corrected run stays, marked CorrectedBy.
type BillingRun struct {
	ID          int64     `json:"id"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Bills       []Bill    `json:"bills"`
	NetCents    int64     `json:"net_cents"`
	VATCents    int64     `json:"vat_cents"`
	GrossCents  int64     `json:"gross_cents"`
	Corrects    int64     `json:"corrects,omitempty"`
	CorrectedBy int64     `json:"corrected_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

// BillingStore keeps contracts, time entries and finalized billing runs.
type BillingStore interface {
	// ListContracts returns a client's contracts (0: every client's,
	// deleted clients included), by client, then start.
	ListContracts(ctx context.Context, clientID int64) ([]Contract, error)
	GetContract(ctx context.Context, id int64) (Contract, error)
	// PutContract inserts c (ID 0) or replaces contract c.ID of the same
	// client, setting ID and UpdatedAt; ErrNotFound for an unknown ID;
	// ErrConflict when c's [Start, End] overlaps another contract of the
	// client (checked in the same transaction).
	PutContract(ctx context.Context, c *Contract) error
	DeleteContract(ctx context.Context, id int64) error

	// ListBillingDevices returns every device (agents and network
	// devices, retired ones and those of deleted clients included) of the
	// client (0: of every client) enrolled before until.
	ListBillingDevices(ctx context.Context, clientID int64, until time.Time) ([]BillingDevice, error)

	// CreateTimeEntry stores e, setting ID and CreatedAt.
	CreateTimeEntry(ctx context.Context, e *TimeEntry) error
	// UpdateTimeEntry stores e's fields; ErrNotFound; ErrConflict once a
	// finalized run billed it.
	UpdateTimeEntry(ctx context.Context, e *TimeEntry) error
	GetTimeEntry(ctx context.Context, id int64) (TimeEntry, error)
	// DeleteTimeEntry: ErrNotFound; ErrConflict once a finalized run
	// billed it.
	DeleteTimeEntry(ctx context.Context, id int64) error
	// ListTimeEntries returns entries by StartedAt, newest first.
	ListTimeEntries(ctx context.Context, q TimeQuery) ([]TimeEntry, error)

	// CreateBillingRun stores r (setting ID and CreatedAt) and marks the
	// time entries its LineTime lines bill as billed by it, in one
	// transaction. ErrConflict when r's period overlaps a finalized run
	// that is not corrected, unless r.Corrects names it (then that run
	// gets CorrectedBy and its time entries are billed by r instead); or
	// when r.Corrects names an unknown or already corrected run.
	CreateBillingRun(ctx context.Context, r *BillingRun) error
	GetBillingRun(ctx context.Context, id int64) (BillingRun, error)
	// ListBillingRuns returns the newest runs first, at most limit, with
	// Bills nil.
	ListBillingRuns(ctx context.Context, limit int) ([]BillingRun, error)
}
