package report

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // logo formats
	_ "image/png"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/wacht-rmm/wacht/internal/core"
)

// monthlyWords are the monthly report's strings: English, German.
var monthlyWords = map[string][2]string{
	"mTitle":           {"Monthly report %s – %s", "Monatsbericht %s – %s"},
	"mSubject":         {"[Wacht] Monthly report %s – %s", "[Wacht] Monatsbericht %s – %s"},
	"mPeriod":          {"%s to %s (%s)", "%s bis %s (%s)"},
	"mUnderWay":        {"Month under way: data up to %s.", "Laufender Monat: Daten bis %s."},
	"mPage":            {"Page %d of %s", "Seite %d von %s"},
	"mAvail":           {"Server availability", "Verfügbarkeit der Server"},
	"mAvailDef":        {"Uptime: the time a server was not offline, of the time it existed in the month.", "Verfügbarkeit: die Zeit, in der ein Server nicht offline war, bezogen auf die Zeit, in der er im Monat bestand."},
	"mNoServers":       {"No servers.", "Keine Server."},
	"mServer":          {"Server", "Server"},
	"mUptime":          {"Uptime", "Verfügbarkeit"},
	"mOfflineTime":     {"Offline", "Offline"},
	"mOutageCount":     {"Outages", "Ausfälle"},
	"mNote":            {"Note", "Hinweis"},
	"mEnrolled":        {"enrolled %s", "aufgenommen %s"},
	"mRetired":         {"retired %s", "ausgemustert %s"},
	"mOutages":         {"Outages", "Ausfälle"},
	"mNoOutages":       {"No outages.", "Keine Ausfälle."},
	"mKind":            {"Kind", "Art"},
	"mOffline":         {"offline", "offline"},
	"mStart":           {"Began", "Beginn"},
	"mEnd":             {"Ended", "Ende"},
	"mDurMonth":        {"Duration in month", "Dauer im Monat"},
	"mMoreOutages":     {"and %d more outage|and %d more outages", "und %d weiterer Ausfall|und %d weitere Ausfälle"},
	"mTopChecks":       {"Checks that failed most", "Häufigste Fehlschläge"},
	"mNoFailures":      {"No check failed.", "Keine Prüfung ist fehlgeschlagen."},
	"mFailures":        {"Failed results", "Fehlschläge"},
	"mProtection":      {"Antivirus and backup", "Virenschutz und Datensicherung"},
	"mNoProtection":    {"No antivirus or backup check is set up.", "Keine Virenschutz- oder Sicherungsprüfung eingerichtet."},
	"mAntivirus":       {"Antivirus", "Virenschutz"},
	"mBackup":          {"Backup", "Datensicherung"},
	"mNoPatches":       {"No device reports a patch status.", "Kein Gerät meldet einen Patch-Stand."},
	"mInventory":       {"Inventory", "Inventar"},
	"mInvSummary":      {"%d device: %s|%d devices: %s", "%d Gerät: %s|%d Geräte: %s"},
	"mOS":              {"Operating system", "Betriebssystem"},
	"mDevices":         {"Devices", "Geräte"},
	"mSupport":         {"Vendor support", "Herstellersupport"},
	"mSupUnknown":      {"unknown", "unbekannt"},
	"mSupCurrent":      {"until %s", "bis %s"},
	"mSupEnded":        {"ended %s", "beendet %s"},
	"mOutOfSupport":    {"Devices whose OS is out of support: %s", "Geräte mit Betriebssystem ohne Support: %s"},
	"mNoDevices":       {"No devices.", "Keine Geräte."},
	"mLogins":          {"Failed log-ins", "Fehlgeschlagene Anmeldungen"},
	"mLoginsTotal":     {"%d failed log-in in the month|%d failed log-ins in the month", "%d fehlgeschlagene Anmeldung im Monat|%d fehlgeschlagene Anmeldungen im Monat"},
	"mNoLogins":        {"No results of the failed log-in check.", "Keine Ergebnisse der Anmeldeprüfung."},
	"mLoginsDef":       {"Sum of the log-in check's results (each counts the failures within its window).", "Summe der Ergebnisse der Anmeldeprüfung (jedes zählt die Fehlschläge in seinem Zeitfenster)."},
	"mMailText":        {"Attached is the monthly report %s for %s.", "Anbei der Monatsbericht %s für %s."},
	"mMailFooter":      {"Sent by Wacht. The report's recipients and hour are set on the customer's page.", "Gesendet von Wacht. Empfänger und Uhrzeit des Berichts werden auf der Seite des Kunden eingestellt."},
	"st:ok":            {"OK", "in Ordnung"},
	"st:warning":       {"warning", "Warnung"},
	"st:failure":       {"failing", "gestört"},
	"st:error":         {"error", "Fehler"},
	"st:unknown":       {"unknown", "unbekannt"},
	"st:unsupported":   {"not supported", "nicht unterstützt"},
	"role:server":      {"%d server|%d servers", "%d Server|%d Server"},
	"role:workstation": {"%d workstation|%d workstations", "%d Arbeitsplatz|%d Arbeitsplätze"},
	"role:notebook":    {"%d notebook|%d notebooks", "%d Notebook|%d Notebooks"},
	"role:network":     {"%d network device|%d network devices", "%d Netzwerkgerät|%d Netzwerkgeräte"},
}

