package billing

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// testRun is a run over November with two customers, umlauts, a note
// with ";" and a quote, time, activations and a 7 % contract.
func testRun(t *testing.T) core.BillingRun {
	t.Helper()
	run := core.BillingRun{From: nov, To: novEnd}
	other := core.Client{ID: 3, Name: "Bäckerei Öztürk"}
	ins := []Input{
		{Client: client, Contracts: []core.Contract{contract()},
			Devices: []core.BillingDevice{agent(1, "m1", "2025-02-03", ""), agent(2, "m2", "2026-11-15", ""), agent(3, "", "2026-11-20", "")},
			Time: []core.TimeEntry{
				{ID: 11, StartedAt: at("2026-11-10"), Minutes: 50, Billable: true, Note: `Drucker "HP Laser"; Toner getauscht`},
				{ID: 12, StartedAt: at("2026-11-11"), Minutes: 15, Billable: false, Note: "Rückruf, Kulanz"},
			}},
		{Client: other, Contracts: []core.Contract{contract(func(c *core.Contract) {
			c.ClientID = other.ID
			c.VATBasisPoints = 700
			c.Gross = false
			c.PriceCents = 100000
		})}, Devices: []core.BillingDevice{{ID: 9, ClientID: other.ID, Kind: core.KindAgent, EnrolledAt: at("2026-01-01")}}},
	}
	for _, in := range ins {
		in.From, in.To = nov, novEnd
		bills, err := Compute(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bills {
			run.NetCents += b.NetCents
			run.VATCents += b.VATCents
			run.GrossCents += b.GrossCents
		}
		run.Bills = append(run.Bills, bills...)
	}
	return run
}

func TestWriteCSV(t *testing.T) {
	run := testRun(t)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, run); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	if !bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		t.Fatal("no byte order mark")
	}
	if n, crlf := bytes.Count(raw, []byte("\n")), bytes.Count(raw, []byte("\r\n")); n != crlf {
		t.Errorf("%d line ends, %d CRLF", n, crlf)
	}
	r := csv.NewReader(bytes.NewReader(raw[3:]))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ";") != "Kunde;Kunden-Nr.;Zeitraum von;Zeitraum bis;Position;Menge;Einheit;Einzelpreis;Netto;USt.-Satz;USt.;Brutto;Erläuterung" {
		t.Errorf("header %q", rows[0])
	}
	want := [][]string{
		{"Müller & Söhne GmbH", "7", "01.11.2026", "30.11.2026", "Installationen", "57", "Gerätetage", "129,00", "17,17", "19", "3,26", "20,43"},
		{"Müller & Söhne GmbH", "7", "01.11.2026", "30.11.2026", "Aktivierungsgebühr", "2", "Aktivierungen", "39,00", "65,55", "19", "12,45", "78,00"},
		{"Müller & Söhne GmbH", "7", "01.11.2026", "30.11.2026", `Drucker "HP Laser"; Toner getauscht`, "50", "Minuten", "95,00", "66,53", "19", "12,64", "79,17"},
		{"Müller & Söhne GmbH", "7", "01.11.2026", "30.11.2026", "Rückruf, Kulanz", "15", "Minuten", "95,00", "0,00", "19", "0,00", "0,00"},
		{"Bäckerei Öztürk", "3", "01.11.2026", "30.11.2026", "Installationen", "30", "Gerätetage", "1000,00", "83,33", "7", "5,83", "89,16"},
		{"Summe", "", "01.11.2026", "30.11.2026", "", "", "", "", "232,58", "", "34,18", "266,76"},
	}
	if len(rows) != len(want)+1 {
		t.Fatalf("%d rows: %q", len(rows), rows)
	}
	for i, w := range want {
		if got := rows[i+1][:len(w)]; strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("row %d\n got %q\nwant %q", i+1, got, w)
		}
	}
	if !strings.HasPrefix(rows[1][12], "129,00 € brutto/Jahr × 1/12 × 57 Gerätetage ÷ 30 Tage = 20,43 €") {
		t.Errorf("explanation %q", rows[1][12])
	}
	if run.GrossCents != 26676 {
		t.Errorf("run gross %d", run.GrossCents)
	}
}

