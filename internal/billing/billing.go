// Package billing prices a customer's installations: it counts each
// machine's days in a billing period, prorates the contract's yearly price
// by days, charges the activation fee once per new machine, bills recorded
// time at the hourly rate, and rounds every line commercially to the cent.
// It is pure — the store's devices, contracts and time entries go in, bills
// with the arithmetic spelled out in German and English come out — so the
// preview, the finalized run and the tests see the same figures. Export
// writes bills as CSV for a German Excel and as JSON.
package billing

import (
	"errors"
	"io"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Input is one customer's data for a run over [From, To] (whole calendar
// months, "YYYY-MM-DD", To inclusive), as the store holds it.
type Input struct {
	Client    core.Client
	Contracts []core.Contract      // the client's, any order
	Devices   []core.BillingDevice // every device of the client ever enrolled before the run's end
	// Time are the client's unbilled time entries that started in the
	// run's period (running ones are left out and listed in Open).
	Time     []core.TimeEntry
	From, To string
	Location *time.Location // day boundaries; nil means UTC
}

// ErrTODO marks what is not written yet.
var ErrTODO = errors.New("billing: not implemented yet")

// Compute returns the client's bills for every billing period of its
// contracts that ends in [From, To], plus one for time worked in the run
// when no period ends in it.
func Compute(in Input) ([]core.Bill, error) { return nil, ErrTODO }

// WriteCSV writes the bills' lines for a German Excel: UTF-8 with a byte
// order mark, ";" between fields, decimal comma, one row per line.
func WriteCSV(w io.Writer, run core.BillingRun) error { return ErrTODO }

// WriteJSON writes the run as indented JSON.
func WriteJSON(w io.Writer, run core.BillingRun) error { return ErrTODO }