func init() {
	for k, v := range monthlyWords {
		words[k] = v
	}
}

var germanMonths = [...]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
	"Oktober", "November", "Dezember"}

// MonthName is "November 2026" in either language.
func (l L) MonthName(t time.Time) string {
	t = t.In(l.Loc)
	if l.Lang == "de" {
		return germanMonths[t.Month()-1] + " " + strconv.Itoa(t.Year())
	}
	return t.Format("January 2006")
}

// Percent formats hundredths of a percent: "99,00 %", "99.00%".
func (l L) Percent(bp int) string {
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	if l.Lang == "de" {
		return strings.Replace(s, ".", ",", 1) + " %"
	}
	return s + "%"
}

// Title is the report's title.
func (m Monthly) Title() string {
	l := newL(m.Lang, m.Location())
	return l.T("mTitle", l.MonthName(m.Month), m.Client)
}

// Subject is the report mail's subject.
func (m Monthly) Subject() string {
	l := newL(m.Lang, m.Location())
	return l.T("mSubject", l.MonthName(m.Month), m.Client)
}

// FileName is the PDF's file name, "Monatsbericht-<client>-<YYYY-MM>.pdf"
// or "Monthly-report-…" with the client's name as it is (ASCIIFileName
// makes it safe where only ASCII goes).
func (m Monthly) FileName() string {
	base := "Monthly-report"
	if m.Lang == "de" {
		base = "Monatsbericht"
	}
	return base + "-" + m.Client + "-" + m.Month.In(m.Location()).Format("2006-01") + ".pdf"
}

// ASCIIFileName keeps letters, digits, '.', '_' and '-', writes German
// umlauts and ß as ae, oe, ue, ss, and turns every other run into one '-'.
func ASCIIFileName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		var s string
		switch {
		case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'):
			s = string(r)
		case umlauts[r] != "":
			s = umlauts[r]
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		if s == "-" && dash {
			continue
		}
		b.WriteString(s)
		dash = s == "-"
	}
	return b.String()
}

var umlauts = map[rune]string{'ä': "ae", 'ö': "oe", 'ü': "ue", 'Ä': "Ae", 'Ö': "Oe", 'Ü': "Ue", 'ß': "ss", 'é': "e", 'è': "e", 'á': "a", 'à': "a"}