// pandasPython finds a python3 that has pandas: the one on PATH, else
// Debian's.
func pandasPython() string {
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import pandas").Run() == nil {
			return p
		}
	}
	return ""
}

// pandas reads the CSV as a German Excel user's tool would: ";" and a
// decimal comma, UTF-8 with BOM.
const pandasScript = `
import json, sys
import pandas
df = pandas.read_csv(sys.argv[1], sep=';', decimal=',', encoding='utf-8-sig', dtype={'Kunden-Nr.': str})
body = df[df['Kunde'] != 'Summe']
total = df[df['Kunde'] == 'Summe']
out = {
  'columns': list(df.columns),
  'rows': len(body),
  'net': int(round(body['Netto'].sum() * 100)),
  'vat': int(round(body['USt.'].sum() * 100)),
  'gross': int(round(body['Brutto'].sum() * 100)),
  'total_gross': int(round(float(total['Brutto'].iloc[0]) * 100)),
  'quantity': int(body['Menge'].sum()),
  'dtypes': {c: str(df[c].dtype) for c in ['Netto', 'USt.', 'Brutto', 'Einzelpreis']},
  'clients': sorted(set(body['Kunde'])),
  'positions': list(body['Position']),
}
json.dump(out, sys.stdout, ensure_ascii=False)
`

func TestCSVReadByPandas(t *testing.T) {
	py := pandasPython()
	if py == "" {
		if os.Getenv("WACHT_REQUIRE_TOOLS") != "" {
			t.Fatal("python3 with pandas is required (WACHT_REQUIRE_TOOLS is set); install python3-pandas")
		}
		t.Skip("python3 with pandas not found")
	}
	run := testRun(t)
	path := filepath.Join(t.TempDir(), "abrechnung.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(f, run); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", pandasScript, path).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("pandas: %v\n%s%s", err, out, stderr)
	}
	var got struct {
		Columns    []string
		Rows       int
		Net        int64
		VAT        int64
		Gross      int64
		TotalGross int64 `json:"total_gross"`
		Quantity   int64
		Dtypes     map[string]string
		Clients    []string
		Positions  []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.Join(got.Columns, ";") != strings.Join(CSVHeader, ";") {
		t.Errorf("columns %q", got.Columns)
	}
	if got.Net != run.NetCents || got.VAT != run.VATCents || got.Gross != run.GrossCents || got.TotalGross != run.GrossCents {
		t.Errorf("pandas sums %d/%d/%d (Summe %d), run %d/%d/%d", got.Net, got.VAT, got.Gross, got.TotalGross, run.NetCents, run.VATCents, run.GrossCents)
	}
	var lines int
	var qty int64
	for _, b := range run.Bills {
		lines += len(b.Lines)
		for _, l := range b.Lines {
			qty += l.Quantity
		}
	}
	if got.Rows != lines || got.Quantity != qty {
		t.Errorf("pandas read %d rows with %d quantity, run has %d lines, %d", got.Rows, got.Quantity, lines, qty)
	}
	for c, dt := range got.Dtypes {
		if dt != "float64" {
			t.Errorf("column %s read as %s, not as numbers", c, dt)
		}
	}
	if strings.Join(got.Clients, "|") != "Bäckerei Öztürk|Müller & Söhne GmbH" {
		t.Errorf("clients %q", got.Clients)
	}
	if !strings.Contains(strings.Join(got.Positions, "|"), `|Drucker "HP Laser"; Toner getauscht|Rückruf, Kulanz|`) {
		t.Errorf("positions %q", got.Positions)
	}
}

func TestWriteJSON(t *testing.T) {
	run := testRun(t)
	run.ID = 4
	var buf bytes.Buffer
	if err := WriteJSON(&buf, run); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, w := range []string{"\n  \"bills\": [", `"client_name": "Müller & Söhne GmbH"`, `"gross_cents": 26676`, `"explain": {`} {
		if !strings.Contains(s, w) {
			t.Errorf("JSON lacks %q", w)
		}
	}
	var back core.BillingRun
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != 4 || len(back.Bills) != len(run.Bills) || back.Bills[0].Lines[0].Explain != run.Bills[0].Lines[0].Explain ||
		back.Bills[0].Devices[1].Note != run.Bills[0].Devices[1].Note {
		t.Errorf("round trip: %+v", back)
	}
}
