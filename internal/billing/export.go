package billing

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/core"
)

// CSVHeader is the CSV's header row.
var CSVHeader = []string{"Kunde", "Kunden-Nr.", "Zeitraum von", "Zeitraum bis", "Position", "Menge", "Einheit",
	"Einzelpreis", "Netto", "USt.-Satz", "USt.", "Brutto", "Erläuterung"}

var unitsDE = map[string]string{"device-days": "Gerätetage", "activations": "Aktivierungen", "minutes": "Minuten"}

// dateCSV turns "YYYY-MM-DD" into "dd.mm.yyyy".
func dateCSV(s string) string {
	if d, ok := parseDay(s); ok {
		return dateDE(d.date())
	}
	return s
}

func centsCSV(c int64) string { return amount(c, ",", "") }

func writeCSV(w io.Writer, run core.BillingRun) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	var net, vat, gross int64
	for _, b := range run.Bills {
		for _, l := range b.Lines {
			unit := unitsDE[l.Unit]
			if unit == "" {
				unit = l.Unit
			}
			rec := []string{b.ClientName, strconv.FormatInt(b.ClientID, 10), dateCSV(b.From), dateCSV(b.To),
				l.Text.In("de"), strconv.FormatInt(l.Quantity, 10), unit, centsCSV(l.UnitCents), centsCSV(l.NetCents),
				percent(b.VATBasisPoints, ","), centsCSV(l.VATCents), centsCSV(l.GrossCents), l.Explain.In("de")}
			if err := cw.Write(rec); err != nil {
				return err
			}
			net += l.NetCents
			vat += l.VATCents
			gross += l.GrossCents
		}
	}
	if err := cw.Write([]string{"Summe", "", dateCSV(run.From), dateCSV(run.To), "", "", "", "", centsCSV(net), "",
		centsCSV(vat), centsCSV(gross), ""}); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func writeJSON(w io.Writer, run core.BillingRun) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(run)
}