// LogoType returns fpdf's image type of logo ("PNG" or "JPG"), or an
// error when it is neither a PNG nor a JPEG that the PDF writer reads.
func LogoType(logo []byte) (string, error) {
	if len(logo) > MaxLogoBytes {
		return "", fmt.Errorf("%w: the logo is larger than %d KiB", core.ErrInvalid, MaxLogoBytes>>10)
	}
	_, format, err := image.Decode(bytes.NewReader(logo))
	if err != nil {
		return "", fmt.Errorf("%w: the logo is not a PNG or JPEG image: %v", core.ErrInvalid, err)
	}
	typ := map[string]string{"png": "PNG", "jpeg": "JPG"}[format]
	if typ == "" {
		return "", fmt.Errorf("%w: the logo is %s, not PNG or JPEG", core.ErrInvalid, format)
	}
	// fpdf refuses some valid images (interlaced PNG, 16-bit alpha…):
	// try it on a scratch document.
	if err := tryLogo(typ, logo); err != nil {
		return "", fmt.Errorf("%w: the logo cannot be put into a PDF: %v", core.ErrInvalid, err)
	}
	return typ, nil
}

// tryLogo registers logo on a scratch document; fpdf panics on some
// broken images.
func tryLogo(typ string, logo []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	scratch := fpdf.New("P", "mm", "A4", "")
	scratch.RegisterImageOptionsReader("logo", fpdf.ImageOptions{ImageType: typ}, bytes.NewReader(logo))
	return scratch.Error()
}

// pdfw writes the monthly report.
type pdfw struct {
	f  *fpdf.Fpdf
	tr func(string) string
	l  L
}

const (
	pdfMargin = 15.0
	pdfRowH   = 6.0
)

// RenderPDF writes m as an A4 PDF with logo (PNG or JPEG bytes) top
// right; a logo that cannot be read is left out. The output depends on m
// and logo only (its dates are m's end).
func RenderPDF(m Monthly, logo []byte) ([]byte, error) { return renderPDF(m, logo, nil) }

// renderPDF is RenderPDF; record, if not nil, gets every string written
// into the PDF (the language test reads the report's text this way).
func renderPDF(m Monthly, logo []byte, record func(string)) ([]byte, error) {
	l := newL(m.Lang, m.Location())
	f := fpdf.New("P", "mm", "A4", "")
	f.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	f.SetAutoPageBreak(true, pdfMargin+5)
	f.SetCatalogSort(true)
	f.SetCreationDate(m.Until)
	f.SetModificationDate(m.Until)
	cp1252 := f.UnicodeTranslatorFromDescriptor("")
	tr := cp1252
	if record != nil {
		tr = func(s string) string { record(s); return cp1252(s) }
	}
	w := &pdfw{f: f, tr: tr, l: l}
	f.SetTitle(m.Title(), true)
	f.SetAuthor("Wacht", true)
	f.SetCreator("Wacht", true)
	f.SetLang(m.Lang)
	f.AliasNbPages("{nb}")
	f.SetFooterFunc(func() {
		f.SetY(-pdfMargin)
		f.SetFont("Helvetica", "", 8)
		f.SetTextColor(100, 100, 100)
		f.CellFormat(0, 5, w.tr(m.Client+" · "+l.MonthName(m.Month)), "", 0, "L", false, 0, "")
		f.SetX(pdfMargin)
		f.CellFormat(0, 5, w.tr(l.T("mPage", f.PageNo(), "{nb}")), "", 0, "R", false, 0, "")
		f.SetTextColor(0, 0, 0)
	})
	f.AddPage()
	top := f.GetY()
	textW := 0.0 // 0: to the right margin
	if len(logo) > 0 {
		if typ, err := LogoType(logo); err == nil {
			info := f.RegisterImageOptionsReader("logo", fpdf.ImageOptions{ImageType: typ}, bytes.NewReader(logo))
			if f.Error() == nil && info != nil && info.Width() > 0 && info.Height() > 0 {
				const boxW, boxH = 45.0, 20.0
				iw, ih := boxW, boxW*info.Height()/info.Width()
				if ih > boxH {
					iw, ih = boxH*info.Width()/info.Height(), boxH
				}
				pw, _ := f.GetPageSize()
				f.ImageOptions("logo", pw-pdfMargin-iw, top, iw, ih, false, fpdf.ImageOptions{ImageType: typ}, 0, "")
				textW = pw - 2*pdfMargin - boxW - 5
			}
		}
	}
	f.SetFont("Helvetica", "B", 16)
	f.MultiCell(textW, 8, w.tr(m.Title()), "", "L", false)
	f.SetFont("Helvetica", "", 10)
	last := m.End.AddDate(0, 0, -1)
	f.MultiCell(textW, 5, w.tr(l.T("mPeriod", l.Date(m.Month), l.Date(last), m.TimeZone)), "", "L", false)
	if m.Until.Before(m.End) {
		f.MultiCell(textW, 5, w.tr(l.T("mUnderWay", l.Time(m.Until))), "", "L", false)
	}
	if y := top + 22; f.GetY() < y && textW > 0 {
		f.SetY(y)
	}
	w.availability(m)
	w.outages(m)
	w.topChecks(m)
	w.protection(m)
	w.patches(m)
	w.inventory(m)
	w.logins(m)
	var buf bytes.Buffer
	if err := f.Output(&buf); err != nil {
		return nil, fmt.Errorf("writing the monthly report's PDF: %w", err)
	}
	return buf.Bytes(), nil
}

