package service

import (
	"context"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Billing (issue 22): contracts per customer, billing runs, time worked,
// and the monthly customer report. Contracts and billing runs are
// administrators' work (they fix what customers pay); technicians record
// and see time within their client scope; anyone who may see a client may
// download its monthly report.

// ContractView is a customer's contracts and, when it has none in force
// today, the default plan pre-filled from today (Suggested).
type ContractView struct {
	Client    core.Client     `json:"client"`
	Current   *core.Contract  `json:"current,omitempty"` // in force today
	Contracts []core.Contract `json:"contracts"`         // every one, by start
	Suggested *core.Contract  `json:"suggested,omitempty"`
}

// ClientContract returns client clientID's contracts (admin).
func (s *Service) ClientContract(ctx context.Context, u core.User, clientID int64) (ContractView, error) {
	return s.clientContract(ctx, u, clientID)
}

// PutContract validates c and stores it as a new contract of c.ClientID
// (c.ID 0) or in place of contract c.ID; audited (admin). A negative
// price, VAT over 100 %, a start after the end, an unknown period or an
// overlap with another contract of the customer is refused with the field
// named.
func (s *Service) PutContract(ctx context.Context, u core.User, c core.Contract) (core.Contract, error) {
	return s.putContract(ctx, u, c)
}

// DeleteContract removes a contract; audited (admin).
func (s *Service) DeleteContract(ctx context.Context, u core.User, id int64) error {
	return s.deleteContract(ctx, u, id)
}

// BillingPreview computes every customer's bills for [from, to] (whole
// calendar months, "YYYY-MM-DD") without storing them (admin); a period
// that has not started is refused. The run has ID 0; Corrects names the
// finalized run that covers the period, if any.
func (s *Service) BillingPreview(ctx context.Context, u core.User, from, to string) (core.BillingRun, error) {
	return s.billingPreview(ctx, u, from, to)
}

// FinalizeBilling computes the run as BillingPreview does and stores it,
// locking the period; audited (admin). A period not yet ended is refused;
// a period a finalized run covers is refused unless corrects names that
// run, which the new run then replaces.
func (s *Service) FinalizeBilling(ctx context.Context, u core.User, from, to string, corrects int64) (core.BillingRun, error) {
	return s.finalizeBilling(ctx, u, from, to, corrects)
}

// BillingRun returns a finalized run (admin).
func (s *Service) BillingRun(ctx context.Context, u core.User, id int64) (core.BillingRun, error) {
	return s.billingRun(ctx, u, id)
}

// BillingRuns lists finalized runs, newest first, without bills (admin).
func (s *Service) BillingRuns(ctx context.Context, u core.User) ([]core.BillingRun, error) {
	return s.billingRuns(ctx, u)
}

// RecordTime stores a time entry of the caller for a client in scope:
// minutes worked, or a running entry (Running, Minutes 0) to stop later;
// an outage or support request named must be the client's; audited
// (technician or admin).
func (s *Service) RecordTime(ctx context.Context, u core.User, e core.TimeEntry) (core.TimeEntry, error) {
	return s.recordTime(ctx, u, e)
}

// StopTime stops a running entry, setting its minutes from the clock
// (at least 1); audited.
func (s *Service) StopTime(ctx context.Context, u core.User, id int64) (core.TimeEntry, error) {
	return s.stopTime(ctx, u, id)
}

// UpdateTimeEntry changes an unbilled entry's minutes, note and billable
// flag; audited.
func (s *Service) UpdateTimeEntry(ctx context.Context, u core.User, e core.TimeEntry) (core.TimeEntry, error) {
	return s.updateTimeEntry(ctx, u, e)
}

// DeleteTimeEntry removes an unbilled entry; audited.
func (s *Service) DeleteTimeEntry(ctx context.Context, u core.User, id int64) error {
	return s.deleteTimeEntry(ctx, u, id)
}

// TimeEntries lists entries within the caller's scope.
func (s *Service) TimeEntries(ctx context.Context, u core.User, q core.TimeQuery) ([]core.TimeEntry, error) {
	return s.timeEntries(ctx, u, q)
}