func (w *pdfw) heading(s string) {
	w.f.Ln(4)
	_, ph := w.f.GetPageSize()
	if w.f.GetY()+20 > ph-pdfMargin-5 {
		w.f.AddPage()
	}
	w.f.SetFont("Helvetica", "B", 12)
	w.f.CellFormat(0, 8, w.tr(s), "B", 1, "L", false, 0, "")
	w.f.Ln(1)
	w.f.SetFont("Helvetica", "", 9)
}

func (w *pdfw) para(s string) {
	w.f.SetFont("Helvetica", "", 9)
	w.f.MultiCell(0, 5, w.tr(s), "", "L", false)
}

// fit cuts s with "…" to fit width.
func (w *pdfw) fit(s string, width float64) string {
	s = w.tr(s)
	max := width - 2*w.f.GetCellMargin()
	if w.f.GetStringWidth(s) <= max {
		return s
	}
	ell := w.tr("…")
	b := []byte(s) // cp1252: one byte a character
	for len(b) > 0 && w.f.GetStringWidth(string(b)+ell) > max {
		b = b[:len(b)-1]
	}
	return string(b) + ell
}

// table writes a table with a header row repeated on every page; widths
// are fractions of the text width; align per column ("L", "R").
func (w *pdfw) table(header []string, widths []float64, align string, rows [][]string) {
	pw, ph := w.f.GetPageSize()
	tw := pw - 2*pdfMargin
	head := func() {
		w.f.SetFont("Helvetica", "B", 9)
		w.f.SetFillColor(225, 230, 238)
		for i, h := range header {
			w.f.CellFormat(widths[i]*tw, pdfRowH, w.fit(h, widths[i]*tw), "1", 0, string(align[i]), true, 0, "")
		}
		w.f.Ln(-1)
		w.f.SetFont("Helvetica", "", 9)
	}
	if len(rows) > 0 && w.f.GetY()+2*pdfRowH > ph-pdfMargin-5 {
		w.f.AddPage()
	}
	head()
	for _, row := range rows {
		if w.f.GetY()+pdfRowH > ph-pdfMargin-5 {
			w.f.AddPage()
			head()
		}
		for i, c := range row {
			w.f.CellFormat(widths[i]*tw, pdfRowH, w.fit(c, widths[i]*tw), "1", 0, string(align[i]), false, 0, "")
		}
		w.f.Ln(-1)
	}
}

func (w *pdfw) availability(m Monthly) {
	l := w.l
	w.heading(l.T("mAvail"))
	if len(m.Availability) == 0 {
		w.para(l.T("mNoServers"))
		return
	}
	var rows [][]string
	for _, a := range m.Availability {
		rows = append(rows, []string{a.Hostname, l.Percent(a.UptimeBP), offDur(l, a.Offline.D()), strconv.Itoa(a.Outages),
			existNote(l, m, a)})
	}
	w.table([]string{l.T("mServer"), l.T("mUptime"), l.T("mOfflineTime"), l.T("mOutageCount"), l.T("mNote")},
		[]float64{0.30, 0.15, 0.18, 0.12, 0.25}, "LRRRL", rows)
	w.f.Ln(1)
	w.para(l.T("mAvailDef"))
}

func offDur(l L, d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return l.Dur(d)
}

// existNote says when a server that did not exist all month came or went.
func existNote(l L, m Monthly, a Availability) string {
	if !a.Partial {
		return ""
	}
	var parts []string
	if a.From.After(m.Month) {
		parts = append(parts, l.T("mEnrolled", l.Date(a.From)))
	}
	if a.To.Before(m.Until) {
		parts = append(parts, l.T("mRetired", l.Date(a.To)))
	}
	return strings.Join(parts, ", ")
}

func (w *pdfw) outages(m Monthly) {
	l := w.l
	w.heading(l.T("mOutages"))
	if len(m.Outages) == 0 {
		w.para(l.T("mNoOutages"))
		return
	}
	var rows [][]string
	for _, o := range m.Outages {
		kind := l.T("mOffline")
		if !o.Offline {
			kind = l.Check(o.Check, o.Key)
		}
		end := l.T("stillOpen")
		if o.End != nil {
			end = l.Time(*o.End)
		}
		rows = append(rows, []string{o.Hostname, kind, l.Time(o.Start), end, l.Dur(o.Duration.D())})
	}
	w.table([]string{l.T("device"), l.T("mKind"), l.T("mStart"), l.T("mEnd"), l.T("mDurMonth")},
		[]float64{0.24, 0.20, 0.19, 0.19, 0.18}, "LLLLR", rows)
	if m.MoreOutages > 0 {
		w.para(l.N("mMoreOutages", m.MoreOutages))
	}
}

func (w *pdfw) topChecks(m Monthly) {
	l := w.l
	w.heading(l.T("mTopChecks"))
	if len(m.TopChecks) == 0 {
		w.para(l.T("mNoFailures"))
		return
	}
	var rows [][]string
	for _, c := range m.TopChecks {
		rows = append(rows, []string{c.Hostname, l.Check(c.Check, c.Key), strconv.Itoa(c.Failures)})
	}
	w.table([]string{l.T("device"), l.T("check"), l.T("mFailures")}, []float64{0.35, 0.45, 0.20}, "LLR", rows)
}

func (l L) status(s string) string {
	if s == "" {
		return "—"
	}
	return l.T("st:" + s)
}

func (w *pdfw) protection(m Monthly) {
	l := w.l
	w.heading(l.T("mProtection"))
	if len(m.Protection) == 0 {
		w.para(l.T("mNoProtection"))
		return
	}
	cell := func(status, msg string) string {
		if msg == "" {
			return l.status(status)
		}
		return l.status(status) + ": " + msg
	}
	var rows [][]string
	for _, p := range m.Protection {
		rows = append(rows, []string{p.Hostname, cell(p.Antivirus, p.AntivirusMessage), cell(p.Backup, p.BackupMessage)})
	}
	w.table([]string{l.T("device"), l.T("mAntivirus"), l.T("mBackup")}, []float64{0.24, 0.38, 0.38}, "LLL", rows)
}

func (w *pdfw) patches(m Monthly) {
	l := w.l
	w.heading(l.T("patches"))
	pc := m.Patches
	if pc == nil {
		w.para(l.T("mNoPatches"))
		return
	}
	w.para(l.N("patchSummary", pc.Devices, pc.FullyPatched, pc.Devices, pc.Percent))
	if pc.CriticalTotal > 0 {
		w.para(l.N("patchCrit", pc.CriticalDevs, pc.CriticalTotal, pc.CriticalDevs))
	}
	if pc.Failed > 0 {
		w.para(l.T("patchFailed", pc.Failed))
	}
	if pc.RebootsPending > 0 {
		w.para(l.T("patchReboots", pc.RebootsPending))
	}
	if len(pc.Behind) == 0 {
		w.para(l.T("patchAllOK"))
		return
	}
	var rows [][]string
	for _, d := range pc.Behind {
		reboot := ""
		if d.RebootPending {
			reboot = l.T("rebootYes")
		}
		missing := strconv.Itoa(d.Missing)
		switch {
		case d.NotScanned:
			missing = l.T("notScanned")
		case d.ScanError != "":
			missing += " (" + l.T("scanError") + ")"
		}
		rows = append(rows, []string{d.Hostname, missing, strconv.Itoa(d.Critical), strconv.Itoa(d.Failed), reboot})
	}
	w.f.Ln(1)
	w.table([]string{l.T("device"), l.T("missing"), l.T("critical"), l.T("failedUpd"), l.T("reboot")},
		[]float64{0.32, 0.22, 0.14, 0.16, 0.16}, "LRRRL", rows)
	w.f.Ln(1)
	w.para(l.T("patchDef"))
}

func (w *pdfw) inventory(m Monthly) {
	l := w.l
	inv := m.Inventory
	w.heading(l.T("mInventory"))
	if inv.Devices == 0 {
		w.para(l.T("mNoDevices"))
		return
	}
	var roles []string
	for _, r := range inv.ByRole {
		role := strconv.Itoa(r.Count) + " " + r.Name
		if _, ok := words["role:"+r.Name]; ok {
			role = l.N("role:"+r.Name, r.Count)
		}
		roles = append(roles, role)
	}
	w.para(l.N("mInvSummary", inv.Devices, inv.Devices, strings.Join(roles, ", ")))
	var rows [][]string
	for _, p := range inv.Platforms {
		sup := l.T("mSupUnknown")
		switch p.Support {
		case SupportCurrent:
			sup = l.T("mSupCurrent", l.Date(p.SupportEnd))
		case SupportEnded:
			sup = l.T("mSupEnded", l.Date(p.SupportEnd))
		}
		plat := p.Platform
		if plat == unknownPlatform {
			plat = l.T("st:unknown")
		}
		rows = append(rows, []string{plat, strconv.Itoa(p.Count), sup})
	}
	w.f.Ln(1)
	w.table([]string{l.T("mOS"), l.T("mDevices"), l.T("mSupport")}, []float64{0.50, 0.15, 0.35}, "LRL", rows)
	if len(inv.OutOfSupport) > 0 {
		w.f.Ln(1)
		w.para(l.T("mOutOfSupport", strings.Join(inv.OutOfSupport, ", ")))
	}
}

func (w *pdfw) logins(m Monthly) {
	l := w.l
	w.heading(l.T("mLogins"))
	if !m.LoginsRead || len(m.Logins) == 0 {
		w.para(l.T("mNoLogins"))
		return
	}
	w.para(l.N("mLoginsTotal", m.LoginsTotal))
	var rows [][]string
	for _, c := range m.Logins {
		rows = append(rows, []string{c.Hostname, strconv.Itoa(c.Failures)})
	}
	w.f.Ln(1)
	w.table([]string{l.T("device"), l.T("mLogins")}, []float64{0.6, 0.4}, "LR", rows)
	w.f.Ln(1)
	w.para(l.T("mLoginsDef"))
}
